// thread.js renders a conversation's timeline (messages, notes, events) and the composer.
import { h, icon, replace, safeURL } from './dom.js';
import * as i18n from './i18n.js';
import * as api from './api.js';

const TICKS = { queued: '…', sending: '…', sent: '✓', delivered: '✓✓', read: '✓✓', played: '✓✓', failed: '!' };

// windowInfo says whether a free-form message can be sent and how long the window has left.
export function windowInfo(c, t) {
  const exp = c.window_expires_at ? Date.parse(c.window_expires_at) : 0;
  const left = exp - Date.now();
  if (c.window_open === false || left <= 0) return { open: false, text: t('window.closed') };
  return { open: true, text: t('window.left', { t: i18n.duration(left) }) };
}

export function renderThread(ol, ctx) {
  const { state, t } = ctx;
  if (!state.thread) {
    replace(ol, h('li', { class: 'loading' }, t('thread.loading')));
    return;
  }
  let day = '';
  const nodes = [];
  for (const e of state.thread) {
    const d = new Date(e.created_at).toDateString();
    if (d !== day) {
      day = d;
      nodes.push(h('li', { class: 'day', role: 'separator' }, new Intl.DateTimeFormat(i18n.current(), { dateStyle: 'full' }).format(new Date(e.created_at))));
    }
    nodes.push(entryNode(e, ctx));
  }
  replace(ol, nodes);
}

export function entryNode(e, ctx) {
  const { t, userName } = ctx;
  if (e.kind === 'event') {
    if (e.type === 'note') {
      return h('li', { class: 'note', 'data-id': e.id },
        h('p', { class: 'note-head' }, icon('lock'), ' ', t('note.by', { name: userName(e.actor_id) }), ' · ', h('time', { datetime: e.created_at }, i18n.time(e.created_at))),
        h('p', { class: 'note-text' }, (e.details && e.details.text) || ''));
    }
    return h('li', { class: 'event', 'data-id': e.id }, h('span', {}, eventText(e, ctx)), ' · ', h('time', { datetime: e.created_at }, i18n.time(e.created_at)));
  }
  const out = e.direction === 'out';
  const replied = e.reply_to ? (ctx.state.thread || []).find((x) => x.id === e.reply_to || x.provider_message_id === e.reply_to) : null;
  const status = out ? e.status : null;
  return h('li', { class: 'msg ' + (out ? 'out' : 'in') + (status === 'failed' ? ' failed' : ''), 'data-id': e.id, 'data-status': status || 'received' },
    h('div', { class: 'bubble' },
      replied ? h('blockquote', { class: 'quoted' }, snippet(replied)) : null,
      media(e, ctx),
      e.type === 'location' && e.location ? h('p', { class: 'text' }, icon('pin'), ' ', [e.location.name, e.location.address, e.location.latitude + ', ' + e.location.longitude].filter(Boolean).join(' · ')) : null,
      e.reply ? h('p', { class: 'text reply-tap' }, '› ', e.reply.title || e.reply.id) : null,
      (e.contacts || []).map((card) => h('p', { class: 'text' }, icon('person'), ' ', (card.name && card.name.formatted_name) || '', ' ', (card.phones || []).map((p) => p.phone).join(', '))),
      e.text ? h('p', { class: 'text' }, e.text) : null,
      e.reactions ? h('p', { class: 'reactions' }, Object.values(e.reactions).join(' ')) : null,
      h('p', { class: 'meta' },
        out && e.agent_id ? h('span', { class: 'who' }, userName(e.agent_id)) : null,
        out && e.automatic ? h('span', { class: 'who' }, t('msg.auto')) : null,
        h('time', { datetime: e.created_at, title: i18n.dateTime(e.created_at) }, i18n.time(e.created_at)),
        status ? h('span', { class: 'tick tick-' + status, title: t('status.' + status), 'aria-label': t('status.' + status) }, TICKS[status] || '') : null),
      status === 'failed' && e.error ? h('p', { class: 'error-text' }, e.error.title || e.error.message || '', e.error.code ? ' (' + e.error.code + ')' : '') : null),
    h('button', { type: 'button', class: 'reply-btn ghost', 'aria-label': t('msg.reply') + ': ' + (e.text || e.type).slice(0, 40), onclick: () => ctx.replyTo && ctx.replyTo(e) }, '↩'));
}

function snippet(e) {
  return (e.text || (e.media && (e.media.caption || e.media.filename)) || e.type || '').slice(0, 120);
}

function eventText(e, ctx) {
  const { t, userName, state } = ctx;
  const d = e.details || {};
  const dept = (id) => (state.departments.find((x) => x.id === id) || {}).name || id;
  switch (e.type) {
    case 'assigned': return t('ev.assigned', { actor: userName(e.actor_id), who: userName(d.assignee_id) });
    case 'claimed': return t('ev.claimed', { who: userName(d.assignee_id || e.actor_id) });
    case 'closed': return t('ev.closed', { reason: d.reason || '' }) + (d.note ? ' — ' + d.note : '');
    case 'transferred': return t('ev.transferred', { detail: [d.to_department ? '→ ' + dept(d.to_department) : '', d.to_assignee ? '→ ' + userName(d.to_assignee) : '', d.note ? '— ' + d.note : ''].filter(Boolean).join(' ') });
    case 'collaborator_added': return t('ev.collaborator_added', { who: userName(d.user_id) });
    case 'collaborator_removed': return t('ev.collaborator_removed', { who: userName(d.user_id) });
    case 'returned': return t('ev.returned');
    case 'routed': return t('ev.routed', { detail: [d.department_id ? '→ ' + dept(d.department_id) : '', d.rule || ''].filter(Boolean).join(' ') });
    default: return t('ev.' + e.type);
  }
}

// media shows an attachment: images inline, audio and video in players, the rest a download.
function media(e, ctx) {
  const list = [e.media, ...(e.more_media || [])].filter(Boolean);
  return list.map((m) => {
    const t = ctx.t;
    if (m.status === 'pending') return h('p', { class: 'media-pending' }, t('msg.pending'));
    if (m.status === 'unavailable' || m.status === 'failed') return h('p', { class: 'media-pending' }, t('msg.unavailable'), m.reason ? ': ' + m.reason : '');
    const url = safeURL(m.url || m.link);
    if (!url) return null;
    const type = m.mime_type || '';
    const caption = m.caption ? h('figcaption', {}, m.caption) : null;
    if (type.startsWith('image/') || e.type === 'image' || e.type === 'sticker') {
      return h('figure', { class: 'media' }, h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, h('img', { src: url, alt: m.caption || m.filename || e.type, loading: 'lazy' })), caption);
    }
    if (type.startsWith('audio/') || e.type === 'audio') return h('figure', { class: 'media' }, h('audio', { src: url, controls: true, preload: 'none' }), caption);
    if (type.startsWith('video/') || e.type === 'video') return h('figure', { class: 'media' }, h('video', { src: url, controls: true, preload: 'metadata' }), caption);
    return h('figure', { class: 'media doc' },
      h('a', { href: url, download: m.filename || '', rel: 'noopener noreferrer', class: 'download' }, icon('file'), ' ', m.filename || type || t('msg.download'), m.size ? ' · ' + Math.ceil(m.size / 1024) + ' KB' : ''), caption);
  });
}

// composer is the box at the bottom of a thread: a reply (text, attachment, quick replies on
// "/"), an internal note, or, with the window closed, a template with its variables.
export function composer(ctx) {
  const { t, state } = ctx;
  let replyTo = null;
  let file = null;
  let note = false;
  let lastTyping = 0;
  const text = h('textarea', { class: 'compose-text', rows: 2, 'aria-label': t('composer.label'), placeholder: t('composer.placeholder') });
  const picker = h('ul', { class: 'quick', role: 'listbox', 'aria-label': t('composer.quick'), hidden: true });
  const replyBar = h('div', { class: 'reply-bar', hidden: true });
  const fileBar = h('div', { class: 'file-bar', hidden: true });
  const fileInput = h('input', { type: 'file', class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true', accept: 'image/*,audio/*,video/*,application/pdf,.doc,.docx,.xls,.xlsx,.txt' });
  const attach = h('button', { type: 'button', class: 'ghost icon', 'aria-label': t('composer.attach'), title: t('composer.attach'), onclick: () => fileInput.click() }, icon('clip'));
  const noteToggle = h('button', { type: 'button', class: 'ghost chip', 'aria-pressed': 'false', onclick: () => setNote(!note) }, t('composer.noteMode'));
  const send = h('button', { type: 'submit', class: 'primary send', 'aria-label': t('composer.send') }, t('composer.send'));
  const templateBox = h('div', { class: 'template-box', hidden: true });
  const form = h('form', { class: 'composer' }, replyBar, fileBar, picker, templateBox,
    h('div', { class: 'compose-row' }, attach, text, send),
    h('div', { class: 'compose-tools' }, noteToggle, fileInput));
  ctx.replyTo = (e) => {
    replyTo = e;
    replace(replyBar, h('span', {}, t('msg.replyingTo'), ': ', h('q', {}, snippet(e))), h('button', { type: 'button', class: 'ghost icon', 'aria-label': t('msg.cancelReply'), onclick: () => { replyTo = null; replyBar.hidden = true; } }, '×'));
    replyBar.hidden = false;
    text.focus();
  };

  function setNote(on) {
    note = on;
    noteToggle.setAttribute('aria-pressed', String(on));
    form.classList.toggle('note-mode', on);
    text.placeholder = on ? t('composer.notePlaceholder') : t('composer.placeholder');
    send.textContent = on ? t('composer.addNote') : t('composer.send');
    attach.disabled = on;
  }

  fileInput.addEventListener('change', () => {
    file = fileInput.files[0] || null;
    fileInput.value = '';
    if (!file) return;
    const preview = file.type.startsWith('image/') ? h('img', { src: URL.createObjectURL(file), alt: '', class: 'thumb' }) : null;
    replace(fileBar, preview, h('span', {}, file.name, ' · ', Math.ceil(file.size / 1024) + ' KB'),
      h('button', { type: 'button', class: 'ghost icon', 'aria-label': t('composer.removeAttachment'), onclick: () => { file = null; fileBar.hidden = true; } }, '×'));
    fileBar.hidden = false;
  });

  // Quick replies: "/" at the start opens the list, filtered by what follows.
  let quickIndex = 0;
  function quickMatches() {
    const q = text.value.slice(1).toLowerCase();
    return state.quickReplies.filter((r) => (r.title || '').toLowerCase().includes(q) || (r.text || '').toLowerCase().includes(q)).slice(0, 8);
  }
  function showQuick() {
    const open = text.value.startsWith('/') && !note;
    const items = open ? quickMatches() : [];
    picker.hidden = items.length === 0;
    text.setAttribute('aria-expanded', String(!picker.hidden));
    quickIndex = Math.min(quickIndex, Math.max(0, items.length - 1));
    replace(picker, items.map((r, i) => h('li', {
      role: 'option', id: 'qr-' + r.id, 'aria-selected': String(i === quickIndex), class: i === quickIndex ? 'active' : '',
      onmousedown: (e) => { e.preventDefault(); useQuick(r); },
    }, h('strong', {}, r.title), ' ', h('span', {}, (r.text || '').slice(0, 80)))));
    if (items[quickIndex]) text.setAttribute('aria-activedescendant', 'qr-' + items[quickIndex].id);
    return items;
  }
  async function useQuick(r) {
    picker.hidden = true;
    try {
      const out = await api.post('/v1/conversations/' + encodeURIComponent(state.selected) + '/quick-replies/' + encodeURIComponent(r.id) + '/render');
      text.value = out.text || r.text;
    } catch {
      text.value = r.text;
    }
    text.focus();
  }
  text.addEventListener('input', () => {
    showQuick();
    const now = Date.now();
    if (!note && ctx.live && now - lastTyping > 3000 && text.value) {
      lastTyping = now;
      ctx.live.send({ action: 'typing', conversation_id: state.selected });
    }
  });
  text.addEventListener('keydown', (e) => {
    if (!picker.hidden) {
      const items = quickMatches();
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        quickIndex = (quickIndex + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
        showQuick();
        e.preventDefault();
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        if (items[quickIndex]) useQuick(items[quickIndex]);
        e.preventDefault();
        return;
      }
      if (e.key === 'Escape') {
        picker.hidden = true;
        e.preventDefault();
        return;
      }
    }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const c = state.conv;
    if (!c) return;
    const body = text.value.trim();
    const path = '/v1/conversations/' + encodeURIComponent(c.id);
    busy = true;
    send.disabled = true;
    try {
      if (note) {
        if (!body) return;
        const entry = await api.post(path + '/notes', { text: body });
        ctx.sent(entry);
      } else if (file) {
        ctx.toast(t('composer.uploading'));
        const up = await api.upload(c.id, file);
        const entry = await api.call('POST', path + '/messages', { type: up.kind, media: { upload_id: up.uploadID, caption: body || undefined, filename: up.kind === 'document' ? file.name : undefined }, reply_to: replyTo ? replyTo.id : undefined }, { 'Idempotency-Key': crypto.randomUUID() });
        ctx.sent(entry);
        file = null;
        fileBar.hidden = true;
      } else {
        if (!body) return;
        const entry = await api.call('POST', path + '/messages', { type: 'text', text: body, reply_to: replyTo ? replyTo.id : undefined }, { 'Idempotency-Key': crypto.randomUUID() });
        ctx.sent(entry);
      }
      text.value = '';
      replyTo = null;
      replyBar.hidden = true;
      picker.hidden = true;
    } catch (err) {
      ctx.toast(t('error.generic', { reason: err.message }), 'error');
    } finally {
      busy = false;
      send.disabled = false;
    }
  });

  // Templates: the only thing a closed window takes.
  async function renderTemplates() {
    const c = state.conv;
    const line = state.lines.find((l) => l.id === c.line_id) || {};
    if (!state.templates.length) {
      try {
        state.templates = (await api.get('/v1/templates')).items || [];
      } catch { /* none */ }
    }
    const usable = state.templates.filter((tp) => tp.status === 'APPROVED' && (!line.waba_id || !tp.waba_id || tp.waba_id === line.waba_id));
    if (!usable.length) {
      replace(templateBox, h('p', { class: 'hint' }, t('template.none')));
      return;
    }
    const pick = h('select', { 'aria-label': t('template.pick') }, usable.map((tp, i) => h('option', { value: String(i) }, tp.name + ' (' + tp.language + ')')));
    const vars = h('div', { class: 'template-vars' });
    const preview = h('p', { class: 'template-preview' });
    const fill = () => {
      const tp = usable[Number(pick.value)];
      replace(vars, (tp.variables || []).map((v) => h('label', { class: 'field' }, h('span', {}, t('template.var', { name: v })),
        h('input', { 'data-var': v, required: true, oninput: () => { preview.textContent = render(tp); } }))));
      preview.textContent = render(tp);
    };
    const render = (tp) => (tp.body || '').replace(/\{\{\s*(\w+)\s*\}\}/g, (m, v) => {
      const input = vars.querySelector('[data-var="' + CSS.escape(v) + '"]');
      return input && input.value ? input.value : m;
    });
    pick.addEventListener('change', fill);
    const sendTemplate = h('button', {
      type: 'button', class: 'primary', onclick: async () => {
        const tp = usable[Number(pick.value)];
        const variables = {};
        for (const input of vars.querySelectorAll('input')) {
          if (!input.value.trim()) { input.focus(); return; }
          variables[input.dataset.var] = input.value.trim();
        }
        try {
          const entry = await api.call('POST', '/v1/conversations/' + encodeURIComponent(c.id) + '/messages', { type: 'template', template: { name: tp.name, language: tp.language, variables } }, { 'Idempotency-Key': crypto.randomUUID() });
          ctx.sent(entry);
        } catch (err) {
          ctx.toast(t('error.generic', { reason: err.message }), 'error');
        }
      },
    }, t('composer.template'));
    replace(templateBox, h('p', { class: 'hint' }, t('window.closed')), h('label', { class: 'field' }, h('span', {}, t('template.pick')), pick), vars, preview, sendTemplate);
    fill();
  }

  let shownFor = null;
  return {
    el: form,
    focus: () => text.focus(),
    update() {
      const c = state.conv;
      if (!c) return;
      const closedWindow = !windowInfo(c, t).open && c.status === 'open';
      templateBox.hidden = !closedWindow || note;
      if (closedWindow && shownFor !== c.id) {
        shownFor = c.id;
        renderTemplates();
      }
      if (!closedWindow) shownFor = null;
      attach.disabled = note || closedWindow;
    },
  };
}

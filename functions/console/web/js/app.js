// app.js is the console: sign-in, the shell (views, list, thread, composer), live updates,
// shortcuts. Rendering builds elements with dom.js (never HTML from data).
import * as api from './api.js';
import * as auth from './auth.js';
import * as i18n from './i18n.js';
import { Live } from './live.js';
import { h, icon, replace, toast, dialog } from './dom.js';
import { renderThread, entryNode, composer, windowInfo } from './thread.js';
import { renderAdmin } from './admin.js';

const t = i18n.t;
const VIEWS = ['default', 'mine', 'unassigned', 'others', 'collaborating', 'all', 'done'];

// state is everything the page shows; render functions read it.
export const state = {
  me: null,
  view: 'default',
  q: '',
  filters: { line_id: '', department_id: '', label_id: '', assignee_id: '', unread: false },
  list: [],
  next: '',
  selected: null, // conversation id
  conv: null,
  thread: [],
  counts: {},
  lines: [], departments: [], labels: [], colleagues: [], users: [], quickReplies: [], templates: [],
  live: 'connecting',
  available: null,
  typing: null,
  route: '',
};

let live = null;
const ui = {}; // stable elements of the shell

document.documentElement.lang = i18n.current();
boot();

async function boot() {
  await auth.init(() => start());
  start();
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', shortcut);
}

function start() {
  if (!auth.token()) {
    if (live) live.stop();
    live = null;
    state.me = null;
    signInScreen();
    return;
  }
  if (state.me) return; // a silent refresh: keep going
  loadAll();
}

function signInScreen() {
  const root = document.getElementById('app');
  const status = h('p', { class: 'signin-error', role: 'alert' });
  let form;
  if (auth.mode() === 'cognito') {
    form = h('div', { class: 'signin-form' }, h('button', { class: 'primary', type: 'button', onclick: () => auth.signInCognito() }, t('signin.cognito')));
  } else {
    const email = h('input', { id: 'email', type: 'email', name: 'email', autocomplete: 'username', required: true, 'aria-label': t('signin.email') });
    form = h('form', {
      class: 'signin-form',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await auth.signInLocal(email.value.trim());
        } catch (err) {
          status.textContent = t('signin.failed', { reason: err.message });
        }
      },
    }, h('label', { for: 'email' }, t('signin.email')), email, h('button', { class: 'primary', type: 'submit' }, t('signin.submit')), h('p', { class: 'hint' }, t('signin.local')));
  }
  replace(root, h('main', { class: 'signin' },
    h('div', { class: 'signin-card' },
      h('div', { class: 'brand brand-big' }, h('img', { src: '/icon.svg', alt: '', width: 40, height: 40 }), h('span', {}, t('app.name'))),
      h('h1', {}, t('signin.title')), form, status,
      langSwitch())));
  const first = root.querySelector('input, button');
  if (first) first.focus();
}

async function loadAll() {
  try {
    state.me = await api.get('/v1/me');
  } catch (e) {
    if (e.status !== 401) toast(t('error.generic', { reason: e.message }), 'error');
    return;
  }
  shell();
  const [lines, departments, labels, colleagues, quick] = await Promise.all([
    api.get('/v1/lines').catch(() => ({ items: [] })),
    api.get('/v1/departments').catch(() => ({ items: [] })),
    api.get('/v1/labels').catch(() => ({ items: [] })),
    api.get('/v1/colleagues').catch(() => ({ items: [] })),
    api.get('/v1/quick-replies').catch(() => ({ items: [] })),
  ]);
  state.lines = lines.items || [];
  state.departments = departments.items || [];
  state.labels = labels.items || [];
  state.colleagues = colleagues.items || [];
  state.quickReplies = quick.items || [];
  api.get('/v1/users/' + state.me.id + '/availability').then((a) => { state.available = a.available; renderTop(); }).catch(() => {});
  renderFilters();
  live = new Live({
    onEvent,
    onState: (s) => { state.live = s; renderTop(); },
    onReconnect: () => catchUp(),
  });
  live.start();
  // The page's handle for tests and debugging: drop the socket as a network failure would.
  window.buzonLive = live;
  window.buzonState = state;
  route();
}

// route reads the hash: #/c/<id> a conversation, #/admin/<section> the admin screens.
function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [kind, id] = hash.split('/');
  if (kind === 'admin' && state.me && state.me.role === 'admin') {
    state.route = 'admin';
    document.body.classList.add('in-admin');
    renderAdmin(ui.main, id || 'lines', { state, t, go: (s) => { location.hash = '#/admin/' + s; } });
    renderTop();
    return;
  }
  document.body.classList.remove('in-admin');
  if (state.route === 'admin') {
    state.route = '';
    layoutInbox();
  }
  refreshList();
  if (kind === 'c' && id) open(decodeURIComponent(id));
  else close();
}

// ---- shell --------------------------------------------------------------------------------

function shell() {
  const root = document.getElementById('app');
  ui.top = h('header', { class: 'top' });
  ui.main = h('div', { class: 'main' });
  replace(root, ui.top, ui.main);
  layoutInbox();
  renderTop();
}

function layoutInbox() {
  ui.tabs = h('nav', { class: 'views', 'aria-label': t('views.label') });
  ui.search = h('input', {
    type: 'search', id: 'search', 'aria-label': t('search.label'), placeholder: t('search.label'), value: state.q,
    oninput: debounce(() => { state.q = ui.search.value; refreshList(); }, 250),
  });
  ui.filters = h('div', { class: 'filters' });
  ui.list = h('ul', { class: 'list', 'aria-label': t('list.label') });
  ui.more = h('button', { class: 'more', type: 'button', hidden: true, onclick: () => refreshList(true) }, t('list.more'));
  ui.side = h('aside', { class: 'side' }, ui.tabs, h('div', { class: 'search' }, ui.search), ui.filters, h('div', { class: 'list-scroll' }, ui.list, ui.more));
  ui.pane = h('section', { class: 'pane', 'aria-label': t('thread.label') });
  replace(ui.main, ui.side, ui.pane);
  renderTabs();
  renderFilters();
  renderPane();
}

function langSwitch() {
  const sel = h('select', {
    'aria-label': t('lang'), class: 'lang',
    onchange: () => { i18n.set(sel.value); rerender(); },
  }, i18n.languages.map(([code, name]) => h('option', { value: code, selected: code === i18n.current(), 'aria-label': name }, code.toUpperCase())));
  return sel;
}

// rerender builds every part again (after a language switch).
function rerender() {
  if (!state.me) {
    signInScreen();
    return;
  }
  shell();
  route();
}

function renderTop() {
  if (!ui.top || !state.me) return;
  const me = state.me;
  const avail = h('button', {
    type: 'button', class: 'availability ' + (state.available ? 'on' : 'off'), 'aria-pressed': state.available ? 'true' : 'false',
    'aria-label': t('available'),
    onclick: async () => {
      try {
        const a = await api.put('/v1/users/' + me.id + '/availability', { available: !state.available });
        state.available = a.available;
        renderTop();
      } catch (e) {
        toast(t('error.generic', { reason: e.message }), 'error');
      }
    },
  }, h('span', { class: 'dot', 'aria-hidden': 'true' }), state.available ? t('available') : t('unavailable'));
  const liveState = h('span', { class: 'live live-' + state.live, role: 'status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), t('live.' + state.live));
  const notify = 'Notification' in window && Notification.permission === 'default'
    ? h('button', { type: 'button', class: 'ghost icon', 'aria-label': t('notify.enable'), title: t('notify.enable'), onclick: () => Notification.requestPermission().then(renderTop) }, icon('bell'))
    : null;
  const admin = me.role === 'admin'
    ? h('a', { class: 'ghost', href: state.route === 'admin' ? '#/' : '#/admin/lines' }, state.route === 'admin' ? t('inbox') : t('admin'))
    : null;
  replace(ui.top,
    h('a', { class: 'brand', href: '#/' }, h('img', { src: '/icon.svg', alt: '', width: 28, height: 28 }), h('span', {}, t('app.name'))),
    h('div', { class: 'top-right' },
      liveState, avail, notify, admin,
      h('button', { type: 'button', class: 'ghost icon', 'aria-label': t('help'), title: t('help'), onclick: help }, '?'),
      langSwitch(),
      h('span', { class: 'me' }, h('span', { class: 'avatar small', style: avatarStyle(me.id), 'aria-hidden': 'true' }, initialsOf(me.name)), h('span', { class: 'me-name' }, me.name)),
      h('button', { type: 'button', class: 'ghost icon', 'aria-label': t('signout'), title: t('signout'), onclick: () => auth.signOut() }, icon('logout'))));
}

function renderTabs() {
  replace(ui.tabs, VIEWS.map((v) => {
    const count = state.counts[v];
    return h('button', {
      type: 'button', class: 'tab' + (state.view === v ? ' active' : ''), 'aria-pressed': state.view === v ? 'true' : 'false',
      onclick: () => { state.view = v; renderTabs(); refreshList(); },
    }, t('view.' + v), count ? h('span', { class: 'count', 'aria-label': t('unread', { n: count }) }, count > 99 ? '99+' : String(count)) : null);
  }));
}

function options(items, label, value) {
  return [h('option', { value: '' }, t('filter.any'))].concat(items.map((x) => h('option', { value: x.id, selected: x.id === value }, label(x))));
}

function renderFilters() {
  if (!ui.filters) return;
  const f = state.filters;
  const sel = (key, items, label, name) => h('label', { class: 'filter' }, h('span', {}, name),
    h('select', { onchange: (e) => { f[key] = e.target.value; refreshList(); } }, options(items, label, f[key])));
  replace(ui.filters, h('details', { class: 'filter-box' },
    h('summary', {}, t('filters')),
    h('div', { class: 'filter-grid' },
      sel('line_id', state.lines, lineName, t('filter.line')),
      sel('department_id', state.departments, (d) => d.name, t('filter.department')),
      sel('label_id', state.labels, (l) => l.name, t('filter.label')),
      sel('assignee_id', state.colleagues, (c) => c.name, t('filter.assignee')),
      h('label', { class: 'filter check' }, h('input', { type: 'checkbox', checked: f.unread, onchange: (e) => { f.unread = e.target.checked; refreshList(); } }), t('filter.unread')))));
}

export function lineName(l) {
  if (!l) return '';
  const n = l.display_phone_number || l.number || l.phone_number_id || l.id;
  return (l.provider === 'twilio' ? 'Twilio ' : 'WhatsApp ') + n;
}

export function userName(id) {
  if (!id) return t('assignee.none');
  if (state.me && id === state.me.id) return t('assignee.you');
  const u = state.colleagues.find((c) => c.id === id) || state.users.find((c) => c.id === id);
  return u ? u.name : id;
}

export function avatarStyle(id) {
  let n = 0;
  for (const ch of String(id)) n = (n * 31 + ch.codePointAt(0)) % 360;
  return `background: hsl(${n} 55% 42%)`;
}

export function initialsOf(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  return words.slice(0, 2).map((w) => Array.from(w)[0].toUpperCase()).join('') || '?';
}

// ---- the list -----------------------------------------------------------------------------

function listParams() {
  const f = state.filters;
  const done = state.view === 'done';
  return {
    view: done ? 'all' : state.view, status: done ? 'done' : 'open', q: state.q.trim(),
    line_id: f.line_id, department_id: f.department_id, label_id: f.label_id, assignee_id: f.assignee_id, unread: f.unread ? 'true' : '',
  };
}

let listSeq = 0;
async function refreshList(more = false) {
  if (state.route === 'admin' || !ui.list) return;
  const seq = ++listSeq;
  try {
    const page = await api.get('/v1/conversations' + api.query({ ...listParams(), limit: 50, cursor: more ? state.next : '' }));
    if (seq !== listSeq) return;
    state.list = more ? state.list.concat(page.items || []) : page.items || [];
    state.next = page.next_cursor || '';
    renderList();
  } catch (e) {
    if (e.status !== 401) toast(t('error.generic', { reason: e.message }), 'error');
  }
  refreshCounts();
}

// refreshCounts puts the unread totals of the views an agent works from on their tabs.
const refreshCounts = debounce(async () => {
  const counts = {};
  await Promise.all(['default', 'mine', 'unassigned'].map(async (v) => {
    try {
      const page = await api.get('/v1/conversations' + api.query({ view: v, limit: 100 }));
      counts[v] = (page.items || []).reduce((n, c) => n + (c.unread_count || 0), 0);
    } catch {
      /* counts are a nicety */
    }
  }));
  state.counts = counts;
  renderTabs();
}, 400);

function belongs(c) {
  const p = listParams();
  if (c.status !== p.status) return false;
  if (p.view === 'mine' && c.badge !== 'mine') return false;
  if (p.view === 'unassigned' && c.badge !== 'unassigned') return false;
  if (p.view === 'others' && c.badge !== 'others') return false;
  if (p.view === 'collaborating' && !(c.collaborators || []).includes(state.me.id)) return false;
  if (p.line_id && c.line_id !== p.line_id) return false;
  if (p.department_id && c.department_id !== p.department_id) return false;
  if (p.label_id && !(c.labels || []).includes(p.label_id)) return false;
  if (p.assignee_id && c.assignee_id !== p.assignee_id) return false;
  if (p.unread && !c.unread_count) return false;
  return !p.q;
}

// upsert puts a conversation's new summary in the list (or takes it out) without a refetch.
function upsert(c) {
  const i = state.list.findIndex((x) => x.id === c.id);
  if (state.view === 'default' || state.q) {
    // The default view's rules and a search live in the API: ask it again.
    if (i >= 0) state.list[i] = c;
    refreshSoon();
  } else if (belongs(c)) {
    if (i >= 0) state.list.splice(i, 1);
    state.list.unshift(c);
    state.list.sort((a, b) => String(b.last_activity_at).localeCompare(String(a.last_activity_at)));
  } else if (i >= 0) {
    state.list.splice(i, 1);
  }
  if (state.selected === c.id) {
    const before = state.conv;
    state.conv = c;
    renderHeader();
    // A claim, a close or a transfer adds an event to the timeline: the socket carries the new
    // summary only, so the thread is read again.
    if (before && (before.status !== c.status || before.assignee_id !== c.assignee_id || before.department_id !== c.department_id || before.cycle !== c.cycle)) reloadSoon();
  }
  renderList();
  refreshCounts();
}

const refreshSoon = debounce(() => refreshList(), 300);

function renderList() {
  if (!ui.list) return;
  if (state.list.length === 0) {
    replace(ui.list, h('li', { class: 'empty' }, t('list.empty')));
  } else {
    replace(ui.list, state.list.map(listItem));
  }
  ui.more.hidden = !state.next;
}

function listItem(c) {
  const last = c.last_message || {};
  const name = c.contact.name || '+' + c.contact.wa_id;
  const preview = last.text || (last.type && last.type !== 'text' ? '[' + last.type + ']' : '');
  const selected = c.id === state.selected;
  return h('li', { class: 'item' + (selected ? ' selected' : '') + (c.unread_count ? ' unread' : ''), 'data-id': c.id, 'data-contact': c.contact.wa_id },
    h('a', { href: '#/c/' + encodeURIComponent(c.id), class: 'item-link', 'aria-current': selected ? 'true' : null },
      h('span', { class: 'avatar', style: avatarStyle(c.contact.wa_id), 'aria-hidden': 'true' }, initialsOf(name)),
      h('span', { class: 'item-body' },
        h('span', { class: 'item-row' }, h('span', { class: 'item-name' }, name), h('time', { class: 'item-time', datetime: c.last_activity_at }, i18n.time(c.last_activity_at))),
        h('span', { class: 'item-row' },
          h('span', { class: 'item-preview' }, last.direction === 'out' ? '↩ ' : '', preview),
          c.unread_count ? h('span', { class: 'unread-count', 'aria-label': t('unread', { n: c.unread_count }) }, String(c.unread_count)) : null),
        h('span', { class: 'item-row item-tags' },
          c.badge ? h('span', { class: 'tag tag-' + c.badge }, c.badge === 'others' ? userName(c.assignee_id) : t('badge.' + c.badge)) : null,
          (c.labels || []).map((id) => labelChip(id))))));
}

export function labelChip(id) {
  const l = state.labels.find((x) => x.id === id);
  if (!l) return null;
  return h('span', { class: 'label-chip', style: '--c:' + (/^#[0-9a-fA-F]{3,8}$/.test(l.color) ? l.color : '#64748b') }, l.name);
}

// ---- the open conversation ----------------------------------------------------------------

async function open(id) {
  const changed = state.selected !== id;
  state.selected = id;
  document.body.classList.add('has-thread');
  if (changed) {
    state.conv = state.list.find((c) => c.id === id) || null;
    state.thread = null;
    state.typing = null;
    renderPane();
    renderList();
    if (live) live.watch(id);
  }
  await loadConversation(id);
}

async function loadConversation(id) {
  try {
    const [conv, entries] = await Promise.all([api.get('/v1/conversations/' + encodeURIComponent(id)), api.all('/v1/conversations/' + encodeURIComponent(id) + '/messages', { limit: 100 })]);
    if (state.selected !== id) return;
    state.conv = conv;
    state.thread = entries;
    renderPane();
    markRead();
  } catch (e) {
    if (e.status === 404) {
      toast(t('conv.gone'), 'error');
      location.hash = '#/';
    } else if (e.status !== 401) toast(t('error.generic', { reason: e.message }), 'error');
  }
}

function markRead() {
  const c = state.conv;
  if (!c || !c.unread_count || document.hidden) return;
  api.post('/v1/conversations/' + encodeURIComponent(c.id) + '/read').then(() => {
    c.unread_count = 0;
    const item = state.list.find((x) => x.id === c.id);
    if (item) item.unread_count = 0;
    renderList();
    refreshCounts();
  }).catch(() => {});
}

function close() {
  state.selected = null;
  state.conv = null;
  state.thread = null;
  document.body.classList.remove('has-thread');
  if (live) live.watch(null);
  renderPane();
  renderList();
}

let paneParts = null;
function renderPane() {
  if (!ui.pane) return;
  if (!state.selected) {
    paneParts = null;
    replace(ui.pane, h('div', { class: 'placeholder' }, h('img', { src: '/icon.svg', alt: '', width: 56, height: 56 }), h('h2', {}, t('pick')), h('p', {}, t('pick.hint'))));
    return;
  }
  if (!paneParts || paneParts.id !== state.selected) {
    const c = ctx();
    paneParts = {
      id: state.selected,
      ctx: c,
      header: h('header', { class: 'thread-head' }),
      thread: h('ol', { class: 'thread', 'aria-label': t('thread.label'), tabindex: '0' }),
      typing: h('p', { class: 'typing', 'aria-live': 'polite' }),
      composer: composer(c),
    };
    replace(ui.pane, paneParts.header, paneParts.thread, paneParts.typing, paneParts.composer.el);
  }
  renderHeader();
  const wasAtBottom = paneParts.thread.scrollHeight - paneParts.thread.scrollTop - paneParts.thread.clientHeight < 80;
  renderThread(paneParts.thread, paneParts.ctx);
  if (wasAtBottom || !paneParts.scrolled) {
    paneParts.thread.scrollTop = paneParts.thread.scrollHeight;
    paneParts.scrolled = true;
  }
  paneParts.composer.update();
  replace(paneParts.typing, state.typing ? t('typing', { name: state.typing.user_name }) : '');
}

// ctx is what thread.js needs from the app.
function ctx() {
  return {
    state, t, api, live, toast, userName, lineName, labelChip, avatarStyle, initialsOf,
    sent: (entry) => addEntry(entry),
    reload: () => state.selected && loadConversation(state.selected),
  };
}

function renderHeader() {
  if (!paneParts) return;
  const c = state.conv;
  if (!c) {
    replace(paneParts.header, h('p', {}, t('thread.loading')));
    return;
  }
  const me = state.me;
  const mine = c.assignee_id === me.id;
  const name = c.contact.name || '+' + c.contact.wa_id;
  const line = state.lines.find((l) => l.id === c.line_id);
  const dept = state.departments.find((d) => d.id === c.department_id);
  const act = (label, fn, cls = '') => h('button', { type: 'button', class: 'act ' + cls, 'aria-label': label, onclick: fn }, label);
  const actions = [];
  if (c.status === 'open') {
    if (!c.assignee_id) actions.push(act(t('act.claim'), () => action('claim'), 'primary'));
    if (mine) actions.push(act(t('act.return'), () => action('return')));
    if (me.role === 'admin') actions.push(act(t('act.assign'), assignDialog));
    actions.push(act(t('act.transfer'), transferDialog));
    actions.push(act(t('act.labels'), labelsDialog));
    if (mine || me.role === 'admin' || (c.collaborators || []).includes(me.id)) actions.push(act(t('act.collaborators'), collaboratorsDialog));
    actions.push(act(t('act.close'), closeDialog, 'danger'));
  } else {
    actions.push(act(t('act.reopen'), () => action('reopen'), 'primary'));
    actions.push(act(t('act.labels'), labelsDialog));
  }
  const win = windowInfo(c, t);
  replace(paneParts.header,
    h('a', { class: 'back ghost', href: '#/', 'aria-label': t('back') }, '←'),
    h('span', { class: 'avatar', style: avatarStyle(c.contact.wa_id), 'aria-hidden': 'true' }, initialsOf(name)),
    h('div', { class: 'head-info' },
      h('h2', { class: 'head-name' }, name),
      h('p', { class: 'head-meta' },
        h('span', {}, '+' + c.contact.wa_id), ' · ', h('span', {}, lineName(line)), dept ? [' · ', h('span', {}, dept.name)] : null,
        ' · ', h('span', { class: 'assignee' }, userName(c.assignee_id)),
        c.route ? h('span', { class: 'tag route', title: t('route') }, c.route) : null),
      h('p', { class: 'head-meta' }, h('span', { class: 'window ' + (win.open ? 'open' : 'closed') }, win.text), (c.labels || []).map(labelChip),
        (c.collaborators || []).length ? h('span', { class: 'tag collab' }, t('collab.with', { names: c.collaborators.map(userName).join(', ') })) : null)),
    h('div', { class: 'head-actions' }, actions));
}

async function action(name, body) {
  const c = state.conv;
  try {
    const updated = await api.post('/v1/conversations/' + encodeURIComponent(c.id) + '/' + name, body);
    if (updated && updated.id) {
      state.conv = updated;
      upsert(updated);
    }
    loadConversation(c.id);
    return true;
  } catch (e) {
    if (e.status === 409) toast(t('conv.taken') + ' ' + (e.message || ''), 'error');
    else toast(t('error.generic', { reason: e.message }), 'error');
    loadConversation(c.id);
    return false;
  }
}

function field(label, control) {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

function buttons(closeFn, okLabel, okCls = 'primary') {
  return h('div', { class: 'dialog-buttons' },
    h('button', { type: 'button', onclick: () => closeFn(undefined) }, t('act.cancel')),
    h('button', { type: 'submit', class: okCls }, okLabel));
}

async function closeDialog() {
  const c = state.conv;
  if (!c || c.status !== 'open') return;
  let reasons = [];
  try {
    reasons = (await api.get('/v1/closing-reasons' + api.query({ department_id: c.department_id }))).reasons || [];
  } catch { /* free text */ }
  const result = await dialog(t('close.title'), (done) => {
    const reason = reasons.length
      ? h('select', { name: 'reason', required: true }, reasons.map((r) => h('option', { value: r }, r)))
      : h('input', { name: 'reason', required: true, maxlength: 100 });
    const note = h('textarea', { name: 'note', rows: 3, maxlength: 2000 });
    return h('form', { method: 'dialog', onsubmit: (e) => { e.preventDefault(); done({ reason: reason.value.trim(), note: note.value.trim() }); } },
      field(t('close.reason'), reason), field(t('close.note'), note), buttons(done, t('act.close'), 'danger'));
  });
  if (result) action('close', result);
}

async function transferDialog() {
  const c = state.conv;
  const result = await dialog(t('transfer.title'), (done) => {
    const to = h('select', { name: 'to', required: true },
      state.departments.filter((d) => d.id !== c.department_id).map((d) => h('option', { value: 'd:' + d.id }, t('transfer.department', { name: d.name }))),
      state.colleagues.filter((u) => u.id !== c.assignee_id).map((u) => h('option', { value: 'u:' + u.id }, t('transfer.agent', { name: u.name }))));
    const note = h('textarea', { name: 'note', rows: 3 });
    return h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        const [kind, id] = to.value.split(':');
        done(kind === 'd' ? { department_id: id, note: note.value.trim() } : { assignee_id: id, note: note.value.trim() });
      },
    }, field(t('transfer.to'), to), field(t('transfer.note'), note), buttons(done, t('act.transfer')));
  });
  if (result) action('transfer', result);
}

async function assignDialog() {
  const result = await dialog(t('assign.title'), (done) => {
    const who = h('select', { name: 'assignee' }, state.colleagues.map((u) => h('option', { value: u.id }, u.name)));
    return h('form', { onsubmit: (e) => { e.preventDefault(); done({ assignee_id: who.value }); } }, field(t('assign.to'), who), buttons(done, t('act.assign')));
  });
  if (result) action('assign', result);
}

async function labelsDialog() {
  const c = state.conv;
  const have = new Set(c.labels || []);
  const result = await dialog(t('labels.title'), (done) => {
    const boxes = state.labels.map((l) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: l.id, checked: have.has(l.id) }), labelChip(l.id)));
    return h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        const want = new Set(boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value));
        done({ add: [...want].filter((id) => !have.has(id)), remove: [...have].filter((id) => !want.has(id)) });
      },
    }, boxes.length ? h('div', { class: 'checks' }, boxes) : h('p', {}, t('admin.none')), buttons(done, t('act.save')));
  });
  if (result && (result.add.length || result.remove.length)) action('labels', result);
}

// collaboratorsDialog pulls colleagues into the conversation (the assignee or an admin) or lets
// a collaborator leave.
async function collaboratorsDialog() {
  const c = state.conv;
  const have = c.collaborators || [];
  const canAdd = c.assignee_id === state.me.id || state.me.role === 'admin';
  const result = await dialog(t('collab.title'), (done) => {
    const rows = have.map((id) => h('li', { class: 'collab-row' }, h('span', {}, userName(id)),
      (canAdd || id === state.me.id) ? h('button', { type: 'button', class: 'ghost danger', onclick: () => done({ remove: id }) }, id === state.me.id ? t('collab.leave') : t('collab.remove')) : null));
    const who = h('select', { name: 'user', 'aria-label': t('collab.add') }, state.colleagues.filter((u) => u.id !== c.assignee_id && !have.includes(u.id)).map((u) => h('option', { value: u.id }, u.name)));
    return h('form', { onsubmit: (e) => { e.preventDefault(); if (who.value) done({ add: who.value }); } },
      rows.length ? h('ul', { class: 'collab-list' }, rows) : h('p', { class: 'hint' }, t('collab.none')),
      canAdd && have.length < 5 ? field(t('collab.add'), who) : null,
      h('div', { class: 'dialog-buttons' }, h('button', { type: 'button', onclick: () => done(undefined) }, t('act.cancel')),
        canAdd && have.length < 5 ? h('button', { type: 'submit', class: 'primary' }, t('collab.add')) : null));
  });
  if (!result) return;
  try {
    if (result.add) await api.post('/v1/conversations/' + encodeURIComponent(c.id) + '/collaborators', { user_id: result.add });
    else await api.del('/v1/conversations/' + encodeURIComponent(c.id) + '/collaborators/' + encodeURIComponent(result.remove));
  } catch (e) {
    toast(t('error.generic', { reason: e.message }), 'error');
  }
  loadConversation(c.id);
}

function help() {
  const keys = [['j', t('help.next')], ['k', t('help.prev')], ['r', t('help.reply')], ['c', t('help.claim')], ['x', t('help.close')],
    ['/', t('help.search')], ['Ctrl + Enter', t('help.send')], ['?', t('help.help')], ['Esc', t('help.escape')]];
  dialog(t('help.title'), (done) => h('div', {},
    h('dl', { class: 'keys' }, keys.map(([k, what]) => [h('dt', {}, h('kbd', {}, k)), h('dd', {}, what)])),
    h('div', { class: 'dialog-buttons' }, h('button', { type: 'button', class: 'primary', onclick: () => done() }, t('act.done')))));
}

// ---- thread updates -----------------------------------------------------------------------

function addEntry(entry) {
  if (!state.thread || !entry) return;
  const i = state.thread.findIndex((e) => e.id === entry.id);
  if (i >= 0) {
    keepURLs(state.thread[i], entry);
    state.thread[i] = entry;
  } else state.thread.push(entry);
  // Events carry no presigned URL (it would expire in the socket's frame): ask the thread for
  // one when an attachment is ready without it.
  const all = [entry.media, ...(entry.more_media || [])].filter(Boolean);
  if (all.some((m) => !m.url && !m.link && (!m.status || m.status === 'ready'))) reloadSoon();
  renderPane();
}

// keepURLs copies the presigned URLs of an entry already shown to its newer copy.
function keepURLs(old, entry) {
  const before = [old.media, ...(old.more_media || [])];
  [entry.media, ...(entry.more_media || [])].forEach((m, i) => {
    if (m && !m.url && before[i] && before[i].url) m.url = before[i].url;
  });
}

const reloadSoon = debounce(() => state.selected && loadConversation(state.selected), 400);

// ---- live ---------------------------------------------------------------------------------

function onEvent(ev) {
  switch (ev.type) {
    case 'conversation.updated':
      upsert(ev.conversation);
      break;
    case 'conversation.removed':
      state.list = state.list.filter((c) => c.id !== ev.conversation_id);
      renderList();
      if (state.selected === ev.conversation_id) {
        toast(t('conv.gone'), 'error');
        location.hash = '#/';
      }
      break;
    case 'message.created':
    case 'message.status':
    case 'note.created':
      if (ev.conversation) upsert(ev.conversation);
      if (state.selected === ev.conversation_id) {
        addEntry(ev.message || ev.note);
        if (ev.type === 'message.created' && ev.message.direction === 'in') markRead();
      }
      if (ev.type === 'message.created' && ev.message.direction === 'in' && ev.conversation && ev.conversation.assignee_id === state.me.id) {
        alertUser(t('notify.new', { name: ev.conversation.contact.name || ev.conversation.contact.wa_id }), ev.message.text || '', ev.conversation_id);
      }
      break;
    case 'notification':
      if (ev.conversation) upsert(ev.conversation);
      alertUser(ev.notification.kind === 'window_closing' ? t('notify.window', { name: ev.conversation.contact.name })
        : ev.notification.kind === 'collaborator_added' ? t('notify.collab') : t('notify.assigned'),
        ev.conversation.contact.name || '', ev.conversation_id);
      break;
    case 'typing':
      if (ev.conversation_id === state.selected) {
        state.typing = ev.typing;
        renderPane();
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { state.typing = null; renderPane(); }, 5000);
      }
      break;
    default:
  }
}
let typingTimer = null;

// catchUp refetches what the page shows after the socket came back: events sent while it was
// away are not replayed.
function catchUp() {
  refreshList();
  if (state.selected) loadConversation(state.selected);
}

// alertUser plays a short sound and, with permission, shows a desktop notification when the
// page is not looking at the conversation.
function alertUser(title, body, conversationID) {
  beep();
  const looking = !document.hidden && state.selected === conversationID;
  if (looking || !('Notification' in window) || Notification.permission !== 'granted') return;
  const n = new Notification(title, { body: body.slice(0, 120), tag: conversationID, icon: '/icon.svg' });
  n.onclick = () => { window.focus(); location.hash = '#/c/' + encodeURIComponent(conversationID); };
}

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.08, audio.currentTime);
    g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.25);
  } catch { /* no sound */ }
}

// ---- keyboard -----------------------------------------------------------------------------

function shortcut(e) {
  if (!state.me || e.defaultPrevented || e.altKey || e.metaKey || e.ctrlKey) return;
  const tag = (e.target.tagName || '').toLowerCase();
  if (tag === 'input' || tag === 'textarea' || tag === 'select' || e.target.isContentEditable || document.querySelector('dialog[open]')) return;
  const move = (d) => {
    if (!state.list.length) return;
    let i = state.list.findIndex((c) => c.id === state.selected);
    i = i < 0 ? 0 : Math.min(state.list.length - 1, Math.max(0, i + d));
    location.hash = '#/c/' + encodeURIComponent(state.list[i].id);
  };
  switch (e.key) {
    case 'j': move(1); break;
    case 'k': move(-1); break;
    case 'r': if (paneParts) paneParts.composer.focus(); break;
    case 'x': closeDialog(); break;
    case 'c': if (state.conv && !state.conv.assignee_id && state.conv.status === 'open') action('claim'); break;
    case '/': if (ui.search) ui.search.focus(); break;
    case '?': help(); break;
    default: return;
  }
  e.preventDefault();
}

export function debounce(f, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

// admin.js: the admin screens (lines, departments, users, labels, quick replies, templates,
// closing reasons). Each section reads its listing and writes through the same API.
import { h, replace, toast } from './dom.js';
import * as api from './api.js';

const SECTIONS = ['lines', 'departments', 'users', 'labels', 'quick', 'templates', 'reasons'];

export function renderAdmin(root, section, { state, t, go }) {
  if (!SECTIONS.includes(section)) section = 'lines';
  const body = h('div', { class: 'admin-body' }, h('p', {}, t('thread.loading')));
  replace(root, h('div', { class: 'admin' },
    h('nav', { class: 'admin-nav', 'aria-label': t('admin') }, SECTIONS.map((s) => h('a', { href: '#/admin/' + s, class: s === section ? 'active' : '', 'aria-current': s === section ? 'page' : null }, t(sectionTitle(s))))),
    h('section', { class: 'admin-main', 'aria-label': t(sectionTitle(section)) }, h('h1', {}, t(sectionTitle(section))), body)));
  const fail = (e) => toast(t('error.generic', { reason: e.message }), 'error');
  const again = () => renderAdmin(root, section, { state, t, go });
  const ctx = { state, t, fail, again };
  ({ lines, departments, users, labels, quick, templates, reasons })[section](body, ctx).catch(fail);
}

function sectionTitle(s) {
  return { lines: 'admin.lines', departments: 'admin.departments', users: 'admin.users', labels: 'admin.labels', quick: 'admin.quick', templates: 'admin.templates', reasons: 'admin.reasons' }[s];
}

function field(label, control) {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

function table(headers, rows) {
  return h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows));
}

function deptOptions(state, value, any) {
  return [any ? h('option', { value: '' }, '—') : null].concat(state.departments.map((d) => h('option', { value: d.id, selected: d.id === value }, d.name)));
}

async function lines(body, { state, t, fail }) {
  const items = (await api.get('/v1/lines')).items || [];
  state.lines = items;
  const editor = h('div', { class: 'json-editor' });
  replace(body, table([t('admin.number'), t('admin.provider'), t('admin.state'), t('admin.department'), ''], items.map((l) => {
    const stateSel = h('select', { 'aria-label': t('admin.state') + ' ' + (l.display_phone_number || l.number) }, ['active', 'paused'].map((s) => h('option', { value: s, selected: l.state === s }, s)));
    const dept = h('select', { 'aria-label': t('admin.department') + ' ' + (l.display_phone_number || l.number) }, deptOptions(state, l.department_id, true));
    const save = async () => {
      try {
        await api.patch('/v1/lines/' + encodeURIComponent(l.id), { state: stateSel.value, department_id: dept.value });
        toast(t('admin.saved'));
      } catch (e) { fail(e); }
    };
    stateSel.addEventListener('change', save);
    dept.addEventListener('change', save);
    const edit = (what, path) => h('button', { type: 'button', class: 'ghost', onclick: () => jsonEditor(editor, t(what) + ' · ' + (l.display_phone_number || l.number), '/v1/lines/' + encodeURIComponent(l.id) + path, t, fail) }, t(what));
    return h('tr', {}, h('td', {}, l.display_phone_number || l.number || l.id), h('td', {}, l.provider), h('td', {}, stateSel), h('td', {}, dept),
      h('td', { class: 'row-actions' }, edit('admin.rules', '/rules'), edit('admin.hours', '/hours'), edit('admin.autoReplies', '/auto-replies'), edit('admin.autoClose', '/auto-close')));
  })), editor);
}

// jsonEditor edits a settings document (rules, hours, auto-replies, auto-close) as JSON: the
// API checks it and says what is wrong.
async function jsonEditor(box, title, path, t, fail) {
  let current = {};
  try {
    current = await api.get(path);
  } catch (e) {
    if (e.status !== 404) return fail(e);
  }
  const area = h('textarea', { rows: 12, class: 'mono', 'aria-label': t('admin.json') + ' — ' + title, value: JSON.stringify(current, null, 2) });
  replace(box, h('h2', {}, title), area, h('div', { class: 'dialog-buttons' }, h('button', {
    type: 'button', class: 'primary', onclick: async () => {
      try {
        await api.put(path, JSON.parse(area.value));
        toast(t('admin.saved'));
      } catch (e) { fail(e); }
    },
  }, t('act.save'))));
  area.focus();
}

async function departments(body, { state, t, fail, again }) {
  const items = (await api.get('/v1/departments')).items || [];
  state.departments = items;
  const editor = h('div', { class: 'json-editor' });
  const name = h('input', { required: true, 'aria-label': t('admin.name') });
  replace(body,
    table([t('admin.name'), ''], items.map((d) => h('tr', {}, h('td', {}, d.name), h('td', { class: 'row-actions' },
      h('button', { type: 'button', class: 'ghost', onclick: () => jsonEditor(editor, t('admin.rules') + ' · ' + d.name, '/v1/departments/' + encodeURIComponent(d.id) + '/rules', t, fail) }, t('admin.rules')))))),
    h('form', { class: 'admin-form', onsubmit: async (e) => { e.preventDefault(); try { await api.post('/v1/departments', { name: name.value.trim() }); again(); } catch (err) { fail(err); } } },
      field(t('admin.name'), name), h('button', { type: 'submit', class: 'primary' }, t('admin.create'))),
    editor);
}

async function users(body, { state, t, fail, again }) {
  const items = (await api.get('/v1/users')).items || [];
  state.users = items;
  const deptName = (id) => (state.departments.find((d) => d.id === id) || {}).name || id;
  const rows = items.map((u) => {
    const capacity = h('input', { type: 'number', min: 0, max: 1000, class: 'narrow', 'aria-label': t('admin.capacity') + ' ' + u.name });
    api.get('/v1/users/' + encodeURIComponent(u.id) + '/availability').then((a) => { capacity.value = a.max_open || 0; }).catch(() => {});
    capacity.addEventListener('change', async () => {
      try { await api.put('/v1/users/' + encodeURIComponent(u.id) + '/availability', { max_open: Number(capacity.value) }); toast(t('admin.saved')); } catch (e) { fail(e); }
    });
    const toggle = h('button', {
      type: 'button', class: u.disabled ? '' : 'danger', onclick: async () => {
        try { await api.post('/v1/users/' + encodeURIComponent(u.id) + (u.disabled ? '/enable' : '/disable')); again(); } catch (e) { fail(e); }
      },
    }, u.disabled ? t('admin.enable') : t('admin.disable'));
    return h('tr', { class: u.disabled ? 'muted' : '' }, h('td', {}, u.name), h('td', {}, u.email), h('td', {}, u.role), h('td', {}, (u.departments || []).map(deptName).join(', ')),
      h('td', {}, capacity), h('td', { class: 'row-actions' }, state.me.id === u.id ? null : toggle));
  });
  const email = h('input', { type: 'email', required: true });
  const name = h('input', { required: true });
  const role = h('select', {}, ['agent', 'seller', 'admin', 'noinbox'].map((r) => h('option', { value: r }, r)));
  const depts = h('select', { multiple: true, size: Math.min(4, state.departments.length || 1) }, deptOptions(state, null, false));
  replace(body, table([t('admin.name'), t('admin.email'), t('admin.role'), t('admin.departmentsOf'), t('admin.capacity'), ''], rows),
    h('form', {
      class: 'admin-form', onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api.post('/v1/users', { email: email.value.trim(), name: name.value.trim(), role: role.value, departments: Array.from(depts.selectedOptions).map((o) => o.value) });
          again();
        } catch (err) { fail(err); }
      },
    }, field(t('admin.email'), email), field(t('admin.name'), name), field(t('admin.role'), role), field(t('admin.departmentsOf'), depts), h('button', { type: 'submit', class: 'primary' }, t('admin.create'))));
}

async function labels(body, { state, t, fail, again }) {
  const items = (await api.get('/v1/labels')).items || [];
  state.labels = items;
  const name = h('input', { required: true, maxlength: 50 });
  const description = h('input', { maxlength: 200 });
  const color = h('input', { type: 'color', value: '#0f766e' });
  replace(body, table([t('admin.name'), t('admin.description'), t('admin.color')], items.map((l) => h('tr', {}, h('td', {}, h('span', { class: 'label-chip', style: '--c:' + (/^#[0-9a-fA-F]{6}$/.test(l.color) ? l.color : '#64748b') }, l.name)), h('td', {}, l.description || ''), h('td', {}, l.color || '')))),
    h('form', { class: 'admin-form', onsubmit: async (e) => { e.preventDefault(); try { await api.post('/v1/labels', { name: name.value.trim(), description: description.value.trim(), color: color.value }); again(); } catch (err) { fail(err); } } },
      field(t('admin.name'), name), field(t('admin.description'), description), field(t('admin.color'), color), h('button', { type: 'submit', class: 'primary' }, t('admin.create'))));
}

async function quick(body, { state, t, fail, again }) {
  const items = (await api.get('/v1/quick-replies')).items || [];
  state.quickReplies = items;
  const form = (r) => {
    const title = h('input', { required: true, maxlength: 100, value: r ? r.title : '' });
    const text = h('textarea', { required: true, rows: 3, maxlength: 4096, value: r ? r.text : '' });
    return h('form', {
      class: 'admin-form', onsubmit: async (e) => {
        e.preventDefault();
        try {
          const b = { title: title.value.trim(), text: text.value.trim() };
          if (r) await api.put('/v1/quick-replies/' + encodeURIComponent(r.id), b);
          else await api.post('/v1/quick-replies', b);
          again();
        } catch (err) { fail(err); }
      },
    }, field(t('admin.title'), title), field(t('admin.text'), text), h('button', { type: 'submit', class: 'primary' }, r ? t('act.save') : t('admin.create')));
  };
  const editing = h('div', {});
  replace(body, table([t('admin.title'), t('admin.text'), ''], items.map((r) => h('tr', {}, h('td', {}, '/', r.title), h('td', {}, r.text), h('td', { class: 'row-actions' },
    h('button', { type: 'button', class: 'ghost', onclick: () => replace(editing, form(r)) }, t('admin.edit')),
    h('button', { type: 'button', class: 'ghost danger', onclick: async () => { try { await api.del('/v1/quick-replies/' + encodeURIComponent(r.id)); again(); } catch (e) { fail(e); } } }, t('admin.delete')))))),
  editing, form(null));
}

async function templates(body, { state, t, fail, again }) {
  const items = (await api.get('/v1/templates')).items || [];
  state.templates = items;
  replace(body,
    h('button', { type: 'button', class: 'primary', onclick: async () => { try { const r = await api.post('/v1/templates/sync'); toast(t('admin.synced', { n: r.synced ?? r.count ?? '' })); again(); } catch (e) { fail(e); } } }, t('admin.sync')),
    table([t('admin.name'), t('admin.language'), t('admin.category'), t('admin.status'), t('admin.text')], items.map((tp) => h('tr', {},
      h('td', {}, tp.name), h('td', {}, tp.language), h('td', {}, tp.category || ''), h('td', {}, h('span', { class: 'status status-' + String(tp.status).toLowerCase() }, tp.status), tp.reason ? ' — ' + tp.reason : ''), h('td', { class: 'clip' }, tp.body || '')))));
}

async function reasons(body, { state, t, fail, again }) {
  const scope = h('select', { 'aria-label': t('admin.department') }, h('option', { value: '' }, '—'), state.departments.map((d) => h('option', { value: d.id }, d.name)));
  const area = h('textarea', { rows: 8, 'aria-label': t('admin.reasons') });
  const load = async () => {
    try {
      const r = await api.get('/v1/closing-reasons' + api.query({ department_id: scope.value }));
      area.value = (scope.value && r.department_id !== scope.value ? [] : r.reasons || []).join('\n');
    } catch (e) { fail(e); }
  };
  scope.addEventListener('change', load);
  replace(body, field(t('admin.department'), scope), field(t('admin.reasons'), area), h('p', { class: 'hint' }, t('admin.reasonsHint')),
    h('button', {
      type: 'button', class: 'primary', onclick: async () => {
        const list = area.value.split('\n').map((x) => x.trim()).filter(Boolean);
        try {
          await api.put(scope.value ? '/v1/departments/' + encodeURIComponent(scope.value) + '/closing-reasons' : '/v1/closing-reasons', { reasons: list });
          toast(t('admin.saved'));
        } catch (e) { fail(e); }
      },
    }, t('act.save')));
  load();
}

// The console's views. Each takes the <main> element and the route, and returns an optional
// `{ update(route), leave() }`. Visitor data only ever reaches the page through dom.js (text).

import { h, mount, safeHref, time, dayLabel, relative } from './dom.js';
import { api, saveSession, isAdmin, session, ApiError } from './api.js';

const PAGE_SIZES = [25, 50, 100];
const SORTABLE = { name: 'Name', username: 'Username', 'lastChat.ts': 'Last chat', ts: 'Created' };

function announce(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

function heading(text) {
  return h('h1', { tabindex: '-1', id: 'view-title' }, text);
}

function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 403) return 'Access denied: your account does not have the permission for this.';
    return e.message;
  }
  return 'The server could not be reached.';
}

// ---------------------------------------------------------------- login

export function loginView(main, route, { expired, onLogin }) {
  document.title = 'Sign in — visitord console';
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' });
  const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true, 'aria-describedby': 'login-error' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'login-error' });
  const keep = h('input', { id: 'login-keep', type: 'checkbox' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  if (expired) error.textContent = 'Your session expired. Please sign in again.';
  const form = h('form', {
    class: 'card login',
    onSubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      error.textContent = '';
      try {
        const out = await api('login', { method: 'POST', body: { user: user.value, password: pass.value }, auth: false });
        saveSession({ userId: out.data.userId, authToken: out.data.authToken, me: out.data.me }, keep.checked);
        onLogin();
      } catch (err) {
        error.textContent = err instanceof ApiError && err.status === 401
          ? 'Wrong username or password.'
          : errorText(err);
        pass.focus();
      } finally {
        button.disabled = false;
      }
    },
  },
  h('p', {}, h('label', { for: 'login-user' }, 'Username'), user),
  h('p', {}, h('label', { for: 'login-password' }, 'Password'), pass),
  h('p', { class: 'check' }, keep, h('label', { for: 'login-keep' }, 'Keep me signed in on this device')),
  error,
  h('p', {}, button));
  mount(main, heading('Sign in to visitord'), form);
  return { focus: user };
}

// ---------------------------------------------------------------- visitors list

function listState(params) {
  const count = Number(params.get('count'));
  const page = Math.max(1, Math.floor(Number(params.get('page')) || 1));
  const sort = SORTABLE[params.get('sort')] ? params.get('sort') : 'ts';
  return {
    term: params.get('term') || '',
    page,
    count: PAGE_SIZES.includes(count) ? count : 25,
    sort,
    dir: params.get('dir') === '1' ? 1 : -1,
  };
}

function listHash(s) {
  const p = new URLSearchParams();
  if (s.term) p.set('term', s.term);
  if (s.page > 1) p.set('page', String(s.page));
  if (s.count !== 25) p.set('count', String(s.count));
  if (s.sort !== 'ts' || s.dir !== -1) {
    p.set('sort', s.sort);
    p.set('dir', String(s.dir));
  }
  const q = p.toString();
  return '#/visitors' + (q ? '?' + q : '');
}

// The list as the agent left it, for the visitor page's "Back" link (kept across reloads).
function rememberList(hash) {
  try { sessionStorage.setItem('visitord:list', hash); } catch (e) { /* memory only */ }
}
function lastListHash() {
  try { return sessionStorage.getItem('visitord:list') || '#/visitors'; } catch (e) { return '#/visitors'; }
}

export function visitorsView(main, route) {
  document.title = 'Visitors — visitord console';
  let state = listState(route.params);
  let controller = null;
  let debounce = null;

  const search = h('input', { id: 'search', type: 'search', autocomplete: 'off', value: state.term, 'aria-describedby': 'search-hint' });
  const status = h('p', { id: 'list-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const headRow = h('tr');
  const range = h('p', { class: 'range', id: 'range' });
  const prev = h('button', { type: 'button', onClick: () => go({ page: state.page - 1 }) }, 'Previous page');
  const next = h('button', { type: 'button', onClick: () => go({ page: state.page + 1 }) }, 'Next page');
  const size = h('select', { id: 'page-size', onChange: () => go({ count: Number(size.value), page: 1 }) },
    PAGE_SIZES.map((n) => h('option', { value: String(n) }, String(n))));

  function go(change, replace) {
    state = { ...state, ...change };
    const hash = listHash(state);
    rememberList(hash);
    if (replace) {
      history.replaceState(null, '', hash);
      load();
    } else if (location.hash !== hash) {
      location.hash = hash; // the router calls update()
    } else {
      load();
    }
  }

  function header() {
    const cols = [['name', 'Name'], ['username', 'Username'], [null, 'Email'], [null, 'Phone'], ['lastChat.ts', 'Last chat'], ['ts', 'Created']];
    mount(headRow, cols.map(([key, label]) => {
      if (!key) return h('th', { scope: 'col' }, label);
      const active = state.sort === key;
      const sortAttr = active ? (state.dir === 1 ? 'ascending' : 'descending') : undefined;
      return h('th', { scope: 'col', 'aria-sort': sortAttr },
        h('button', {
          type: 'button',
          class: 'sort',
          onClick: () => go({ sort: key, dir: active ? -state.dir : (key === 'name' || key === 'username' ? 1 : -1), page: 1 }),
        }, label, h('span', { 'aria-hidden': 'true' }, active ? (state.dir === 1 ? ' ▲' : ' ▼') : '')));
    }));
  }

  function row(v) {
    const email = v.visitorEmails && v.visitorEmails[0] && v.visitorEmails[0].address;
    const phone = v.phone && v.phone[0] && v.phone[0].phoneNumber;
    return h('tr', {},
      h('td', {}, h('a', { href: '#/visitors/' + encodeURIComponent(v._id) }, v.name || v.username)),
      h('td', {}, v.username),
      h('td', {}, email || '—'),
      h('td', {}, phone || '—'),
      h('td', {}, v.lastChat ? time(v.lastChat.ts) : '—'),
      h('td', {}, time(v.ts)));
  }

  function message(text, cls) {
    mount(tbody, h('tr', {}, h('td', { colspan: '6', class: cls || 'empty' }, text)));
  }

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    header();
    size.value = String(state.count);
    status.textContent = 'Loading visitors…';
    main.setAttribute('aria-busy', 'true');
    try {
      const out = await api('visitord.visitors.search', {
        query: { term: state.term, count: state.count, offset: (state.page - 1) * state.count, sort: { [state.sort]: state.dir } },
        signal: mine.signal,
      });
      if (mine !== controller) return;
      const total = out.total;
      if (!out.visitors.length) {
        message(state.term ? `No visitors match “${state.term}”.` : 'No visitors yet.');
        range.textContent = total ? `Page ${state.page} is past the last page.` : '';
      } else {
        mount(tbody, out.visitors.map(row));
        const first = out.offset + 1;
        range.textContent = `${first}–${out.offset + out.count} of ${total}`;
      }
      prev.disabled = state.page <= 1;
      next.disabled = out.offset + out.count >= total;
      status.textContent = `${total} visitor${total === 1 ? '' : 's'} found`;
    } catch (e) {
      if (e.name === 'AbortError' || mine !== controller) return;
      message('Could not load visitors: ' + errorText(e), 'error');
      status.textContent = 'Could not load visitors.';
    } finally {
      if (mine === controller) main.removeAttribute('aria-busy');
    }
  }

  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => go({ term: search.value.trim(), page: 1 }, true), 250);
  });

  mount(main,
    heading('Visitors'),
    h('form', { role: 'search', class: 'search', onSubmit: (e) => { e.preventDefault(); clearTimeout(debounce); go({ term: search.value.trim(), page: 1 }, true); } },
      h('label', { for: 'search' }, 'Search visitors'),
      search,
      h('span', { id: 'search-hint', class: 'hint' }, 'Name, username, email, phone or a searchable custom field; results update as you type.')),
    status,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'visitors' },
        h('caption', {}, 'Visitors, newest first unless sorted by another column'),
        h('thead', {}, headRow),
        tbody)),
    h('nav', { class: 'pager', 'aria-label': 'Pages of visitors' },
      range, prev, next,
      h('label', { for: 'page-size' }, 'Rows per page'), size));
  rememberList(listHash(state));
  load();
  return {
    focus: null,
    update(r) {
      state = listState(r.params);
      rememberList(listHash(state));
      if (search.value.trim() !== state.term) search.value = state.term;
      load();
    },
    leave() {
      clearTimeout(debounce);
      if (controller) controller.abort();
    },
  };
}

// ---------------------------------------------------------------- one visitor

function field(label, value) {
  return [h('dt', {}, label), h('dd', {}, value === undefined || value === null || value === '' ? '—' : value)];
}

export function visitorView(main, route) {
  const id = route.id;
  document.title = 'Visitor — visitord console';
  const controller = new AbortController();
  const signal = controller.signal;
  const title = heading('Visitor');
  const contact = h('section', { 'aria-labelledby': 'contact-h', class: 'card' }, h('h2', { id: 'contact-h' }, 'Contact'), h('p', { role: 'status' }, 'Loading…'));
  const chats = h('section', { 'aria-labelledby': 'chats-h', class: 'card' }, h('h2', { id: 'chats-h' }, 'Conversations'), h('p', {}, 'Loading…'));
  const navList = h('div', { id: 'timeline' });
  const navStatus = h('p', { role: 'status', class: 'status', id: 'nav-status' }, 'Loading…');
  const more = h('button', { type: 'button', id: 'load-more', hidden: true }, 'Load more');
  const refresh = h('button', { type: 'button', id: 'refresh' }, 'Refresh');
  const nav = h('section', { 'aria-labelledby': 'nav-h', class: 'card' },
    h('div', { class: 'section-head' }, h('h2', { id: 'nav-h' }, 'Navigation'), refresh),
    navStatus, navList, more);

  mount(main,
    h('p', {}, h('a', { href: lastListHash(), id: 'back' }, '← Back to visitors')),
    title, h('div', { class: 'visitor-grid' }, contact, chats), nav);

  let pages = [];
  let total = 0;
  const PAGE = 50;

  async function loadContact() {
    try {
      const [info, defs] = await Promise.all([
        api('livechat/visitors.info', { query: { visitorId: id }, signal }),
        api('livechat/custom-fields', { query: { count: 100 }, signal }).catch(() => ({ customFields: [] })),
      ]);
      const v = info.visitor;
      const name = v.name || v.username;
      title.textContent = name;
      document.title = name + ' — visitord console';
      const labels = {};
      for (const d of defs.customFields || []) labels[d._id] = d.label || d._id;
      const custom = Object.entries(v.livechatData || {}).filter(([, value]) => value !== '');
      mount(contact, h('h2', { id: 'contact-h' }, 'Contact'), h('dl', { class: 'fields' },
        field('Name', v.name),
        field('Username', v.username),
        field('Status', v.status),
        field('Emails', (v.visitorEmails || []).map((e) => e.address).join(', ')),
        field('Phones', (v.phone || []).map((p) => p.phoneNumber).join(', ')),
        field('Department', v.department),
        field('Created', time(v.ts)),
        field('Last chat', v.lastChat ? time(v.lastChat.ts) : null),
        custom.map(([key, value]) => field(labels[key] || key, value)),
        v.userAgent ? field('Browser', v.userAgent) : null,
        v.ip ? field('IP', v.ip) : null,
        v.host ? field('Host', v.host) : null));
      loadChats(v);
    } catch (e) {
      if (signal.aborted) return;
      const text = e instanceof ApiError && e.status === 400 ? 'No visitor has this id.' : 'Could not load the visitor: ' + errorText(e);
      title.textContent = 'Visitor not found';
      mount(contact, h('h2', { id: 'contact-h' }, 'Contact'), h('p', { class: 'error', role: 'alert' }, text));
      mount(chats, h('h2', { id: 'chats-h' }, 'Conversations'), h('p', {}, '—'));
    }
  }

  async function loadChats(v) {
    const head = h('h2', { id: 'chats-h' }, 'Conversations');
    if (!v.lastChat) {
      mount(chats, head, h('p', { class: 'empty' }, 'No conversations.'));
      return;
    }
    try {
      const out = await api(`livechat/visitors.chatHistory/room/${encodeURIComponent(v.lastChat._id)}/visitor/${encodeURIComponent(id)}`,
        { query: { count: 100 }, signal });
      const messages = h('div', { id: 'messages', 'aria-live': 'polite' });
      mount(chats, head, h('ul', { class: 'rooms' }, out.history.map((r) => h('li', {},
        h('button', { type: 'button', class: 'link', onClick: () => loadMessages(r, messages) },
          'Conversation of ', time(r.ts)),
        ' ', h('span', { class: r.open ? 'badge open' : 'badge' }, r.open ? 'open' : 'closed'),
        ` · ${r.msgs} message${r.msgs === 1 ? '' : 's'}`,
        r.closedAt ? [' · closed ', time(r.closedAt)] : null))), messages);
    } catch (e) {
      if (signal.aborted) return;
      const denied = e instanceof ApiError && (e.status === 403 || (e.body && e.body.error === 'error-not-allowed'));
      mount(chats, head, h('p', { class: denied ? 'denied' : 'error', id: 'chats-denied' },
        denied ? 'Access denied: your account may not see this visitor’s conversations.' : 'Could not load conversations: ' + errorText(e)));
    }
  }

  async function loadMessages(room, box) {
    mount(box, h('p', { role: 'status' }, 'Loading messages…'));
    try {
      const out = await api(`livechat/${encodeURIComponent(room._id)}/messages`, { query: { count: 100 }, signal });
      mount(box, h('h3', { tabindex: '-1', id: 'messages-h' }, 'Messages of the conversation of ', time(room.ts)),
        out.messages.length
          ? h('ol', { class: 'messages' }, out.messages.map((m) => h('li', {},
            h('span', { class: 'who' }, (m.u && (m.u.name || m.u.username)) || '?'), ' ', time(m.ts, 'time'),
            h('p', {}, m.msg))))
          : h('p', { class: 'empty' }, 'No messages.'));
      const hh = document.getElementById('messages-h');
      if (hh) hh.focus();
    } catch (e) {
      if (signal.aborted) return;
      mount(box, h('p', { class: 'error' }, 'Could not load messages: ' + errorText(e)));
    }
  }

  function renderTimeline() {
    if (!pages.length) {
      mount(navList, h('p', { class: 'empty' }, 'No pages visited yet.'));
    } else {
      const days = [];
      for (const p of pages) {
        const day = dayLabel(p.ts);
        if (!days.length || days[days.length - 1].day !== day) days.push({ day, items: [] });
        days[days.length - 1].items.push(p);
      }
      mount(navList, days.map((d) => h('section', { class: 'day' },
        h('h3', {}, d.day),
        h('ol', { class: 'timeline' }, d.items.map((p) => {
          const page = (p.navigation && p.navigation.page) || {};
          const href = page.location && page.location.href;
          const link = safeHref(href);
          let shown = href || '';
          if (link) {
            const u = new URL(link);
            shown = u.host + u.pathname + u.search;
          }
          return h('li', { class: p === pages[0] ? 'current' : null },
            h('span', { class: 'page-title' }, page.title || '(untitled)'),
            p === pages[0] ? h('span', { class: 'badge current' }, 'current page') : null,
            p.rid ? h('span', { class: 'badge' }, 'in a conversation') : null,
            h('br'),
            link
              ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, shown)
              : h('span', { class: 'url' }, shown),
            ' · ', time(p.ts, 'time'), ' ', h('span', { class: 'hint' }, '(' + relative(p.ts) + ')'));
        })))));
    }
    navStatus.textContent = total ? `${pages.length} of ${total} pages shown` : '';
    more.hidden = pages.length >= total;
  }

  async function loadPages(offset, count) {
    const out = await api('livechat/visitors.pagesVisited', {
      query: { visitorId: id, count, offset, sort: { ts: -1 } },
      signal,
    });
    total = out.total;
    return out.pages;
  }

  async function first() {
    try {
      pages = await loadPages(0, Math.min(100, Math.max(PAGE, pages.length)));
      renderTimeline();
    } catch (e) {
      if (signal.aborted) return;
      navStatus.textContent = e instanceof ApiError && e.status === 400 ? '' : 'Could not load navigation: ' + errorText(e);
      if (!pages.length) mount(navList, h('p', { class: 'empty' }, 'No navigation history.'));
    }
  }

  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      pages = pages.concat(await loadPages(pages.length, PAGE));
      renderTimeline();
    } catch (e) {
      if (!signal.aborted) navStatus.textContent = 'Could not load more: ' + errorText(e);
    } finally {
      more.disabled = false;
    }
  });
  refresh.addEventListener('click', first);
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') first();
  }, 15000);

  loadContact();
  first();
  return {
    leave() {
      clearInterval(timer);
      controller.abort();
    },
  };
}

// ---------------------------------------------------------------- users (admins)

const ROLES = ['admin', 'livechat-manager', 'livechat-monitor', 'livechat-agent', 'user'];

export function usersView(main) {
  document.title = 'Users — visitord console';
  const status = h('p', { role: 'status', class: 'status', id: 'users-status' }, 'Loading users…');
  const tbody = h('tbody');
  const body = h('div', {}, status);
  mount(main, heading('Users'), body);

  function roleBoxes(prefix, selected) {
    return h('fieldset', { class: 'roles' }, h('legend', {}, 'Roles'),
      ROLES.map((r) => h('span', { class: 'check' },
        h('input', { type: 'checkbox', id: `${prefix}-${r}`, value: r, checked: selected.includes(r) }),
        h('label', { for: `${prefix}-${r}` }, r))));
  }

  function checked(box) {
    return [...box.querySelectorAll('input[type=checkbox]')].filter((c) => c.checked).map((c) => c.value);
  }

  async function act(f, done) {
    try {
      await f();
      await load();
      status.textContent = done;
    } catch (e) {
      status.textContent = 'Failed: ' + errorText(e);
    }
  }

  function row(u, i) {
    const email = u.emails && u.emails[0] && u.emails[0].address;
    const roles = roleBoxes('roles-' + i, u.roles || []);
    const pass = h('input', { type: 'password', id: 'pass-' + i, autocomplete: 'new-password' });
    return h('tr', {},
      h('th', { scope: 'row' }, u.username),
      h('td', {}, u.name || '—'),
      h('td', {}, email || '—'),
      h('td', {}, u.active ? 'active' : 'deactivated'),
      h('td', {}, time(u.createdAt)),
      h('td', { class: 'actions' },
        h('details', {}, h('summary', {}, 'Manage ', h('span', { class: 'visually-hidden' }, u.username)),
          h('form', { onSubmit: (e) => { e.preventDefault(); act(() => api('users.update', { method: 'POST', body: { userId: u._id, data: { roles: checked(roles) } } }), `Roles of ${u.username} saved.`); } },
            roles, h('button', { type: 'submit' }, 'Save roles')),
          h('form', { onSubmit: (e) => { e.preventDefault(); act(() => api('users.update', { method: 'POST', body: { userId: u._id, data: { password: pass.value } } }), `Password of ${u.username} reset.`); } },
            h('label', { for: 'pass-' + i }, 'New password'), pass, h('button', { type: 'submit' }, 'Reset password')),
          h('p', {},
            h('button', { type: 'button', onClick: () => act(() => api('users.update', { method: 'POST', body: { userId: u._id, data: { active: !u.active } } }), `${u.username} ${u.active ? 'deactivated' : 'activated'}.`) },
              u.active ? 'Deactivate' : 'Activate'), ' ',
            h('button', { type: 'button', class: 'danger', onClick: () => { if (confirm(`Delete ${u.username}?`)) act(() => api('users.delete', { method: 'POST', body: { userId: u._id } }), `${u.username} deleted.`); } }, 'Delete')))));
  }

  async function load() {
    try {
      const out = await api('users.list', { query: { count: 100, sort: { username: 1 } } });
      mount(tbody, out.users.map(row));
      if (!body.querySelector('table')) {
        const nu = h('input', { id: 'new-username', required: true, autocomplete: 'off' });
        const np = h('input', { id: 'new-password', type: 'password', required: true, autocomplete: 'new-password' });
        const nn = h('input', { id: 'new-name', autocomplete: 'off' });
        const ne = h('input', { id: 'new-email', type: 'email', autocomplete: 'off' });
        const nr = roleBoxes('new-role', ['livechat-agent']);
        mount(body, status,
          h('div', { class: 'table-wrap' }, h('table', { class: 'users' }, h('caption', {}, 'Users of this visitord'),
            h('thead', {}, h('tr', {}, ['Username', 'Name', 'Email', 'State', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
            tbody)),
          h('section', { class: 'card', 'aria-labelledby': 'create-h' }, h('h2', { id: 'create-h' }, 'Create a user'),
            h('form', { id: 'create-user', onSubmit: (e) => {
              e.preventDefault();
              const data = { username: nu.value, password: np.value, roles: checked(nr) };
              if (nn.value) data.name = nn.value;
              if (ne.value) data.email = ne.value;
              act(() => api('users.create', { method: 'POST', body: data }), `${nu.value} created.`).then(() => { nu.value = ''; np.value = ''; nn.value = ''; ne.value = ''; });
            } },
            h('p', {}, h('label', { for: 'new-username' }, 'Username'), nu),
            h('p', {}, h('label', { for: 'new-password' }, 'Password'), np),
            h('p', {}, h('label', { for: 'new-name' }, 'Name'), nn),
            h('p', {}, h('label', { for: 'new-email' }, 'Email'), ne),
            nr, h('p', {}, h('button', { type: 'submit' }, 'Create user')))));
      }
      status.textContent = `${out.total} user${out.total === 1 ? '' : 's'}`;
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) {
        mount(body, h('div', { class: 'denied card', id: 'access-denied' },
          h('h2', {}, 'Access denied'),
          h('p', {}, 'Only administrators can manage users. Ask an admin for the role if you need it.')));
      } else {
        status.textContent = 'Could not load users: ' + errorText(e);
      }
    }
  }
  load();
  return {};
}

export function notFoundView(main) {
  document.title = 'Not found — visitord console';
  mount(main, heading('Not found'), h('p', {}, 'This console page does not exist. ', h('a', { href: '#/visitors' }, 'Go to visitors')));
  return {};
}

export { isAdmin, session };

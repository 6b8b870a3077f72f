// The console's start: the header, the hash router (#/login, #/visitors?…, #/visitors/ID,
// #/overview, #/users) and the session-expiry rule (any 401 → login with "Your session expired").

import { h, mount } from './dom.js';
import { api, session, clearSession, whenExpired, isAdmin } from './api.js';
import { loginView, visitorsView, visitorView, usersView, notFoundView } from './views.js';
import { overviewView } from './overview.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let current = null;
let currentName = '';
let expired = false;

function parse(hash) {
  const raw = hash.replace(/^#/, '') || '/visitors';
  const [path, q] = raw.split('?');
  const params = new URLSearchParams(q || '');
  const m = path.match(/^\/visitors\/([^/]+)$/);
  if (m) return { name: 'visitor', id: decodeURIComponent(m[1]), params };
  if (path === '/visitors' || path === '/' || path === '') return { name: 'visitors', params };
  if (path === '/login') return { name: 'login', params };
  if (path === '/users') return { name: 'users', params };
  if (path === '/overview') return { name: 'overview', params };
  return { name: 'notfound', params };
}

function header() {
  const s = session();
  if (!s) {
    mount(top, h('p', { class: 'brand' }, 'visitord'));
    return;
  }
  const link = (href, label, name) => h('li', {}, h('a', { href, 'aria-current': currentName === name ? 'page' : null }, label));
  mount(top,
    h('p', { class: 'brand' }, 'visitord'),
    h('nav', { 'aria-label': 'Console' }, h('ul', {},
      link('#/visitors', 'Visitors', 'visitors'),
      link('#/overview', 'Overview', 'overview'),
      isAdmin(s) ? link('#/users', 'Users', 'users') : null)),
    h('p', { class: 'who' }, 'Signed in as ', h('strong', {}, (s.me && s.me.username) || s.userId), ' ',
      h('button', { type: 'button', id: 'logout', onClick: logout }, 'Sign out')),
    h('p', { id: 'announce', class: 'visually-hidden', role: 'status', 'aria-live': 'polite' }));
}

async function logout() {
  try {
    await api('logout', { method: 'POST' });
  } catch (e) { /* signed out either way */ }
  clearSession();
  location.hash = '#/login';
}

function render() {
  const hash = location.hash;
  if (hash && !hash.startsWith('#/')) return; // in-page anchors (the skip link)
  const route = parse(hash);
  if (route.name !== 'login' && !session()) {
    location.replace('#/login');
    return;
  }
  if (route.name === 'login' && session()) {
    location.replace('#/visitors');
    return;
  }
  if (current && currentName === route.name && current.update && route.name === 'visitors') {
    current.update(route);
    return;
  }
  if (current && current.leave) current.leave();
  currentName = route.name;
  header();
  const views = {
    login: () => loginView(main, route, {
      expired,
      onLogin: () => {
        expired = false;
        location.hash = '#/visitors';
      },
    }),
    visitors: () => visitorsView(main, route),
    visitor: () => visitorView(main, route),
    users: () => usersView(main, route),
    overview: () => overviewView(main, route),
    notfound: () => notFoundView(main, route),
  };
  current = views[route.name]() || {};
  const target = current.focus || document.getElementById('view-title');
  if (target) target.focus();
}

whenExpired(() => {
  expired = true;
  if (current && current.leave) current.leave();
  current = null;
  currentName = '';
  location.hash = '#/login';
  if (parse(location.hash).name === 'login') render();
});

document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', render);
render();

// The agent console in a real browser: login, search as you type, paging, sort, the visitor
// page (contact, conversations, messages, navigation timeline), users, logout, expiry, a
// hostile visitor, the keyboard-only path and axe on every view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, call, login } from './helpers/server.mjs';
import { launch, watchedPage, axe, shot, cspViolations } from './helpers/browser.mjs';

const XSS = '<img src=x onerror=window.__x=1>';
let server;
let browser;
let admin;
let rich;
let hostile;

async function visitor(token, data) {
  const out = await call(server.url, 'POST', '/api/v1/livechat/visitor', { body: { visitor: { token, ...data } } });
  assert.equal(out.status, 200, JSON.stringify(out.body));
  return out.body.visitor;
}

async function visit(token, title, href, rid) {
  const out = await call(server.url, 'POST', '/api/v1/livechat/page.visited', {
    body: { token, rid, pageInfo: { change: 'url', title, location: { href } } },
  });
  assert.equal(out.status, 200, JSON.stringify(out.body));
}

async function room(token) {
  const out = await call(server.url, 'GET', `/api/v1/livechat/room?token=${token}`);
  assert.equal(out.status, 200, JSON.stringify(out.body));
  return out.body.room._id;
}

async function say(token, rid, msg) {
  const out = await call(server.url, 'POST', '/api/v1/livechat/message', { body: { token, rid, msg } });
  assert.equal(out.status, 200, JSON.stringify(out.body));
}

before(async () => {
  server = await startServer({
    VISITORD_LIVECHAT_CUSTOM_FIELDS: '[{id = "plan", label = "Subscription plan", scope = "visitor"}]',
  });
  admin = await login(server.url, 'admin', server.password);
  for (let i = 1; i <= 60; i++) {
    await visitor('seed-' + i, { name: 'Seed ' + String(i).padStart(2, '0'), email: `seed${i}@example.com` });
  }
  rich = await visitor('rich-token', {
    name: 'Rich Rita', email: 'rita@example.com', phone: '+44 20 7946 0000', department: 'sales',
    customFields: [{ key: 'plan', value: 'gold', overwrite: true }],
  });
  await visit('rich-token', 'Pricing', 'https://shop.example/pricing?x=1');
  await visit('rich-token', 'Checkout', 'https://shop.example/checkout');
  const closed = await room('rich-token');
  await say('rich-token', closed, 'Hello, is shipping free?');
  const c = await call(server.url, 'POST', '/api/v1/livechat/room.close', { body: { rid: closed, token: 'rich-token' } });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  const open = await room('rich-token');
  await say('rich-token', open, 'Back again: where is my order?');
  hostile = await visitor('xss-token', { name: XSS });
  await visit('xss-token', XSS, 'javascript:window.__y=1');
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function signIn(page, user, password, keep) {
  await page.goto(server.url + '/');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  if (keep) await page.getByLabel('Keep me signed in on this device').check();
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function sessionOf(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('visitord:session') || localStorage.getItem('visitord:session')));
}

test('login: wrong password, then the visitor list; search as you type; paging; sort; state in the URL', async () => {
  const page = await watchedPage(browser);
  await page.goto(server.url + '/');
  assert.equal(new URL(page.url()).pathname, '/console/');
  await page.getByRole('heading', { name: 'Sign in to visitord' }).waitFor();
  assert.deepEqual(await axe(page), [], 'axe: login');
  await shot(page, 'console-login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Wrong username or password.').waitFor();

  await page.getByLabel('Password').fill(server.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Visitors' }).waitFor();
  await page.getByText('62 visitors found').waitFor();
  const s = await sessionOf(page);
  assert.ok(await page.evaluate(() => sessionStorage.getItem('visitord:session')), 'sessionStorage by default');
  assert.equal(await page.evaluate(() => localStorage.getItem('visitord:session')), null);
  assert.ok(s.authToken);

  // as you type: no Enter
  const searches = [];
  page.on('request', (r) => { if (r.url().includes('visitors.search')) searches.push(r.url()); });
  await page.getByLabel('Search visitors').pressSequentially('seed 0', { delay: 20 });
  await page.getByText('9 visitors found').waitFor();
  assert.ok(searches.length <= 3, `debounced: ${searches.length} searches`);
  assert.match(page.url(), /#\/visitors\?term=seed\+0$/);
  assert.deepEqual(await axe(page), [], 'axe: list');

  // paging and sort (and the URL keeps them)
  await page.getByLabel('Search visitors').fill('seed');
  await page.getByText('60 visitors found').waitFor();
  await page.getByRole('button', { name: 'Name', exact: true }).click();
  await page.locator('th[aria-sort="ascending"]', { hasText: 'Name' }).waitFor();
  await page.locator('tbody tr').first().getByText('Seed 01').waitFor();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText('26–50 of 60').waitFor();
  await page.locator('tbody tr').first().getByText('Seed 26').waitFor();
  assert.equal(await page.locator('tbody tr').count(), 25);
  await page.reload();
  await page.getByText('26–50 of 60').waitFor();
  assert.equal(await page.getByLabel('Search visitors').inputValue(), 'seed');
  await page.goBack();
  await page.getByText('1–25 of 60').waitFor();
  await page.goForward();
  await page.getByText('26–50 of 60').waitFor();
  await page.getByRole('button', { name: 'Name', exact: true }).click();
  await page.locator('th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
  await page.locator('tbody tr').first().getByText('Seed 60').waitFor();
  // Created: newest first on the first click, oldest first on the second
  const byCreated = async (dir) => {
    const answered = page.waitForResponse((r) => r.url().includes('visitord.visitors.search')
      && decodeURIComponent(r.url()).includes(`sort={"ts":${dir}}`));
    await page.getByRole('button', { name: 'Created', exact: true }).click();
    await answered;
    await page.waitForFunction(() => !document.querySelector('[aria-busy]'));
    await page.locator(`th[aria-sort="${dir === 1 ? 'ascending' : 'descending'}"]`, { hasText: 'Created' }).waitFor();
    return page.locator('tbody tr td:nth-child(6) time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
  };
  const newest = await byCreated(-1);
  assert.equal(newest.length, 25);
  assert.deepEqual(newest, [...newest].sort().reverse());
  const oldest = await byCreated(1);
  assert.equal(oldest.length, 25);
  assert.deepEqual(oldest, [...oldest].sort());
  assert.ok(oldest[0] < newest[0], `${oldest[0]} before ${newest[0]}`);
  await page.locator('tbody tr').first().getByText('Seed 01').waitFor();
  await page.getByLabel('Search visitors').fill('nobody-at-all');
  await page.getByText('No visitors match “nobody-at-all”.').waitFor();
  await page.getByLabel('Search visitors').fill('');
  await page.getByText('62 visitors found').waitFor();
  await shot(page, 'console-visitors');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('visitor page: contact with custom field labels, conversations, messages, timeline newest first', async () => {
  const page = await watchedPage(browser);
  await signIn(page, 'admin', server.password);
  await page.getByLabel('Search visitors').fill('rita');
  await page.getByText('1 visitor found').waitFor();
  await page.getByRole('link', { name: 'Rich Rita' }).click();
  await page.getByRole('heading', { name: 'Rich Rita', level: 1 }).waitFor();
  const contact = page.locator('section', { has: page.getByRole('heading', { name: 'Contact' }) });
  await contact.getByText('Subscription plan').waitFor();
  await contact.getByText('gold').waitFor();
  await contact.getByText('rita@example.com').waitFor();
  await contact.getByText('+44 20 7946 0000').waitFor();
  await contact.getByText('sales').waitFor();
  const chats = page.locator('section', { has: page.getByRole('heading', { name: 'Conversations' }) });
  assert.equal(await chats.locator('li').count(), 2);
  await chats.getByText('open', { exact: true }).waitFor();
  await chats.getByText('closed', { exact: true }).waitFor();
  await chats.getByRole('button').last().click();
  await page.getByText('Hello, is shipping free?').waitFor();
  const titles = await page.locator('#timeline .page-title').allTextContents();
  assert.deepEqual(titles, ['Checkout', 'Pricing']);
  await page.locator('#timeline li.current').getByText('current page').waitFor();
  assert.equal(await page.getByRole('link', { name: 'shop.example/pricing?x=1' }).getAttribute('rel'), 'noopener noreferrer');
  assert.deepEqual(await axe(page), [], 'axe: visitor');
  await shot(page, 'console-visitor');
  await page.reload();
  await page.getByRole('heading', { name: 'Rich Rita', level: 1 }).waitFor();
  await page.getByRole('link', { name: '← Back to visitors' }).click();
  await page.getByText('1 visitor found').waitFor();
  assert.deepEqual(page.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('overview: totals, the 30-day chart and the most visited pages', async () => {
  const page = await watchedPage(browser);
  await signIn(page, 'admin', server.password);
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  await page.locator('#total-visitors', { hasText: '62' }).waitFor();
  assert.equal(await page.locator('svg.chart rect').count(), 60);
  const today = page.locator('svg.chart rect.bar-visitors').last();
  assert.match(await today.locator('title').textContent(), /: 62 new visitors$/);
  const top = await page.locator('#top-pages li').allTextContents();
  assert.ok(top.some((t) => t.startsWith('https://shop.example/pricing?x=1 — 1 visit')), top.join(' | '));
  assert.ok(top.some((t) => t.startsWith('javascript:window.__y=1')), 'a javascript: href is listed as text');
  assert.equal(await page.locator('#top-pages a[href^="javascript"]').count(), 0);
  assert.deepEqual(await axe(page), [], 'axe: overview');
  await shot(page, 'console-overview');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('a hostile visitor name, title and href show as text and never run', async () => {
  const page = await watchedPage(browser);
  await signIn(page, 'admin', server.password);
  await page.getByLabel('Search visitors').fill('onerror');
  await page.getByRole('link', { name: XSS }).click();
  await page.getByRole('heading', { name: XSS, level: 1 }).waitFor();
  await page.locator('#timeline .page-title', { hasText: XSS }).waitFor();
  await page.locator('#timeline .url', { hasText: 'javascript:window.__y=1' }).waitFor();
  assert.equal(await page.locator('#timeline a').count(), 0, 'a javascript: href is not a link');
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__x), undefined);
  assert.equal(await page.evaluate(() => window.__y), undefined);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('keyboard only: login, search, open a visitor, back', async () => {
  const page = await watchedPage(browser);
  await page.goto(server.url + '/console/');
  await page.getByRole('heading', { name: 'Sign in to visitord' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'login-user');
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type(server.password);
  await page.keyboard.press('Enter');
  await page.getByText('62 visitors found').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
  await page.keyboard.type('rita');
  await page.getByText('1 visitor found').waitFor();
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => !!document.activeElement.closest('tbody a'))) break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Rich Rita');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'visible focus');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Rich Rita', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'view-title');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'back');
  await page.keyboard.press('Enter');
  await page.getByText('1 visitor found').waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('users: an admin creates, changes, deactivates, resets and deletes; an agent is denied', async () => {
  const page = await watchedPage(browser);
  await signIn(page, 'admin', server.password);
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  await page.getByText('1 user', { exact: true }).waitFor();
  await page.getByLabel('Username', { exact: true }).fill('agent1');
  await page.getByLabel('Password', { exact: true }).fill('agent-password-1');
  await page.getByLabel('Name', { exact: true }).fill('Agent One');
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.getByText('agent1 created.').waitFor();
  await page.getByRole('rowheader', { name: 'agent1' }).waitFor();
  const manage = async () => {
    const r = page.locator('tr', { has: page.getByRole('rowheader', { name: 'agent1' }) });
    await r.locator('summary').click();
    return r;
  };
  const row = await manage();
  await row.getByLabel('livechat-manager').check();
  await row.getByRole('button', { name: 'Save roles' }).click();
  await page.getByText('Roles of agent1 saved.').waitFor();
  assert.deepEqual(await axe(page), [], 'axe: users');
  await shot(page, 'console-users');
  const list = await call(server.url, 'GET', '/api/v1/users.list', { auth: admin });
  const agent1 = list.body.users.find((u) => u.username === 'agent1');
  assert.deepEqual(agent1.roles.sort(), ['livechat-agent', 'livechat-manager']);

  // an agent (roles livechat-agent only) is denied users and conversations
  await call(server.url, 'POST', '/api/v1/users.create', {
    auth: admin, body: { username: 'agent2', password: 'agent-password-2', roles: ['livechat-agent'] },
  });
  const agentPage = await watchedPage(browser);
  await signIn(agentPage, 'agent2', 'agent-password-2');
  await agentPage.getByRole('heading', { name: 'Visitors' }).waitFor();
  assert.equal(await agentPage.getByRole('link', { name: 'Users' }).count(), 0);
  await agentPage.goto(server.url + '/console/#/users');
  await agentPage.getByRole('heading', { name: 'Access denied' }).waitFor();
  assert.deepEqual(await axe(agentPage), [], 'axe: access denied');
  await agentPage.goto(server.url + '/console/#/visitors/' + rich._id);
  await agentPage.getByText('Access denied: your account may not see this visitor’s conversations.').waitFor();
  await agentPage.locator('#timeline .page-title', { hasText: 'Checkout' }).waitFor();
  assert.deepEqual(agentPage.errors, []);
  await agentPage.context().close();

  await page.bringToFront();
  const row2 = await manage();
  await row2.getByLabel('New password').fill('new-password-1');
  await row2.getByRole('button', { name: 'Reset password' }).click();
  await page.getByText('Password of agent1 reset.').waitFor();
  assert.equal((await call(server.url, 'POST', '/api/v1/login', { body: { user: 'agent1', password: 'new-password-1' } })).status, 200);
  const row3 = await manage();
  await row3.getByRole('button', { name: 'Deactivate' }).click();
  await page.getByText('agent1 deactivated.').waitFor();
  await page.locator('tr', { has: page.getByRole('rowheader', { name: 'agent1' }) }).getByText('deactivated', { exact: true }).waitFor();
  const row4 = await manage();
  page.once('dialog', (d) => d.accept());
  await row4.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('agent1 deleted.').waitFor();
  assert.equal(await page.getByRole('rowheader', { name: 'agent1' }).count(), 0);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('logout revokes the token; an expired session returns to login with "Your session expired"', async () => {
  const page = await watchedPage(browser);
  await signIn(page, 'admin', server.password, true);
  await page.getByText('62 visitors found').waitFor();
  const s = await sessionOf(page);
  assert.ok(await page.evaluate(() => localStorage.getItem('visitord:session')), 'keep me signed in: localStorage');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to visitord' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('visitord:session')), null);
  const after = await call(server.url, 'GET', '/api/v1/me', { auth: s });
  assert.equal(after.status, 401);

  await signIn(page, 'admin', server.password);
  await page.getByText('62 visitors found').waitFor();
  const s2 = await sessionOf(page);
  // the token ends elsewhere (another tab's logout, the TTL): the next call is a 401
  assert.equal((await call(server.url, 'POST', '/api/v1/logout', { auth: s2 })).status, 200);
  await page.getByLabel('Search visitors').fill('rita');
  await page.getByText('Your session expired. Please sign in again.').waitFor();
  await page.getByRole('heading', { name: 'Sign in to visitord' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('visitord:session')), null);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// The tracker on the built-in demo (same origin), on a page of a second origin (CORS), refused
// from an origin that is not allowed, and behind Rocket.Chat's loader snippet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, call, login, until } from './helpers/server.mjs';
import { launch, watchedPage, axe, shot, cspViolations } from './helpers/browser.mjs';

let server;
let browser;
let admin;
let site;
let sitePort;
const pages = {};

/** A tiny static "customer site" on another port; pages are registered in `pages`. */
function startSite() {
  return new Promise((resolve) => {
    site = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      const body = pages[path];
      if (!body) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(body);
    });
    site.listen(0, '127.0.0.1', () => resolve(site.address().port));
  });
}

before(async () => {
  sitePort = await startSite();
  server = await startServer({ VISITORD_SERVER_CORS_ORIGINS: `["http://127.0.0.1:${sitePort}"]` });
  admin = await login(server.url, 'admin', server.password);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (site) site.close();
});

async function visitorByToken(token) {
  const out = await call(server.url, 'GET', `/api/v1/livechat/visitor/${token}`);
  return out.status === 200 ? out.body.visitor : null;
}

async function history(visitorId) {
  const out = await call(server.url, 'GET',
    `/api/v1/livechat/visitors.pagesVisited?visitorId=${visitorId}&count=100&sort=${encodeURIComponent('{"ts":1}')}`,
    { auth: admin });
  assert.equal(out.status, 200, JSON.stringify(out.body));
  return out.body.pages.map((p) => [new URL(p.navigation.page.location.href).pathname + new URL(p.navigation.page.location.href).search, p.navigation.page.title]);
}

test('the demo registers once and records SPA and full-page navigations', async () => {
  const page = await watchedPage(browser);
  let registers = 0;
  page.on('request', (r) => { if (r.url().endsWith('/api/v1/livechat/visitor') && r.method() === 'POST') registers++; });
  const first = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited'));
  await page.goto(server.url + '/livechat/demo/');
  await first;
  await page.locator('#visitor-id').filter({ hasNotText: 'not registered' }).waitFor();
  const token = await page.evaluate(() => localStorage.getItem('visitord:token'));
  assert.match(token, /^[0-9a-f]{64}$/);
  const visitorId = (await page.locator('#visitor-id').textContent()).trim();

  const spa = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited'));
  await page.getByRole('link', { name: 'Tools' }).click();
  await spa;
  const back = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited'));
  await page.goBack();
  await back;
  const real = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited'));
  await page.getByRole('link', { name: 'About us (a real page)' }).click();
  await real;
  assert.equal(await page.evaluate(() => localStorage.getItem('visitord:token')), token, 'same token after a page load');

  const entries = await until(async () => {
    const h = await history(visitorId);
    return h.length >= 4 && h;
  }, 'four history entries');
  assert.deepEqual(entries, [
    ['/livechat/demo/', 'Acme Garden — Home'],
    ['/livechat/demo/?page=tools', 'Acme Garden — Tools'],
    ['/livechat/demo/', 'Acme Garden — Home'],
    ['/livechat/demo/second.html', 'Acme Garden — About us'],
  ]);
  assert.equal(registers, 1, 'one registration for the token');

  // identify me
  await page.goto(server.url + '/livechat/demo/');
  await page.getByLabel('Name').fill('Demo Dana');
  await page.getByLabel('Email').fill('dana@example.com');
  await page.getByRole('button', { name: 'Identify me' }).click();
  await page.getByText('Thanks, you are now known to visitord.').waitFor();
  const v = await visitorByToken(token);
  assert.equal(v.name, 'Demo Dana');
  assert.deepEqual(v.visitorEmails, [{ address: 'dana@example.com' }]);
  assert.equal(v._id, visitorId);
  const link = await page.locator('#console-link').getAttribute('href');
  assert.equal(link, '/console/#/visitors/' + visitorId);

  assert.deepEqual(await axe(page), [], 'axe on the demo');
  await shot(page, 'demo');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, 'demo-phone');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

function embed(base, extra = '') {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop home</title>
${extra}<script async src="${base}/livechat/visitor.js" data-name="Cross Origin Carl"></script></head>
<body><main><h1>Shop</h1><a id="spa" href="#">Go to cart</a> <a id="real" href="/other.html">Other page</a></main>
<script>
document.getElementById('spa').addEventListener('click', function (e) { e.preventDefault(); history.pushState({}, '', '/cart?id=7'); document.title = 'Shop cart'; });
</script></body></html>`;
}

test('a page of a second origin feeds visitord through CORS', async () => {
  pages['/shop.html'] = embed(server.url);
  pages['/other.html'] = embed(server.url).replace('Shop home', 'Shop other');
  const page = await watchedPage(browser);
  const origin = `http://127.0.0.1:${sitePort}`;
  const first = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited') && r.request().method() === 'POST');
  await page.goto(origin + '/shop.html');
  const res = await first;
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['access-control-allow-origin'], origin);
  const token = await until(() => page.evaluate(() => window.visitord && window.visitord.getVisitorId() && localStorage.getItem('visitord:token')), 'registration');
  const spa = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited') && r.request().method() === 'POST');
  await page.click('#spa');
  await spa;
  const real = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited') && r.request().method() === 'POST');
  await page.click('#real');
  await real;
  const v = await visitorByToken(token);
  assert.equal(v.name, 'Cross Origin Carl');
  const entries = await until(async () => { const h = await history(v._id); return h.length >= 3 && h; }, 'three entries');
  assert.deepEqual(entries, [['/shop.html', 'Shop home'], ['/cart?id=7', 'Shop cart'], ['/other.html', 'Shop other']]);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('an origin that is not allowed stores nothing and the host page sees no error', async () => {
  pages['/blocked.html'] = embed(server.url);
  const page = await watchedPage(browser);
  // localhost is another origin than the allowed 127.0.0.1:<port>.
  const failed = page.waitForEvent('requestfailed', (r) => r.url().includes('/api/v1/livechat/'));
  await page.goto(`http://localhost:${sitePort}/blocked.html`);
  await failed;
  const token = await page.evaluate(() => localStorage.getItem('visitord:token'));
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.equal(await visitorByToken(token), null, 'no visitor stored');
  assert.equal(await page.evaluate(() => typeof window.visitord.registerGuest), 'function');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("Rocket.Chat's loader snippet is adopted: custom fields stored, widget-only calls harmless", async () => {
  const snippet = `<script>
(function(w, d, s, u) {
  w.RocketChat = function(c) { w.RocketChat._.push(c) }; w.RocketChat._ = []; w.RocketChat.url = u;
  var h = d.getElementsByTagName(s)[0], j = d.createElement(s);
  j.async = true; j.src = '${server.url}/livechat/visitor.js?_=201903270000';
  h.parentNode.insertBefore(j, h);
})(window, document, 'script', '${server.url}/livechat');
RocketChat(function () {
  this.setTheme({ color: 'red' });
  this.setCustomField('plan', 'pro');
  this.registerGuest({ name: 'Snippet Sam', email: 'sam@example.com' });
  this.maximizeWidget();
});
</script>`;
  pages['/rc.html'] = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>RC site</title></head><body><main><h1>RC</h1></main>${snippet}</body></html>`;
  const page = await watchedPage(browser);
  await page.goto(`http://127.0.0.1:${sitePort}/rc.html`);
  const token = await until(() => page.evaluate(() => window.visitord && window.visitord.getVisitorId() && localStorage.getItem('visitord:token')), 'registration');
  const v = await until(async () => { const x = await visitorByToken(token); return x && x.name === 'Snippet Sam' && x; }, 'the named visitor');
  assert.deepEqual(v.livechatData, { plan: 'pro' });
  assert.deepEqual(v.visitorEmails, [{ address: 'sam@example.com' }]);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('data-strip-query sends URLs without query and fragment; Global Privacy Control stops tracking', async () => {
  pages['/strip.html'] = embed(server.url).replace('data-name="Cross Origin Carl"', 'data-strip-query="true"');
  const page = await watchedPage(browser);
  const sent = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited') && r.request().method() === 'POST');
  await page.goto(`http://127.0.0.1:${sitePort}/strip.html?email=a@example.com#top`);
  const res = await sent;
  assert.equal(JSON.parse(res.request().postData()).pageInfo.location.href, `http://127.0.0.1:${sitePort}/strip.html`);
  await page.context().close();

  const gpc = await watchedPage(browser);
  await gpc.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  let calls = 0;
  gpc.on('request', (r) => { if (r.url().includes('/api/v1/livechat/')) calls++; });
  await gpc.goto(server.url + '/livechat/demo/');
  await gpc.getByText('off: your browser asks not to be tracked (Global Privacy Control)').waitFor();
  await gpc.getByRole('link', { name: 'Tools' }).click();
  await gpc.waitForTimeout(1300); // a negative check: the debounce and the poll have run
  assert.equal(calls, 0, 'nothing sent under GPC');
  assert.deepEqual(gpc.errors, []);
  await gpc.context().close();
});

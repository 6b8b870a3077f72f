// The tracker honours 429: after the server refuses a page visit it stops sending for a while
// instead of retrying or queueing, and the host page sees no error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers/server.mjs';
import { launch, watchedPage } from './helpers/browser.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({
    VISITORD_RATE_LIMIT_ENABLED: 'true',
    VISITORD_RATE_LIMIT_PAGE_VISITED_PER_TOKEN_PER_MIN: '2',
  });
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('a 429 pauses sending', async () => {
  const page = await watchedPage(browser);
  const statuses = [];
  page.on('response', (r) => { if (r.url().endsWith('/page.visited')) statuses.push(r.status()); });
  const first = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited'));
  await page.goto(server.url + '/livechat/demo/');
  await first;
  for (const name of ['Tools', 'Seeds']) {
    const next = page.waitForEvent('response', (r) => r.url().endsWith('/page.visited'));
    await page.getByRole('link', { name }).click();
    await next;
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  // paused: further navigations send nothing
  await page.getByRole('link', { name: 'Home' }).click();
  await page.getByRole('link', { name: 'Tools' }).click();
  await page.waitForTimeout(1500); // a negative check: the debounce (250 ms) and the poll (1 s) have run
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

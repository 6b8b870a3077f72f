// Drives a running visitord's agent side with Rocket.Chat's published clients:
// @rocket.chat/sdk (login/logout) and @rocket.chat/api-client (RestClient with X-User-Id /
// X-Auth-Token). Usage: node agent-clients.js http://127.0.0.1:PORT ADMIN_PASSWORD
'use strict';
const assert = require('node:assert/strict');
const Api = require('@rocket.chat/sdk/lib/api/api').default;
const { RestClient } = require('@rocket.chat/api-client');

async function main() {
  const [host, password] = process.argv.slice(2);
  let passed = 0;
  const ok = () => passed++;

  // Visitor side, to have something to look at.
  const visitors = new RestClient({ baseUrl: host });
  const token = 'ac-' + Math.random().toString(36).slice(2);
  const reg = await visitors.post('/v1/livechat/visitor', {
    visitor: { token, name: 'Zoë Müller', email: 'zoe@example.com', phone: '+49 30 1234 5678' },
  });
  assert.equal(reg.visitor.token, token); ok();
  const { room } = await visitors.get('/v1/livechat/room', { token });
  await visitors.post('/v1/livechat/page.visited', {
    token, rid: room._id, pageInfo: { change: 'url', title: 'Pricing', location: { href: 'https://example.com/pricing' } },
  });

  // Rocket.Chat's own test cases of the hardening: rooms, room.close, merges, page visits.
  const fails = (promise) => promise.then(
    (r) => { throw new Error(`expected a refusal, got ${JSON.stringify(r)}`); },
    async (r) => ({ status: r.status, body: await r.json() }),
  );
  assert.deepEqual(room.source, { type: 'api' }); ok();
  assert.deepEqual(await fails(visitors.get('/v1/livechat/room', { token, rid: 'clientChosenRid1' })),
    { status: 400, body: { success: false, error: 'invalid-room' } }); ok();
  const same = await visitors.get('/v1/livechat/room', { token, rid: room._id });
  assert.equal(same.room._id, room._id); assert.equal(same.newRoom, false); ok();
  const strangerToken = token + '-stranger';
  const stranger = await visitors.post('/v1/livechat/visitor', {
    visitor: { token: strangerToken, phone: '+49 30 1234 5678', email: 'ZOE@example.com' },
  });
  assert.notEqual(stranger.visitor._id, reg.visitor._id); ok();
  assert.equal(stranger.visitor.token, strangerToken); ok();
  assert.equal((await visitors.get(`/v1/livechat/visitor/${token}`)).visitor._id, reg.visitor._id); ok();
  assert.deepEqual(await fails(visitors.post('/v1/livechat/room.close', { token: strangerToken, rid: room._id })),
    { status: 400, body: { success: false, error: 'invalid-room' } }); ok();
  assert.deepEqual(await fails(visitors.post('/v1/livechat/room.close', { token: 'no-such-token', rid: room._id })),
    { status: 400, body: { success: false, error: 'invalid-token' } }); ok();
  // A stranger's page visit naming the room is kept room-less (checked below by the agent).
  await visitors.post('/v1/livechat/page.visited', {
    token: strangerToken, rid: room._id, pageInfo: { change: 'url', title: 'Spam', location: { href: 'https://spam.example/' } },
  });
  const many = (from, to) => Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: 'v', overwrite: true }));
  await visitors.post('/v1/livechat/visitor', { visitor: { token: strangerToken, customFields: many(0, 60) } });
  assert.deepEqual(await fails(visitors.post('/v1/livechat/visitor', { visitor: { token: strangerToken, customFields: many(60, 101) } })),
    { status: 400, body: { success: false, error: 'too many custom fields (max 100) [invalid-params]', errorType: 'invalid-params' } }); ok();

  // Agent login through the sdk.
  const api = new Api({ host });
  const login = await api.login({ username: 'admin', password });
  assert.ok(login.authToken); ok();
  assert.equal(login.me.username, 'admin'); ok();

  // Everything else through api-client with the sdk's credentials.
  const agent = new RestClient({
    baseUrl: host,
    credentials: { 'X-User-Id': login.userId, 'X-Auth-Token': login.authToken },
  });
  const me = await agent.get('/v1/me');
  assert.equal(me._id, login.userId); ok();
  const found = await agent.get('/v1/livechat/visitors.search', { term: 'MÜLLER', count: 10, sort: JSON.stringify({ ts: -1 }) });
  assert.equal(found.visitors[0]._id, reg.visitor._id); ok();
  assert.equal(found.visitors[0].token, undefined); ok();
  const info = await agent.get('/v1/livechat/visitors.info', { visitorId: reg.visitor._id });
  assert.equal(info.visitor.name, 'Zoë Müller'); ok();
  assert.equal(info.visitor.token, undefined); ok();
  const pages = await agent.get(`/v1/livechat/visitors.pagesVisited/${room._id}`);
  assert.equal(pages.total, 1); ok();
  assert.equal(pages.pages[0].navigation.token, undefined); ok();
  const history = await agent.get(`/v1/livechat/visitors.chatHistory/room/${room._id}/visitor/${reg.visitor._id}`);
  assert.equal(history.history[0]._id, room._id); ok();
  assert.deepEqual(history.history[0].source, { type: 'api' }); ok();
  const strangers = await agent.get('/v1/livechat/visitors.pagesVisited', { visitorId: stranger.visitor._id });
  assert.equal(strangers.total, 1); assert.equal(strangers.pages[0].rid, undefined); ok();
  // The room is closed by its visitor; a second close is room-closed.
  await visitors.post('/v1/livechat/room.close', { token, rid: room._id });
  assert.deepEqual(await fails(visitors.post('/v1/livechat/room.close', { token, rid: room._id })),
    { status: 400, body: { success: false, error: 'room-closed' } }); ok();
  const created = await agent.post('/v1/users.create', { username: 'ac-' + Date.now(), password: 'pw-12345678', roles: ['livechat-agent'] });
  assert.deepEqual(created.user.roles, ['livechat-agent']); ok();
  const removed = await agent.post('/v1/users.delete', { userId: created.user._id });
  assert.equal(removed.success, true); ok();
  // api-client rejects non-2xx responses with the Response itself.
  const denied = await new RestClient({ baseUrl: host }).get('/v1/me').catch((r) => r);
  assert.equal(denied.status, 401); ok();

  await api.logout();
  const after = await agent.get('/v1/me').catch((r) => r);
  assert.equal(after.status, 401); ok();
  console.log(`agent clients compat: ${passed} passed, 0 failed`);
}

main().catch(async (e) => {
  const detail = e && typeof e.text === 'function' ? `${e.status} ${await e.text()}` : e;
  console.error('agent clients compat failed:', detail);
  process.exit(1);
});

// Drives a running visitord with Rocket.Chat's published Livechat client
// (@rocket.chat/sdk LivechatClient) and checks what the client reads back.
// Usage: node sdk-livechat.js http://127.0.0.1:PORT   (run through ./run.sh)
'use strict';
const assert = require('node:assert/strict');
const LivechatClient = require('@rocket.chat/sdk/lib/clients/Livechat').default;

async function main() {
  const host = process.argv[2];
  const token = 'sdk-' + Math.random().toString(36).slice(2);
  const client = new LivechatClient({ host, protocol: 'ddp', useSsl: false });

  const visitor = await client.grantVisitor({
    visitor: {
      token,
      name: 'SDK Visitor',
      email: 'SDK@Example.com',
      phone: '+55 51 ' + String(Date.now()).slice(-8),
      customFields: [{ key: 'address', value: 'Rocket.Chat street', overwrite: true }],
    },
  });
  assert.equal(visitor.token, token);
  assert.equal(visitor.name, 'SDK Visitor');
  assert.deepEqual(visitor.visitorEmails, [{ address: 'sdk@example.com' }]);
  assert.deepEqual(visitor.livechatData, { address: 'Rocket.Chat street' });

  const again = await client.visitor();
  assert.equal(again.visitor._id, visitor._id);

  const room = await client.room();
  assert.equal(room.open, true);
  assert.equal(room.v._id, visitor._id);

  const nav = await client.sendVisitorNavigation({
    token,
    rid: room._id,
    pageInfo: { change: 'url', title: 'Pricing', location: { href: 'https://example.com/pricing' } },
  });
  assert.equal(nav.page.msg, 'Pricing - https://example.com/pricing');

  const sent = await client.sendMessage({ rid: room._id, msg: 'hello from the sdk' });
  assert.equal(sent.message.msg, 'hello from the sdk');

  const closed = await client.closeChat({ rid: room._id });
  assert.equal(closed.rid, room._id);

  const erased = await client.deleteVisitor();
  assert.equal(erased._id, visitor._id);
  console.log('sdk compat: 8 passed, 0 failed');
}

main().catch((e) => {
  console.error('sdk compat failed:', e);
  process.exit(1);
});

// The component in Node.js: signed webhooks parsed (Meta's shapes, from the test corpus),
// forged ones refused, a message sent through the Graph sandbox, egress enforced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { instantiateTenant, storeAccessToken, MemoryKv, Vault } from '../host.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// Our webhook corpus, and pywa's beside the repository when it is there.
const corpora = [join(root, 'tests', 'data', 'webhooks'), join(root, '..', 'shared', 'fixtures', 'pywa', 'updates')]
  .filter((d) => existsSync(d));
const APP_SECRET = 'node-app-secret';
const sign = (body) => 'sha256=' + createHmac('sha256', APP_SECRET).update(body).digest('hex');
const kv = new MemoryKv();
const vault = new Vault();

let sandbox, origin;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function waHost() {
  if (process.env.WA_HOST) return process.env.WA_HOST;
  for (const p of ['target/release/wa-host', 'target/debug/wa-host']) {
    if (existsSync(join(root, p))) return join(root, p);
  }
  throw new Error('build the host first (cargo build -p whatsapp-host) or set WA_HOST');
}

before(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  sandbox = spawn(waHost(), ['sandbox', '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try { await fetch(origin); return; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  throw new Error('the sandbox did not start');
});

after(() => sandbox?.kill());

const tenant = (settings = {}, allow = [origin]) => instantiateTenant({
  tenantId: 'acme', kv, vault, allow,
  settings: { 'phone-number-id': '106540352242922', 'graph-origin': origin,
    'app-secret': APP_SECRET, 'window-policy': 'off', ...settings },
});

test("every payload of the corpus is received: signature checked, events typed", async (t) => {
  const wa = await tenant();
  const files = corpora.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => join(d, f)));
  assert.ok(files.length > 10, `corpus files in ${corpora}`);
  let payloads = 0, events = 0;
  for (const file of files) {
    for (const [name, payload] of Object.entries(JSON.parse(readFileSync(file, 'utf8')))) {
      const body = new TextEncoder().encode(JSON.stringify(payload));
      const got = wa.webhooks.receive(body, sign(body));
      payloads += 1;
      if (payload.entry.length === 0) {
        assert.equal(got.length, 0, `${file}#${name}`);
        continue;
      }
      assert.ok(got.length >= 1, `${file}#${name} gave no event`);
      for (const e of got) {
        assert.ok(e.idempotencyKey.length > 0, `${file}#${name}`);
        assert.ok(payload.entry.some((en) => en.id === e.routing.wabaId), `${file}#${name}`);
      }
      events += got.length;
    }
  }
  assert.ok(payloads > 50, `${payloads} payloads`);
  t.diagnostic(`${payloads} payloads, ${events} events`);
});

test('a text message becomes a message event with its text', async () => {
  const wa = await tenant();
  const body = new TextEncoder().encode(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'W1', changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
    contacts: [{ profile: { name: 'Ana' }, wa_id: '15551234567' }],
    messages: [{ from: '15551234567', id: 'wamid.N1', timestamp: '1764072000', type: 'text', text: { body: 'hola' } }] } }] }] }));
  const [event] = wa.webhooks.receive(body, sign(body));
  assert.equal(event.body.tag, 'message');
  assert.deepEqual(event.body.val.content, { tag: 'text', val: 'hola' });
  assert.equal(event.contact.name, 'Ana');
  assert.equal(event.timestamp, 1764072000n);
});

test('a forged signature is refused with bad-signature', async () => {
  const wa = await tenant();
  const body = new TextEncoder().encode('{"object":"whatsapp_business_account","entry":[]}');
  assert.throws(() => wa.webhooks.receive(body, 'sha256=' + '0'.repeat(64)),
    (e) => e.payload?.kind === 'bad-signature');
  assert.throws(() => wa.webhooks.receive(body, undefined), (e) => e.payload?.kind === 'bad-signature');
});

test('a message goes out through the sandbox with the sealed token', async () => {
  await storeAccessToken({ kv, vault, tenantId: 'acme', token: 'sandbox-access-token' });
  const wa = await tenant();
  const sent = wa.messages.send({ to: '+15551234567',
    content: { tag: 'text', val: { body: 'Hello from Node.js', previewUrl: false } } });
  assert.match(sent.messageId, /^wamid\./);
  assert.equal(sent.waId, '15551234567');
});

test('a token sealed for another tenant does not open', async () => {
  const other = 'globex';
  kv.bucket(other, 'secrets').set('access-token', kv.bucket('acme', 'secrets').get('access-token'));
  const wa = await instantiateTenant({ tenantId: other, kv, vault, allow: [origin],
    settings: { 'phone-number-id': '106540352242922', 'graph-origin': origin, 'window-policy': 'off' } });
  assert.throws(() => wa.messages.send({ to: '+15551234567', content: { tag: 'text', val: { body: 'x', previewUrl: false } } }),
    (e) => e.payload?.kind === 'storage');
});

test('an origin outside the allow-list is egress-denied, nothing sent', async () => {
  await storeAccessToken({ kv, vault, tenantId: 'acme', token: 'sandbox-access-token' });
  const wa = await tenant({}, ['https://graph.facebook.com']);
  assert.throws(() => wa.messages.send({ to: '+15551234567', content: { tag: 'text', val: { body: 'x', previewUrl: false } } }),
    (e) => e.payload?.kind === 'egress-denied');
});

test('invalid input is a typed error naming the field', async () => {
  const wa = await tenant();
  assert.throws(() => wa.messages.send({ to: '+15551234567', content: { tag: 'text', val: { body: '', previewUrl: false } } }),
    (e) => e.payload?.kind === 'invalid-input' && e.payload.field.startsWith('content'));
});

// A JavaScript host for the WhatsApp component: the imports the component needs beyond
// WASI (key-value, config, crypto), one instance per tenant, and an egress allow-list
// in front of outgoing HTTP. WASI itself comes from @bytecodealliance/preview2-shim.
//
//   const wa = await instantiateTenant({ tenantId: 'acme', settings: {...},
//                                        allow: ['https://graph.facebook.com'], vault, kv });
//   await wa.messages.send({...});
import { readFile } from 'node:fs/promises';
import {
  constants, createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, hkdfSync, privateDecrypt, randomBytes,
} from 'node:crypto';
import { cli, clocks, http, io, random } from '@bytecodealliance/preview2-shim';
import { instantiate } from './gen/whatsapp.js';

const GEN = new URL('./gen/', import.meta.url);
const modules = new Map();
async function getCoreModule(name) {
  if (!modules.has(name)) modules.set(name, WebAssembly.compile(await readFile(new URL(name, GEN))));
  return modules.get(name);
}

/** Seals per tenant, with the reference host's envelope: version 1, key id, nonce,
 *  ChaCha20-Poly1305 under an HKDF-SHA256 key per tenant, the tenant in the AAD. */
export class Vault {
  #master;
  constructor(master = randomBytes(32)) {
    if (master.length !== 32) throw new Error('the master key must be 32 bytes');
    this.#master = Buffer.from(master);
    this.keyId = createHash('sha256').update('whatsapp-cloud-api key id\0').update(this.#master)
      .digest().subarray(0, 4);
  }
  #key(tenant) {
    return Buffer.from(hkdfSync('sha256', this.#master, 'whatsapp-cloud-api/tenant-key/v1', tenant, 32));
  }
  static #aad(tenant) { return Buffer.concat([Buffer.from('whatsapp-cloud-api/v1\0tenant\0'), Buffer.from(tenant)]); }
  seal(tenant, plaintext) {
    const nonce = randomBytes(12);
    const key = this.#key(tenant);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    c.setAAD(Vault.#aad(tenant), { plaintextLength: plaintext.length });
    const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    key.fill(0);
    return new Uint8Array(Buffer.concat([Buffer.from([1]), this.keyId, nonce, ct]));
  }
  /** The plaintext, or throws 'malformed' | 'unknown-key' | 'rejected' (the WIT open-error). */
  open(tenant, sealed) {
    const s = Buffer.from(sealed);
    if (s.length < 17 + 16 || s[0] !== 1) throw 'malformed';
    if (!s.subarray(1, 5).equals(this.keyId)) throw 'unknown-key';
    const key = this.#key(tenant);
    try {
      const d = createDecipheriv('chacha20-poly1305', key, s.subarray(5, 17), { authTagLength: 16 });
      d.setAAD(Vault.#aad(tenant), { plaintextLength: s.length - 33 });
      d.setAuthTag(s.subarray(s.length - 16));
      return new Uint8Array(Buffer.concat([d.update(s.subarray(17, s.length - 16)), d.final()]));
    } catch {
      throw 'rejected';
    } finally {
      key.fill(0);
    }
  }
}

/** Key-value storage: Map per tenant and bucket. Swap for your database. */
export class MemoryKv {
  #data = new Map();
  bucket(tenant, name) {
    const id = `${tenant}\0${name}`;
    if (!this.#data.has(id)) this.#data.set(id, new Map());
    return this.#data.get(id);
  }
}

function keyvalue(kv, tenant) {
  class Bucket {
    constructor(map) { this.map = map; }
    get(key) { return this.map.get(key); }
    set(key, value) { this.map.set(key, new Uint8Array(value)); }
    delete(key) { this.map.delete(key); }
    exists(key) { return this.map.has(key); }
    listKeys(cursor) {
      const keys = [...this.map.keys()].sort();
      const start = Number(cursor ?? 0n);
      const page = keys.slice(start, start + 1000);
      return { keys: page, cursor: start + 1000 < keys.length ? BigInt(start + 1000) : undefined };
    }
  }
  const store = { Bucket, open: (name) => new Bucket(kv.bucket(tenant, name)) };
  const atomics = {
    increment(bucket, key, delta) {
      const old = bucket.map.get(key);
      const value = (old ? BigInt(new TextDecoder().decode(old)) : 0n) + delta;
      bucket.map.set(key, new TextEncoder().encode(value.toString()));
      return value;
    },
  };
  return { store, atomics };
}

/** `wasi:http/outgoing-handler` behind an allow-list of origins (`scheme://host:port`). */
function egress(allow) {
  const allowed = new Set(allow.map((o) => new URL(o).origin));
  return {
    handle(request, options) {
      const scheme = request.scheme()?.tag === 'HTTPS' ? 'https' : 'http';
      const origin = new URL(`${scheme}://${request.authority()}`).origin;
      if (!allowed.has(origin)) throw { tag: 'HTTP-request-denied' };
      return http.outgoingHandler.handle(request, options);
    },
  };
}

/**
 * `whatsapp:cloud-api/pacing`, shared by every tenant instance of this process: each
 * number sends at most `MPS` messages a second (slots handed out in order), and a send
 * Meta throttled is tried again after 0.5 s, 1 s and 2 s. (The reference host also keeps
 * Meta's pair rate; see host/src/capabilities/throughput.rs.)
 */
const MPS = 80;
const nextSlot = new Map();
const pacing = {
  reserve(number, _recipient, ceiling) {
    const now = performance.now();
    const at = Math.max(now, nextSlot.get(number) ?? now);
    if (nextSlot.size > 10000) nextSlot.clear();
    // `ceiling` (when not 0): Meta's own limit for this number, e.g. 20 a second for a
    // number shared with the WhatsApp Business app.
    const mps = ceiling > 0 ? Math.min(MPS, ceiling) : MPS;
    nextSlot.set(number, at + 1000 / mps);
    return BigInt(Math.round((at - now) * 1e6));
  },
  retry: (attempt) => (attempt >= 1 && attempt <= 3 ? BigInt(5e8 * 2 ** (attempt - 1)) : undefined),
  // The messaging limit's count, in this process's memory (the reference host keeps it
  // in its database, shared by its hosts): `member` counted in `scope` (a WABA's id) for
  // `windowMs`, unless `limit` are counted; then when the earliest leaves (Unix ms).
  reach(scope, member, limit, windowMs) {
    const now = Date.now();
    const window = Number(windowMs);
    const reached = reachedBy.get(scope) ?? new Map();
    reachedBy.set(scope, reached);
    for (const [m, at] of reached) if (at <= now - window) reached.delete(m);
    if (reached.has(member) || reached.size < limit) {
      reached.set(member, now);
      return undefined;
    }
    return BigInt(Math.min(...reached.values()) + window);
  },
};
const reachedBy = new Map();

/**
 * `whatsapp:cloud-api/outbox`: this small host has no dispatcher to send what an outbox
 * would keep, so every call is refused as `not-configured` (the reference host keeps one).
 */
const noOutbox = () => {
  throw { tag: 'not-configured', val: 'this host keeps no outbox: use the reference host (wa-host)' };
};
const outbox = {
  enqueue: noOutbox,
  cancel: noOutbox,
  status: noOutbox,
  pause: noOutbox,
  resume: noOutbox,
  cancelCampaign: noOutbox,
  progress: noOutbox,
};

/**
 * A component instance bound to one tenant. `settings` are the wasi:config keys
 * (`phone-number-id`, `graph-origin`, `app-secret`, …); the tenant id is bound here and
 * no operation can name another.
 */
export async function instantiateTenant({ tenantId, settings = {}, allow = [], vault, kv }) {
  const config = Object.entries({ ...settings, 'tenant-id': tenantId });
  const { store, atomics } = keyvalue(kv, tenantId);
  // jco keys the imports by interface name without the version.
  const imports = {
    'wasi:cli/environment': cli.environment,
    'wasi:cli/exit': cli.exit,
    'wasi:cli/stderr': cli.stderr,
    'wasi:cli/stdin': cli.stdin,
    'wasi:cli/stdout': cli.stdout,
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stderr': cli.terminalStderr,
    'wasi:cli/terminal-stdin': cli.terminalStdin,
    'wasi:cli/terminal-stdout': cli.terminalStdout,
    'wasi:clocks/monotonic-clock': clocks.monotonicClock,
    'wasi:clocks/wall-clock': clocks.wallClock,
    'wasi:config/store': {
      get: (key) => config.find(([k]) => k === key)?.[1],
      getAll: () => config,
    },
    'wasi:http/outgoing-handler': egress(allow),
    'wasi:http/types': http.types,
    'wasi:io/error': io.error,
    'wasi:io/poll': io.poll,
    'wasi:io/streams': io.streams,
    'wasi:keyvalue/atomics': atomics,
    'wasi:keyvalue/store': store,
    'wasi:random/random': random.random,
    'whatsapp:cloud-api/pacing': pacing,
    'whatsapp:cloud-api/outbox': outbox,
    'whatsapp:cloud-api/crypto': {
      seal: (plaintext) => vault.seal(tenantId, plaintext),
      open: (sealed) => vault.open(tenantId, sealed),
      hmacSha256: (key, message) => new Uint8Array(createHmac('sha256', key).update(message).digest()),
      // WhatsApp Flows data exchange: RSA-OAEP-SHA256 for the AES key (the private key,
      // PKCS#8 DER, is opened here and never reaches the component), AES-128-GCM with a
      // 16-byte IV; the response's IV is the request's with every bit flipped.
      flowDecrypt: (sealedKey, encryptedAesKey, iv, data) => {
        const der = Buffer.from(vault.open(tenantId, sealedKey));
        let aesKey;
        try {
          const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
          aesKey = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(encryptedAesKey));
          const body = Buffer.from(data);
          const d = createDecipheriv('aes-128-gcm', aesKey, Buffer.from(iv));
          d.setAuthTag(body.subarray(body.length - 16));
          const plain = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
          return { data: new Uint8Array(plain), aesKey: new Uint8Array(aesKey) };
        } catch {
          throw 'rejected';
        } finally {
          der.fill(0);
        }
      },
      flowEncrypt: (aesKey, iv, data) => {
        if (aesKey.length !== 16 || iv.length !== 16) throw 'malformed';
        const flipped = Buffer.from(iv).map((b) => ~b & 0xff);
        const c = createCipheriv('aes-128-gcm', Buffer.from(aesKey), flipped);
        return new Uint8Array(Buffer.concat([c.update(Buffer.from(data)), c.final(), c.getAuthTag()]));
      },
    },
  };
  return instantiate(getCoreModule, imports);
}

/**
 * Store a tenant's access token: its component seals it into the tenant's storage
 * (`connection.set-access-token`); the credential generation.
 */
export async function storeAccessToken({ kv, vault, tenantId, token }) {
  const plugin = await instantiateTenant({ tenantId, vault, kv });
  return plugin.connection.setAccessToken(token);
}

// Talking to RHEL/Fedora Pythons, whose multiprocessing answers a bare challenge with raw
// HMAC-SHA256 (Red Hat patch 00169) instead of CPython's HMAC-MD5.
//
// examples/python/rhel_peer.py emulates that patch on any CPython, so this runs anywhere:
//   node examples/rhel-dialect.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AuthenticationError, connect, listen, pickleCodec } from 'mpwire';
import { defaultPython } from 'mpwire/bridge';

const here = dirname(fileURLToPath(import.meta.url));
const authkey = 'example-secret';
const python = await defaultPython();
const peer = (...args) => spawn(python.path, [join(here, 'python', 'rhel_peer.py'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });

// 1. A RHEL client → a Node listener: nothing to configure, the server recognises every dialect.
const listener = await listen(['127.0.0.1', 0], { authkey });
const client = peer('client', String(listener.address[1]), authkey);
const conn = await listener.accept({ timeout: 30_000 });
console.log(`RHEL client accepted, auth dialect: ${conn.authDialect}`);
console.log(`client sent: ${await conn.recv()}`);
conn.close();
await once(client, 'exit');
await listener.close();

// 2. Node → a RHEL listener. A bare 20-byte challenge looks the same from stock CPython ≤ 3.11 and
// from RHEL, so the client must be told: `dialect: 'rhel-sha256'`, or `'auto'` (try MD5, then
// reconnect once with SHA-256).
const server = peer('listener', authkey);
const [ready] = await once(createInterface({ input: server.stdout }), 'line'); // "READY <port>"
const address = /** @type {[string, number]} */ (['127.0.0.1', Number(String(ready).split(' ')[1])]);

try {
  await connect(address, { authkey }); // default dialect: 'legacy-md5'
} catch (e) {
  if (!(e instanceof AuthenticationError)) throw e;
  console.log(`default dialect: ${e.code}`);
}
for (const dialect of /** @type {const} */ (['rhel-sha256', 'auto'])) {
  const c = await connect(address, { authkey, dialect, codec: pickleCodec({ protocol: 2 }) }); // protocol 2: Python 2.7 too
  await c.send(`hello with dialect ${dialect}`);
  console.log(`dialect '${dialect}': connected as ${c.authDialect}, reply: ${await c.recv()}`);
  c.close();
}
server.kill();

// mpwire demo: a Node listener that every CPython on this machine talks to with the stock
// multiprocessing Client, each in its own handshake dialect; then Node as the client of a Python
// Listener. Run with `make demo`.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, listen } from 'mpwire';
import { findPythons } from 'mpwire/bridge';

const here = dirname(fileURLToPath(import.meta.url));
const authkey = 'demo-secret';
const pythons = await findPythons();
console.log(`found ${pythons.length} interpreters: ${pythons.map((p) => p.version).join(', ')}\n`);

const listener = await listen(['127.0.0.1', 0], { authkey });
const [host, port] = listener.address;
console.log(`Node listening on ${host}:${port}`);
const rows = [];
for (const py of pythons) {
  const child = spawn(py.path, [join(here, 'python', 'hello_client.py'), host, String(port), authkey], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const conn = await listener.accept({ timeout: 30_000 });
  const greeting = (await conn.recvBytes()).toString();
  await conn.sendBytes(Buffer.from(`welcome, ${greeting.split(' ').pop()} (you spoke ${conn.authDialect}/${conn.authDigest})`));
  await new Promise((r) => child.on('exit', r));
  conn.close();
  rows.push({ python: py.version, dialect: conn.authDialect, digest: conn.authDigest, received: greeting });
  process.stdout.write(`  ${out}`);
}
await listener.close();
console.table(rows);

// Node as the client of a stock Python Listener (the newest interpreter found).
const newest = pythons.at(-1);
if (newest) {
  const server = spawn(newest.path, ['-c', [
    'from multiprocessing.connection import Listener',
    "l = Listener(('127.0.0.1', 0), authkey=b'demo-secret')",
    "print(l.address[1], flush=True)",
    'c = l.accept()',
    "c.send_bytes(b'reversed: ' + c.recv_bytes()[::-1])",
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pyPort = Number(await new Promise((r) => server.stdout.once('data', (d) => r(String(d).trim()))));
  const conn = await connect(['127.0.0.1', pyPort], { authkey });
  await conn.sendBytes(Buffer.from('mpwire'));
  console.log(`\nPython ${newest.version} Listener answered: ${(await conn.recvBytes()).toString()} (dialect ${conn.authDialect})`);
  conn.close();
}

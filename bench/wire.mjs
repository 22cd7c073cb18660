// Wire benchmark: the same CPython client (3.11 by default; MPWIRE_BENCH_PYTHON=path to change)
// drives three servers in one run — mpwire's Listener, CPython's own Listener (same interpreter)
// and a lean hand-written Node framing server (raw socket baseline) — over Unix and TCP sockets.
// Prints times/rates and the ratios mpwire/CPython and mpwire/raw. `make bench` runs it.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EOFError, connect, listen } from '../dist/index.js';
import { pickPython } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLIENT = join(here, 'peers', 'wire_client.py');
const QUICK = process.env.MPWIRE_BENCH_QUICK === '1';
const REPEAT = QUICK ? 1 : 5;

// ---------------------------------------------------------------- servers

async function tsServer(address, authkey) {
  const listener = await listen(address, { authkey, backlog: 64 });
  void (async () => {
    for await (const conn of listener) {
      void (async () => {
        try {
          const mode = (await conn.recvBytes()).toString();
          if (mode === 'echo') {
            for (;;) await conn.sendBytes(await conn.recvBytes());
          } else {
            const n = Number(mode.split(' ')[1]);
            for (let i = 0; i < n; i++) await conn.recvBytes();
            await conn.sendBytes(Buffer.from('done'));
          }
        } catch (e) {
          if (!(e instanceof EOFError)) throw e;
        } finally {
          conn.close();
        }
      })();
    }
  })();
  return { address: listener.address, close: () => listener.close() };
}

/**
 * The leanest framing server: parse 4-byte headers by hand, echo with one write. No auth. Chunks
 * are collected and joined once per frame (joining on every chunk would be quadratic for 64 MiB).
 */
async function rawServer(address) {
  const server = net.createServer({ noDelay: true }, (sock) => {
    let chunks = [];
    let have = 0;
    let mode;
    let sink = 0;
    const onFrame = (frame) => {
      if (mode === undefined) {
        mode = frame.subarray(4).toString();
        if (mode.startsWith('sink')) sink = Number(mode.split(' ')[1]);
      } else if (mode === 'echo') sock.write(frame);
      else if (--sink === 0) sock.write(Buffer.from('00000004646f6e65', 'hex'));
    };
    sock.on('data', (chunk) => {
      chunks.push(chunk);
      have += chunk.length;
      for (;;) {
        if (have < 4) return;
        let buf = chunks.length === 1 ? chunks[0] : null;
        const head = buf ?? Buffer.concat(chunks, Math.min(have, 4));
        const n = head.readInt32BE(0);
        if (have < 4 + n) return;
        buf ??= Buffer.concat(chunks, have);
        onFrame(buf.subarray(0, 4 + n));
        const rest = buf.subarray(4 + n);
        chunks = rest.length ? [rest] : [];
        have = rest.length;
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise((r) => (Array.isArray(address) ? server.listen(address[1], address[0], r) : server.listen(address, r)));
  const a = server.address();
  return { address: typeof a === 'string' ? a : [a.address, a.port], close: () => new Promise((r) => server.close(r)) };
}

async function pyServer(py, address, authkey) {
  const [host, port] = Array.isArray(address) ? [address[0], String(address[1])] : [address, '-'];
  let actualPort = port;
  if (port === '0') {
    const s = net.createServer();
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    actualPort = String(s.address().port);
    await new Promise((r) => s.close(r));
  }
  const child = spawn(py.path, [CLIENT, host, actualPort, authkey ?? '-', 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  const addr = actualPort === '-' ? host : [host, Number(actualPort)];
  return {
    address: addr,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
    },
  };
}

// ---------------------------------------------------------------- client runs

// The client runs in its own process, asynchronously: the mpwire server shares this event loop.
async function runClient(py, address, authkey, args) {
  const [host, port] = Array.isArray(address) ? [address[0], String(address[1])] : [address, '-'];
  const { stdout: out } = await promisify(execFile)(py.path, [CLIENT, host, port, authkey ?? '-', ...args.map(String)], { encoding: 'utf8', timeout: 600_000 });
  const m = /RESULT (\S+)/.exec(out);
  if (!m) throw new Error(`no result: ${out}`);
  return Number(m[1]);
}

/** mpwire client against mpwire server: round trip time. */
async function tsRtt(address, size, n) {
  const conn = await connect(address);
  await conn.sendBytes(Buffer.from('echo'));
  const payload = Buffer.alloc(size, 120);
  for (let i = 0; i < 20; i++) {
    await conn.sendBytes(payload);
    await conn.recvBytes();
  }
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    await conn.sendBytes(payload);
    await conn.recvBytes();
  }
  const dt = Number(process.hrtime.bigint() - t) / 1e9 / n;
  conn.close();
  return dt;
}

// ---------------------------------------------------------------- main

// A wait that can never finish leaves Node with nothing to do, and it would exit silently: say so.
let finished = false;
process.on('beforeExit', () => {
  if (!finished) {
    console.error('bench/wire.mjs: stopped before finishing (a wait with nothing pending)');
    process.exitCode = 1;
  }
});

// A 3.11 that is not the system's (a build of our own, as the other benchmarks use), else the newest 3.x.
const py = await pickPython({ override: 'MPWIRE_BENCH_PYTHON', prefer: '3.11', preferIf: (p) => p.source !== 'path' });
const sizeName = (n) => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);
const workloads = [
  { kind: 'rtt', size: 64, n: QUICK ? 500 : 5000 },
  { kind: 'rtt', size: 32 * 1024, n: QUICK ? 20 : 60 },
  { kind: 'stream', size: 64, n: QUICK ? 20000 : 200000 },
  { kind: 'stream', size: 1024, n: QUICK ? 10000 : 100000 },
  { kind: 'stream', size: 1 << 20, n: QUICK ? 30 : 300 },
  { kind: 'stream', size: 64 << 20, n: QUICK ? 2 : 6 },
  { kind: 'connect', size: 0, n: QUICK ? 50 : 300 },
];
const AUTHKEY = 'bench-key';
console.log(`mpwire wire benchmark — client: CPython ${py.version} (${py.path}); node ${process.version}; best of ${REPEAT}`);
const rows = [];
for (const family of ['unix', 'tcp']) {
  const addr = () => (family === 'tcp' ? ['127.0.0.1', 0] : join(mkdtempSync(join(tmpdir(), 'mpwire-bench-')), 's'));
  for (const w of workloads) {
    const key = w.kind === 'connect' ? AUTHKEY : null;
    const args = w.kind === 'connect' ? ['connect', w.n] : [w.kind, w.size, w.n];
    const result = {};
    // All servers are up together and the runs are interleaved (round r runs every server once),
    // so a slow spell of this shared VM penalises every server alike; the best run of each counts.
    const servers = [];
    for (const [name, start] of [
      ['mpwire', () => tsServer(addr(), key)],
      ['cpython', () => pyServer(py, addr(), key)],
      ['raw', () => (key ? null : rawServer(addr()))],
    ]) {
      const server = await start();
      if (server) servers.push([name, server]);
    }
    for (let r = 0; r < REPEAT; r++) {
      for (const [name, server] of servers) {
        const t = await runClient(py, server.address, key, args);
        result[name] = Math.min(result[name] ?? Infinity, t);
      }
    }
    const ts = servers.find(([name]) => name === 'mpwire')?.[1];
    if (ts && w.kind === 'rtt') result.tsClient = await tsRtt(ts.address, w.size, w.n);
    for (const [, server] of servers) await server.close();
    rows.push({ family, ...w, ...result });
    const fmt = (t) => {
      if (t === undefined) return '—';
      if (w.kind === 'rtt') return `${(t * 1e6).toFixed(1)} µs`;
      if (w.kind === 'connect') return `${(1 / t).toFixed(0)} conn/s`;
      return `${((w.size * w.n) / t / 1e6).toFixed(1)} MB/s`;
    };
    // ratio > 1 means mpwire is better (faster): times are compared inversely
    const ratio = (other) => (result[other] === undefined ? '—' : `${(result[other] / result.mpwire).toFixed(2)}×`);
    const label = w.kind === 'connect' ? 'auth connect' : `${w.kind} ${sizeName(w.size)}`;
    console.log(
      `${family.padEnd(4)} ${label.padEnd(16)} mpwire ${fmt(result.mpwire).padStart(14)}  cpython ${fmt(result.cpython).padStart(14)}  raw ${fmt(result.raw).padStart(14)}  ` +
        `mpwire/cpython ${ratio('cpython').padStart(6)}  mpwire/raw ${ratio('raw').padStart(6)}` +
        (result.tsClient !== undefined ? `  (mpwire client↔server ${(result.tsClient * 1e6).toFixed(1)} µs)` : ''),
    );
  }
}
console.log('ratios: above 1× means mpwire is faster than the other server with the same CPython client');
finished = true;

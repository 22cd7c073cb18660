// Bridge benchmark, one run: a Node -> Python worker round trip through mpwire/bridge (the
// mpwire_child helper: multiprocessing Connection on an inherited socketpair, pickle) versus the
// python-shell style (JSON lines over the child's stdin/stdout), same interpreter, same handler.
// Sequential calls (latency) and 64 calls in flight (throughput), small and ~20 KB payloads.
// Run after `npx tsc -p tsconfig.build.json`: node bench/bridge/roundtrip.mjs
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnPython, defaultPython } from '../../dist/bridge/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.MPWIRE_BENCH_QUICK === '1';
const N = QUICK ? 1000 : 5000;
const INFLIGHT = 64;

const small = { a: 1, b: 'text', c: [1, 2, 3], d: 2.5 };
const medium = { rows: Array.from({ length: 500 }, (_, i) => ({ id: i, name: `row-${i}`, score: i / 7 })) };

function jsonLinesWorker(python) {
  const proc = spawn(python, [join(here, 'jsonlines_worker.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pending = new Map();
  let next = 0;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
  });
  return {
    call(name, ...args) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        proc.stdin.write(`${JSON.stringify({ id, name, args })}\n`);
      });
    },
    async close() {
      proc.stdin.end();
      await new Promise((r) => proc.once('close', r));
    },
  };
}

async function measure(call, payload, inflight) {
  for (let i = 0; i < 200; i++) await call('echo', payload); // warm-up
  const t0 = process.hrtime.bigint();
  if (inflight === 1) {
    for (let i = 0; i < N; i++) await call('echo', payload);
  } else {
    let sent = 0;
    const lane = async () => {
      while (sent < N) {
        sent++;
        await call('echo', payload);
      }
    };
    await Promise.all(Array.from({ length: inflight }, lane));
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return N / s;
}

const py = await defaultPython();
const helper = await spawnPython([join(here, 'helper_worker.py')], { python: py.path });
const lines = jsonLinesWorker(py.path);
console.log(`bridge round trips, CPython ${py.version}, ${N} calls per cell, one run`);
console.log('payload  in flight   mpwire bridge (calls/s)   JSON lines (calls/s)   ratio bridge/JSON');
for (const [pname, payload] of [
  ['small', small],
  ['20 KB', medium],
]) {
  for (const inflight of [1, INFLIGHT]) {
    const a = await measure((n, ...x) => helper.call(n, ...x), payload, inflight);
    const b = await measure((n, ...x) => lines.call(n, ...x), payload, inflight);
    console.log(`${pname.padEnd(8)} ${String(inflight).padStart(9)}   ${a.toFixed(0).padStart(23)}   ${b.toFixed(0).padStart(20)}   ${(a / b).toFixed(2).padStart(17)}`);
  }
}
await helper.close();
await lines.close();

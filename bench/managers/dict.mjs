// Managers benchmark: calls per second on a dict proxy (`__setitem__` + `__getitem__`) from Node
// (mpwire's ManagerClient) and from a CPython client (`SyncManager.connect()` + DictProxy), against
// the same CPython manager server in the same run. Node is measured sequentially (one call at a
// time, like the single-threaded Python client) and with 8 calls in flight (the connection pool).
//   node bench/managers/dict.mjs          (needs `npm run build`; MPWIRE_BENCH_PYTHON=path, MPWIRE_BENCH_N)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectManager } from '../../dist/managers/index.js';
import { pickPython, spawnLines } from '../common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SERVER = join(here, '..', '..', 'interop', 'managers', 'server.py');
const CLIENT = join(here, 'py_client.py');
const KEY = 'bench-key';
const N = Number(process.env.MPWIRE_BENCH_N ?? 5000);
const REPEAT = 3;

async function startServer(py) {
  return new Promise((resolve, reject) => {
    const child = spawnLines(py.path, [SERVER, 'tcp', '0', KEY], (line) => {
      if (line.startsWith('READY ')) resolve({ child, port: Number(line.split(' ')[2]) });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

async function pythonClient(py, port) {
  return new Promise((resolve, reject) => {
    let secs;
    const child = spawnLines(py.path, [CLIENT, String(port), KEY, String(N)], (line) => {
      if (line.startsWith('SECONDS ')) secs = Number(line.split(' ')[1]);
    });
    child.on('exit', (code) => (code === 0 && secs !== undefined ? resolve(secs) : reject(new Error(`python client exited ${code}`))));
  });
}

async function nodeSequential(m) {
  const d = await m.dict();
  await d.set('k', 0);
  await d.get('k');
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    await d.set('k', i);
    if ((await d.get('k')) !== i) throw new Error('wrong value');
  }
  const secs = (performance.now() - t0) / 1000;
  await d.release();
  return secs;
}

async function nodeConcurrent(m, width) {
  const d = await m.dict();
  await Promise.all(Array.from({ length: width }, (_, w) => d.set(`k${w}`, 0)));
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: width }, async (_, w) => {
      for (let i = w; i < N; i += width) {
        await d.set(`k${w}`, i);
        if ((await d.get(`k${w}`)) !== i) throw new Error('wrong value');
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await d.release();
  return secs;
}

const py = await pickPython({ override: 'MPWIRE_BENCH_PYTHON', prefer: '3.12' });
const { child, port } = await startServer(py);
const m = await connectManager(['127.0.0.1', port], { authkey: KEY, maxConnections: 8 });
const rate = (secs) => Math.round((2 * N) / secs);
const best = { py: Infinity, node: Infinity, node8: Infinity };
try {
  for (let r = 0; r < REPEAT; r++) {
    best.py = Math.min(best.py, await pythonClient(py, port));
    best.node = Math.min(best.node, await nodeSequential(m));
    best.node8 = Math.min(best.node8, await nodeConcurrent(m, 8));
  }
  console.log(`managers dict proxy benchmark: CPython ${py.version} server, ${2 * N} calls per run, best of ${REPEAT}`);
  console.log(`  CPython client (DictProxy, 1 thread)      ${rate(best.py).toString().padStart(8)} calls/s`);
  console.log(`  mpwire client, 1 call at a time            ${rate(best.node).toString().padStart(8)} calls/s  (${(best.py / best.node).toFixed(2)}x CPython)`);
  console.log(`  mpwire client, 8 in flight (pool of 8)     ${rate(best.node8).toString().padStart(8)} calls/s  (${(best.py / best.node8).toFixed(2)}x CPython)`);
} finally {
  await m.close();
  child.kill();
}

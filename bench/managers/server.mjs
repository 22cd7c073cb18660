// Manager-server benchmark: dict operations per second (`d['k'] = i; d['k']`, bench/managers/py_client.py)
// from 1 and from 8 CPython clients (`SyncManager.connect()` + DictProxy, one process each), against
// mpwire's TypeScript server (serveManager) and against CPython's own SyncManager server, in one run.
//   npm run build && node bench/managers/server.mjs   (MPWIRE_BENCH_PYTHON=path, MPWIRE_BENCH_N, MPWIRE_DIST=dir)
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.env.MPWIRE_DIST ?? join(here, '..', '..', 'dist'));
const { findPythons } = await import(pathToFileURL(join(dist, 'bridge', 'find-pythons.js')).href);
const { serveManager } = await import(pathToFileURL(join(dist, 'managers', 'index.js')).href);

const PY_SERVER = join(here, '..', '..', 'interop', 'managers', 'server.py');
const CLIENT = join(here, 'py_client.py');
const KEY = 'bench-key';
const N = Number(process.env.MPWIRE_BENCH_N ?? 3000);
const REPEAT = 3;

async function pickPython() {
  if (process.env.MPWIRE_BENCH_PYTHON) return { path: process.env.MPWIRE_BENCH_PYTHON, version: 'custom' };
  const all = await findPythons();
  return all.find((p) => p.version.startsWith('3.12.')) ?? all.filter((p) => p.versionTuple[0] === 3).at(-1);
}

function run(cmd, args, onLine) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return child;
}

function startPythonServer(py) {
  return new Promise((res, rej) => {
    const child = run(py.path, [PY_SERVER, 'tcp', '0', KEY], (line) => {
      if (line.startsWith('READY ')) res({ port: Number(line.split(' ')[2]), stop: () => child.kill() });
    });
    child.on('exit', (code) => rej(new Error(`server exited ${code}`)));
  });
}

async function startNodeServer() {
  const server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY });
  return { port: server.address[1], stop: () => server.close() };
}

function client(py, port) {
  return new Promise((res, rej) => {
    let seconds;
    const child = run(py.path, [CLIENT, String(port), KEY, String(N)], (line) => {
      if (line.startsWith('SECONDS ')) seconds = Number(line.slice(8));
    });
    child.on('exit', (code) => (code === 0 && seconds !== undefined ? res(seconds) : rej(new Error(`client exited ${code}`))));
  });
}

/** Operations per second of `clients` concurrent Python processes (each 2N operations). */
async function measure(py, port, clients) {
  let best = 0;
  for (let r = 0; r < REPEAT; r++) {
    const seconds = await Promise.all(Array.from({ length: clients }, () => client(py, port)));
    best = Math.max(best, (2 * N * clients) / Math.max(...seconds));
  }
  return best;
}

const py = await pickPython();
console.log(`Python ${py.version} clients, ${N} rounds (set + get) per client, best of ${REPEAT}`);
const rows = [];
for (const clients of [1, 8]) {
  const node = await startNodeServer();
  const nodeOps = await measure(py, node.port, clients);
  await node.stop();
  const pys = await startPythonServer(py);
  const pyOps = await measure(py, pys.port, clients);
  pys.stop();
  rows.push({ clients, node: Math.round(nodeOps), python: Math.round(pyOps), ratio: (nodeOps / pyOps).toFixed(2) });
}
console.log('clients | Node server ops/s | Python server ops/s | Node / Python');
for (const r of rows) console.log(`${String(r.clients).padStart(7)} | ${String(r.node).padStart(17)} | ${String(r.python).padStart(19)} | ${r.ratio.padStart(13)}`);

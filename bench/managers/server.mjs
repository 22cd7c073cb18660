// Manager-server benchmark: dict operations per second (`d['k'] = i; d['k']`, bench/managers/py_client.py)
// from 1 and from 8 CPython clients (`SyncManager.connect()` + DictProxy, one process each), against
// mpwire's TypeScript server (serveManager) and against CPython's own SyncManager server, in one run.
//   npm run build && node bench/managers/server.mjs   (MPWIRE_BENCH_PYTHON=path, MPWIRE_BENCH_N, MPWIRE_DIST=dir)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importDist, pickPython, spawnLines } from '../common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { serveManager } = await importDist('managers/index.js');

const PY_SERVER = join(here, '..', '..', 'interop', 'managers', 'server.py');
const CLIENT = join(here, 'py_client.py');
const KEY = 'bench-key';
const N = Number(process.env.MPWIRE_BENCH_N ?? 3000);
const REPEAT = 3;

function startPythonServer(py) {
  return new Promise((res, rej) => {
    const child = spawnLines(py.path, [PY_SERVER, 'tcp', '0', KEY], (line) => {
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
    const child = spawnLines(py.path, [CLIENT, String(port), KEY, String(N)], (line) => {
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

const py = await pickPython({ override: 'MPWIRE_BENCH_PYTHON', prefer: '3.12' });
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

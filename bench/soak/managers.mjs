// Soak: a TS manager server (serveManager, in this process) and a CPython manager server
// (BaseManager, interop/peers/load_peer.py) each under 16 concurrent clients for 30 s: 8 TS
// ManagerClients (in a child Node process) and 8 CPython client threads (2 processes × 4). Client c's
// k-th operation appends [c, k] to a shared list and then sets counters[c] = k + 1 (two round trips);
// afterwards every client's log entries must be exactly 0 … n-1 in order and its counter n.
//   npm run build && node bench/soak/managers.mjs
//   env: MPWIRE_SOAK_SECONDS (30), MPWIRE_SOAK_TS_CLIENTS (8), MPWIRE_SOAK_PY_PROCESSES (2),
//        MPWIRE_SOAK_PY_THREADS (4)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KEY, header, importDist, load, newestPython, peakRssMiB, python } from './common.mjs';

const SECONDS = Number(process.env.MPWIRE_SOAK_SECONDS ?? 30);
const TS_CLIENTS = Number(process.env.MPWIRE_SOAK_TS_CLIENTS ?? 8);
const PY_PROCESSES = Number(process.env.MPWIRE_SOAK_PY_PROCESSES ?? 2);
const PY_THREADS = Number(process.env.MPWIRE_SOAK_PY_THREADS ?? 4);
const PY_FIRST_ID = 100;

const { connectManager, serveManager, DictProxy, ListProxy, PyDict, PyList } = await importDist('managers/index.js');

async function shared(m) {
  return Promise.all([m.create('get_counters', [], undefined, { proxyType: DictProxy }), m.create('get_log', [], undefined, { proxyType: ListProxy })]);
}

if (process.argv[2] === '--ts-clients') {
  const port = Number(process.argv[3]);
  const deadline = Date.now() + SECONDS * 1000;
  const ops = await Promise.all(
    Array.from({ length: TS_CLIENTS }, async (_, c) => {
      const m = await connectManager(['127.0.0.1', port], { authkey: KEY });
      const [counters, log] = await shared(m);
      let n = 0;
      while (Date.now() < deadline) {
        await log.append([c, n]);
        await counters.set(String(c), n + 1);
        n++;
      }
      await m.close();
      return n;
    }),
  );
  process.send({ ops });
  process.exit(0);
}

async function soak(port) {
  const started = performance.now();
  const child = fork(fileURLToPath(import.meta.url), ['--ts-clients', String(port)], { stdio: 'inherit' });
  const tsOps = new Promise((r) => child.once('message', (m) => r(m.ops)));
  const pys = Array.from({ length: PY_PROCESSES }, (_, p) =>
    python(py, ['manager-clients', '127.0.0.1', String(port), KEY, String(PY_FIRST_ID + p * PY_THREADS), String(PY_THREADS), String(SECONDS)]),
  );
  const done = new Map((await tsOps).map((n, c) => [c, n]));
  for (const p of pys) {
    await p.exit;
    for (const l of p.lines) {
      if (l.startsWith('FAIL')) throw new Error(l);
      if (l.startsWith('OPS ')) {
        const [, c, n] = l.split(' ');
        done.set(Number(c), Number(n));
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  // Verify through a fresh client: nothing lost, nothing duplicated, in order per client.
  const m = await connectManager(['127.0.0.1', port], { authkey: KEY });
  const [counters, log] = await shared(m);
  const entries = await log.getValue();
  const seen = new Map();
  const problems = [];
  for (const [c, k] of entries) {
    const expected = seen.get(c) ?? 0;
    if (k !== expected) problems.push(`client ${c}: op ${k} logged when ${expected} was due`);
    seen.set(c, expected + 1);
  }
  let total = 0;
  let tsTotal = 0;
  for (const [c, n] of done) {
    if ((seen.get(c) ?? 0) !== n) problems.push(`client ${c}: ${seen.get(c) ?? 0} log entries for ${n} operations`);
    const counter = await counters.get(String(c));
    if (counter !== n) problems.push(`client ${c}: counter ${counter} for ${n} operations`);
    total += n;
    if (c < PY_FIRST_ID) tsTotal += n;
  }
  if (entries.length !== total) problems.push(`${entries.length} log entries for ${total} operations`);
  await m.close();
  return { total, tsTotal, pyTotal: total - tsTotal, seconds, problems, clients: done.size };
}

function report(name, r) {
  console.log(
    `${name}: ${r.clients} clients × ${SECONDS} s: ${r.total} operations (TS clients ${r.tsTotal}, CPython clients ${r.pyTotal}) = ` +
      `${Math.round(r.total / r.seconds)} ops/s, ${Math.round((2 * r.total) / r.seconds)} round trips/s; ` +
      `lost/duplicated/out of order: ${r.problems.length === 0 ? 'none' : r.problems.slice(0, 3).join('; ')}`,
  );
}

const py = await newestPython();
header(`managers: ${TS_CLIENTS + PY_PROCESSES * PY_THREADS} concurrent clients for ${SECONDS} s against each server`, py);
let ok = true;
{
  const counters = new PyDict();
  const log = new PyList();
  const server = await serveManager({
    address: ['127.0.0.1', 0],
    authkey: KEY,
    registry: { get_counters: () => counters, get_log: () => log },
  });
  const r = await soak(server.address[1]);
  report('TS server (serveManager)', r);
  console.log(`  server process peak RSS ${peakRssMiB()} MiB, load average ${load()}`);
  ok &&= r.problems.length === 0;
  await server.close();
}
{
  const server = python(py, ['manager-server', KEY]);
  const port = Number(await server.line('READY'));
  const r = await soak(port);
  report(`CPython ${py.version} server (BaseManager)`, r);
  console.log(`  load average ${load()}`);
  ok &&= r.problems.length === 0;
  server.child.kill();
}
console.log(ok ? 'RESULT ok' : 'RESULT FAILED');
process.exit(ok ? 0 : 1);

// mpwire managers demo: a Python `BaseManager` serves a job queue and a results dict; Node enqueues
// jobs, Python worker processes consume them, and Node collects the results with a progress bar.
// Everything is started and stopped here; exits 0. Run `npm run build` first (or `make demo`).
import cliProgress from 'cli-progress';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPythons } from 'mpwire/bridge';
import { DictProxy, QueueProxy, connectManager } from 'mpwire/managers';

const { SingleBar, Presets } = cliProgress;

const here = dirname(fileURLToPath(import.meta.url));
const AUTHKEY = 'manager-demo';
const JOBS = Number(process.env.DEMO_JOBS ?? 300);
const WORKERS = Number(process.env.DEMO_WORKERS ?? 3);
const ROUNDS = 2000;

function start(python, script, args) {
  const child = spawn(python, [join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.setEncoding('utf8');
  child.lines = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      child.lines.push(buf.slice(0, i));
      child.emit('line', buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  // The exit code, or the signal's name when a signal ended the process.
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return child;
}

/** The same computation as manager_worker.py, to check the results. */
function expected(job) {
  let h = Buffer.from(job.payload, 'utf8');
  for (let i = 0; i < job.rounds; i++) h = createHash('sha256').update(h).digest();
  return createHash('sha256').update(h).digest('hex').slice(0, 16);
}

const pythons = (await findPythons()).filter((p) => p.versionTuple[0] === 3);
const py = pythons.find((p) => p.version.startsWith('3.12.')) ?? pythons.at(-1);
if (!py) {
  console.error('no Python 3 interpreter found');
  process.exit(1);
}

const server = start(py.path, 'manager_server.py', [AUTHKEY]);
const ready = await new Promise((resolve, reject) => {
  server.on('line', (l) => l.startsWith('READY ') && resolve(l.split(' ')));
  server.exited.then((code) => reject(new Error(`manager exited with ${code}`)));
});
const address = [ready[1], Number(ready[2])];
console.log(`Python ${py.version} manager serving on ${address.join(':')}`);

const m = await connectManager(address, { authkey: AUTHKEY });
m.register('get_jobs', QueueProxy).register('get_results', DictProxy);
const jobs = await m.create('get_jobs');
const results = await m.create('get_results');

const workers = Array.from({ length: WORKERS }, (_, i) => start(py.path, 'manager_worker.py', [String(address[1]), AUTHKEY, `worker-${i + 1}`]));
console.log(`started ${WORKERS} Python workers; Node enqueues ${JOBS} jobs`);

const all = [];
for (let id = 0; id < JOBS; id++) {
  const job = { id, payload: `job-${id}`, rounds: ROUNDS };
  all.push(job);
  await jobs.put(job);
}
for (let i = 0; i < WORKERS; i++) await jobs.put(null);

// Progress output through cli-progress (redrawn in a terminal, a line every half second otherwise).
const progress = new SingleBar(
  { format: '  [{bar}] {value}/{total} results', barsize: 40, noTTYOutput: true, notTTYSchedule: 500, hideCursor: true },
  Presets.legacy,
);
progress.start(JOBS, 0);
// A worker that dies (crash, kill) leaves its jobs undone: stop waiting as soon as one exits with an
// error, or once every worker has exited without all the results in.
let failure;
workers.forEach((w, i) =>
  w.exited.then((code) => {
    if (code !== 0) failure ??= `worker-${i + 1} exited with ${code}`;
  }),
);
let allExited = false;
void Promise.all(workers.map((w) => w.exited)).then(() => {
  allExited = true;
});
for (;;) {
  // Read before the size: results are stored before a worker exits, so a size read after every
  // worker has exited is final.
  const exitedBefore = allExited;
  const n = await results.size();
  progress.update(n);
  if (n >= JOBS) break;
  if (failure || exitedBefore) {
    progress.stop();
    console.error(`demo FAILED: ${failure ?? 'every worker exited'} with ${n} of ${JOBS} results in`);
    for (const w of workers) w.kill();
    await m.shutdown().catch(() => undefined);
    server.kill();
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
progress.stop();

const codes = await Promise.all(workers.map((w) => w.exited));
for (const w of workers) for (const l of w.lines) console.log(`  ${l}`);

const collected = new Map(await results.items());
const perWorker = new Map();
let wrong = 0;
for (const job of all) {
  const r = collected.get(job.id);
  // Recomputing every digest in Node would take longer than the work itself: check a sample.
  if (!r || (job.id % 15 === 0 && r.digest !== expected(job))) wrong++;
  else perWorker.set(r.worker, (perWorker.get(r.worker) ?? 0) + 1);
}
console.log(`results: ${collected.size} collected, ${wrong} wrong (digests checked for every 15th job); per worker: ${[...perWorker].map(([k, v]) => `${k}=${v}`).join(', ')}`);

await m.shutdown();
const serverCode = await server.exited;
const ok = wrong === 0 && collected.size === JOBS && codes.every((c) => c === 0) && serverCode === 0;
console.log(ok ? 'demo finished: all jobs done, manager shut down' : 'demo FAILED');
process.exit(ok ? 0 : 1);

// A pool of Python worker processes driven from Node with `spawnPython`.
//
// Each worker is a Python process holding a real multiprocessing Connection to Node on an inherited
// socketpair; `examples/python/pool_worker.py` exposes functions with the stdlib-only helper
// `mpwire_child` (shipped with the package and put on the child's PYTHONPATH).
//
//   node examples/python-worker-pool.mjs [WORKERS]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnPython } from 'mpwire/bridge';

const here = dirname(fileURLToPath(import.meta.url));
const size = Number(process.argv[2] ?? 3);
if (!Number.isInteger(size) || size < 1) {
  console.error(`usage: node examples/python-worker-pool.mjs [WORKERS]  (WORKERS: a whole number from 1, default 3; got '${process.argv[2]}')`);
  process.exit(2);
}

/** A minimal pool: each worker takes the next task as soon as it is free. */
async function runPool(workers, tasks) {
  const results = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    workers.map(async (w) => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await w.call('count_primes', tasks[i]);
      }
    }),
  );
  return results;
}

const workers = await Promise.all(Array.from({ length: size }, () => spawnPython([join(here, 'python', 'pool_worker.py')])));
console.log(`started ${workers.length} Python ${workers[0]?.python.version} workers`);
try {
  const tasks = [10_000, 20_000, 30_000, 40_000, 50_000, 60_000];
  const counts = await runPool(workers, tasks);
  tasks.forEach((n, i) => console.log(`primes below ${n}: ${counts[i]}`));

  // A Python exception rejects the call with a RemoteError carrying the Python type.
  await workers[0]?.call('count_primes', -1).catch((e) => console.log(`count_primes(-1) raised ${e.type}: ${e.args[0]}`));
} finally {
  const exits = await Promise.all(workers.map((w) => w.close()));
  console.log(`workers exited: ${exits.map((e) => e.exitCode).join(', ')}`);
}

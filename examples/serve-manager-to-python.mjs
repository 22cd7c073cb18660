// Serve shared objects from Node to stock Python code with `serveManager`.
//
// Python processes connect with `BaseManager(address, authkey).connect()` exactly as they would to
// a Python manager. Here two Python workers (examples/python/manager_client.py) take jobs from a
// JS object and store results in a shared dict that Node reads directly.
//
//   node examples/serve-manager-to-python.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPython } from 'mpwire/bridge';
import { PyDict, pyError, serveManager } from 'mpwire/managers';

const here = dirname(fileURLToPath(import.meta.url));
const authkey = 'example-secret';

/** Any JS object can be served; Python calls its methods through a proxy. */
class JobBoard {
  pending = ['alpha', 'beta', 'gamma', 'delta'];
  posted = new Set(this.pending);
  /** Python: board.next() → the next job, or None when there are none left. */
  next() {
    return this.pending.shift() ?? null;
  }
  /** Python: board.check('alpha') → True for a job that was posted, a real KeyError for any other. */
  check(job) {
    if (!this.posted.has(job)) throw pyError('KeyError', job);
    return true;
  }
}

const board = new JobBoard();
const results = new PyDict(); // a dict as CPython's SyncManager serves it

const server = await serveManager({
  address: ['127.0.0.1', 0],
  authkey,
  registry: {
    get_board: { callable: () => board, exposed: ['next', 'check'] },
    get_results: () => results, // Python: register('get_results', proxytype=DictProxy)
  },
});
const [host, port] = /** @type {[string, number]} */ (server.address);
console.log(`serving a manager on ${host}:${port}`);

const python = await defaultPython();
const workers = ['w1', 'w2'].map((name) =>
  spawn(python.path, [join(here, 'python', 'manager_client.py'), String(port), authkey, name], { stdio: ['ignore', 'inherit', 'inherit'] }),
);
const codes = await Promise.all(workers.map(async (w) => (await once(w, 'exit'))[0]));
console.log(`workers exited with ${codes.join(', ')}`);

const done = [...results.toMap()].sort(([a], [b]) => String(a).localeCompare(String(b)));
for (const [job, result] of done) console.log(`${job} → ${result}`);
await server.close();

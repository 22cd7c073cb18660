// Reach the queues of a Python `multiprocessing.managers.BaseManager` from Node.
//
// The Python manager (examples/python/queue_manager.py) serves a `tasks` and a `results` queue, and
// a thread in it squares every task. Node puts tasks and takes results, with no Python sidecar.
//
//   node examples/python-manager-queue.mjs
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defaultPython } from 'mpwire/bridge';
import { QueueProxy, RemoteError, connectManager } from 'mpwire/managers';

const here = dirname(fileURLToPath(import.meta.url));
const authkey = 'example-secret';

const python = await defaultPython();
const server = spawn(python.path, [join(here, 'python', 'queue_manager.py'), authkey], { stdio: ['ignore', 'pipe', 'inherit'] });
const [ready] = await once(createInterface({ input: server.stdout }), 'line'); // "READY <port>"
const port = Number(String(ready).split(' ')[1]);

const m = await connectManager(['127.0.0.1', port], { authkey });
// The Python side did BaseManager.register('get_tasks', …): give those typeids a typed proxy.
m.register('get_tasks', QueueProxy).register('get_results', QueueProxy);
const tasks = /** @type {QueueProxy} */ (await m.create('get_tasks')); // TypeScript: m.create<QueueProxy>(…)
const results = /** @type {QueueProxy} */ (await m.create('get_results'));

for (const n of [3, 4, 5]) await tasks.put({ n });
for (let i = 0; i < 3; i++) {
  const { n, square, worker } = /** @type {{ n: number, square: number, worker: string }} */ (await results.get({ timeout: 10_000 }));
  console.log(`${n}² = ${square} (computed by ${worker})`);
}

// Python exceptions arrive as RemoteError with the Python type name.
try {
  await results.get({ block: false });
} catch (e) {
  if (!(e instanceof RemoteError)) throw e;
  console.log(`results.get() on an empty queue raised ${e.type}`);
}

await tasks.release();
await results.release();
await m.shutdown(); // only because this example owns the manager
console.log(`manager exited with ${(await once(server, 'exit'))[0]}`);

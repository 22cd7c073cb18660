// A Node server that stock Python `multiprocessing.connection.Client`s connect to.
//
// Node listens with an authkey; each Python client sends pickled jobs with `conn.send(...)` and
// gets pickled answers back from `conn.recv()`. Python needs nothing but the standard library.
//
//   node examples/server-for-python-clients.mjs
//
// The Python client (examples/python/job_client.py) is started here with the interpreter named
// by MPWIRE_PYTHON, or the newest CPython 3 that `findPythons()` finds.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen } from 'mpwire';
import { defaultPython } from 'mpwire/bridge';

const here = dirname(fileURLToPath(import.meta.url));
const authkey = 'example-secret';

const listener = await listen(['127.0.0.1', 0], { authkey });
const [host, port] = /** @type {[string, number]} */ (listener.address);
console.log(`listening on ${host}:${port}`);

const python = await defaultPython();
const client = spawn(python.path, [join(here, 'python', 'job_client.py'), host, String(port), authkey], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
const exited = new Promise((resolve) => client.on('exit', resolve));

// One client here; a real server would keep accepting: `for await (const conn of listener) …`.
const conn = await listener.accept({ timeout: 30_000 });
console.log(`Python ${python.version} connected (auth dialect: ${conn.authDialect})`);
for await (const job of conn) {
  // A Python dict arrives as a plain object, a tuple as an Array, bytes as a Buffer.
  if (job === null) break;
  const { op, args } = /** @type {{ op: string, args: number[] }} */ (job);
  const result = op === 'sum' ? args.reduce((a, b) => a + b, 0) : Math.max(...args);
  console.log(`job ${op}(${args.join(', ')}) = ${result}`);
  await conn.send({ op, result });
}
conn.close();
await listener.close();
console.log(`client exited with ${await exited}`);

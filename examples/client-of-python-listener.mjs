// Node as the client of a stock Python `multiprocessing.connection.Listener`.
//
//   node examples/client-of-python-listener.mjs
//
// The Python listener (examples/python/job_listener.py) is started here with the interpreter named
// by MPWIRE_PYTHON, or the newest CPython 3 that `findPythons()` finds. Against your own server,
// only the `connect` call matters.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from 'mpwire';
import { defaultPython } from 'mpwire/bridge';
import { pickleCodec, tuple } from 'mpwire/pickle';

const here = dirname(fileURLToPath(import.meta.url));
const authkey = 'example-secret';

const python = await defaultPython();
const server = spawn(python.path, [join(here, 'python', 'job_listener.py'), authkey], { stdio: ['ignore', 'pipe', 'inherit'] });
const lines = createInterface({ input: server.stdout });
const [ready] = await once(lines, 'line'); // "READY <port>"
const port = Number(String(ready).split(' ')[1]);
lines.on('line', (line) => console.log(`[python] ${line}`));

// `dialect: 'auto'` also reaches RHEL/Fedora builds (see rhel-dialect.mjs); the default suits stock CPython.
// Node speaks first here, before it knows the peer's pickle protocol: it sends protocol 4 (Python
// 3.4+) unless told otherwise. Python 2.7 reads protocols 0-2 only.
const codec = python.versionTuple?.[0] === 2 ? pickleCodec({ protocol: 2 }) : undefined;
const conn = await connect(['127.0.0.1', port], { authkey, codec }); // TypeScript / Node 24: `await using conn = …`
console.log(`connected to Python ${python.version} (auth dialect: ${conn.authDialect})`);

await conn.send({ words: ['multiprocessing', 'from', 'node'] });
console.log('reply:', await conn.recv());

// A JS Array pickles as a Python list; `tuple(...)` from mpwire/pickle sends a real tuple.
await conn.send(tuple(1, 2, 3));
console.log('reply:', await conn.recv());

await conn.send(null); // tells the example listener to stop
conn.close();
console.log(`listener exited with ${(await once(server, 'exit'))[0]}`);

// mpwire/bridge demo: a Python worker behind a real multiprocessing Connection (no port, no file,
// no JSON glue). Run after `npx tsc -p tsconfig.build.json`: node examples/bridge-demo.mjs
// Needs Python 3 (bridge_worker.py uses the statistics module): the newest CPython 3 found, or
// MPWIRE_PYTHON; a Python 2 there is refused with a message.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPython, spawnPython } from 'mpwire/bridge';

const here = dirname(fileURLToPath(import.meta.url));
const python = await defaultPython();
if (python.versionTuple[0] < 3) {
  console.error(`bridge-demo needs Python 3 (bridge_worker.py uses the statistics module), not ${python.path} (${python.version}): set MPWIRE_PYTHON to a Python 3`);
  process.exit(1);
}
const child = await spawnPython([join(here, 'bridge_worker.py')], {
  python: python.path,
  handlers: { log: (line) => console.log(`[from python] ${line}`) },
});
console.log(`started ${child.python.path} (${child.python.version}), pid ${child.pid}`);

console.log(await child.call('describe', [3, 1, 4, 1, 5, 9, 2, 6]));
await child.call('fail').catch((e) => console.log(`RemoteError ${e.type}: ${e.args[0]}\n${e.traceback}`));

// Pipelined: 1,000 calls in flight at once over the one socketpair.
const t0 = Date.now();
await Promise.all(Array.from({ length: 1000 }, (_, i) => child.call('describe', [i, i + 1, i + 2])));
console.log(`1,000 pipelined calls in ${Date.now() - t0} ms`);

console.log('exit:', await child.close());

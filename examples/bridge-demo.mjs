// mpwire/bridge demo: a Python worker behind a real multiprocessing Connection (no port, no file,
// no JSON glue). Run after `npx tsc -p tsconfig.build.json`: node examples/bridge-demo.mjs
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnPython } from 'mpwire/bridge';

const here = dirname(fileURLToPath(import.meta.url));
const child = await spawnPython([join(here, 'bridge_worker.py')], {
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

// The TS manager client for bench/managers/callgrind.sh: N rounds of `d.set('k', i); d.get('k')`
// on a dict proxy of the manager at 127.0.0.1:$PORT, one call at a time.
//   PORT=p node callgrind-client.mjs DIST N
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2]);
const n = Number(process.argv[3]);
const { connectManager } = await import(pathToFileURL(join(dist, 'managers', 'index.js')).href);
const m = await connectManager(['127.0.0.1', Number(process.env.PORT)], { authkey: 'bench-key' });
const d = await m.dict();
for (let i = 0; i < n; i++) {
  await d.set('k', i);
  if ((await d.get('k')) !== i) throw new Error('wrong value');
}
await d.release();
await m.close();

// The TS manager server for bench/managers/callgrind.sh: prints "PORT n", serves until SIGTERM.
//   node callgrind-server.mjs DIST
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? join(import.meta.dirname ?? '.', '..', '..', 'dist'));
const { serveManager } = await import(pathToFileURL(join(dist, 'managers', 'index.js')).href);
const server = await serveManager({ address: ['127.0.0.1', 0], authkey: 'bench-key' });
console.log(`PORT ${server.address[1]}`);
process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});

// Helpers shared by the bench scripts (bench/**/*.mjs): loading the built package, choosing the
// CPython to measure with, and child processes whose stdout is read line by line.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(process.env.MPWIRE_DIST ?? join(ROOT, 'dist'));

/** Import a module of the built package (`dist/`, or MPWIRE_DIST=dir), e.g. `'managers/index.js'`. */
export function importDist(path) {
  return import(pathToFileURL(join(dist, path)).href);
}

/**
 * The CPython 3.x to run against. When the environment variable named by `override` is set, its
 * value is the interpreter's path; otherwise the first interpreter of series `prefer` (e.g. '3.12')
 * that was found and that `preferIf` accepts, else the newest 3.x. Throws when no CPython 3.x is found.
 */
export async function pickPython({ override, prefer, preferIf = () => true } = {}) {
  const custom = override ? process.env[override] : undefined;
  if (custom) return { path: custom, version: 'custom' };
  const { findPythons } = await importDist('bridge/find-pythons.js');
  // findPythons() lists interpreters oldest first.
  const all = (await findPythons()).filter((p) => p.versionTuple[0] === 3);
  const py = (prefer && all.find((p) => p.version.startsWith(`${prefer}.`) && preferIf(p))) || all.at(-1);
  if (!py) throw new Error('no CPython 3.x found');
  return py;
}

/**
 * Spawn `cmd` with unbuffered Python output and call `onLine` with each line it prints on stdout
 * (without the newline); stderr goes to ours. `stdin` is 'ignore' unless 'pipe' is asked for;
 * `env` adds to this process's environment. Returns the child process.
 */
export function spawnLines(cmd, args, onLine, { stdin = 'ignore', env = {} } = {}) {
  const child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'inherit'], env: { ...process.env, PYTHONUNBUFFERED: '1', ...env } });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
  return child;
}

// Shared helpers of the soak scripts (bench/soak/*.mjs): the built package, the newest CPython
// 3.x, Python peers with line-based output, descriptor/memory/load figures.
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, importDist, pickPython, spawnLines } from '../common.mjs';

export { importDist };
export const LOAD_PEER = join(ROOT, 'interop', 'peers', 'load_peer.py');
export const KEY = 'soak-key';
export const MIB = 1 << 20;

/** The newest CPython 3.x found (or MPWIRE_SOAK_PYTHON=path). */
export function newestPython() {
  return pickPython({ override: 'MPWIRE_SOAK_PYTHON' });
}

/**
 * Start a command whose stdout is line-based: `line(prefix)` resolves with the rest of the first
 * line starting with `prefix`; `lines` holds them all; `exit` resolves with the exit code.
 */
export function startLines(cmd, args, env = {}) {
  const lines = [];
  const waiters = [];
  const onLine = (l) => {
    lines.push(l);
    for (const w of [...waiters]) {
      if (l.startsWith(w.prefix)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l.slice(w.prefix.length).trim());
      }
    }
  };
  const child = spawnLines(cmd, args, onLine, { stdin: 'pipe', env });
  const exit = new Promise((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    lines,
    exit,
    line(prefix) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return Promise.resolve(found.slice(prefix.length).trim());
      return new Promise((res, rej) => {
        waiters.push({ prefix, resolve: res });
        void exit.then((code) => rej(new Error(`${cmd} ${args.join(' ')} exited (${code}) before "${prefix}": ${lines.slice(-5).join(' | ')}`)));
      });
    },
    send(text) {
      child.stdin.write(text);
    },
  };
}

export function python(py, args) {
  return startLines(py.path, [LOAD_PEER, ...args]);
}

export function fdCount() {
  return readdirSync('/proc/self/fd').length;
}

export function peakRssMiB() {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function rssMiB() {
  return Math.round(process.memoryUsage().rss / MIB);
}

export function load() {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function header(title, py) {
  console.log(`# ${title}`);
  console.log(`node ${process.version}, CPython ${py.version} (${py.path}), load average before: ${load()}`);
}

/**
 * Discovery of the CPython interpreters on this machine. One discovery serves the bridge, the CLI
 * and every test suite.
 * @module
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { WaitOptions } from '../wire/deadline.js';
import { SharedRun } from './shared-run.js';

/**
 * One interpreter found by {@link findPythons}.
 * @example
 * ```ts
 * for (const py of await findPythons()) console.log(py.version, py.implementation, py.path);
 * ```
 */
export interface PythonInfo {
  /** Absolute path of the executable. */
  readonly path: string;
  /** Exact version, e.g. `'3.12.1'`. */
  readonly version: string;
  /** `[major, minor, micro]`. */
  readonly versionTuple: readonly [number, number, number];
  /** `platform.python_implementation()`, e.g. `'CPython'`. */
  readonly implementation: string;
  /** Where it was found: `'env'`, `'pyenv'`, `'cache'` or `'path'`. */
  readonly source: 'env' | 'pyenv' | 'cache' | 'path';
}

/**
 * Options of {@link findPythons}. `signal` and `timeout` bound this call's wait: on abort or expiry
 * it rejects with `AbortError` or `TimeoutError`, and the interpreters still being probed are
 * killed unless another caller is waiting for the same (shared, cached) discovery.
 * @example
 * ```ts
 * const pythons = await findPythons({ refresh: true, timeout: 10_000, env: { ...process.env, MPWIRE_PYTHONS: '/opt/python3.13/bin/python3' } });
 * ```
 */
export interface FindPythonsOptions extends WaitOptions {
  /** Run the discovery again instead of returning the cached result. */
  refresh?: boolean;
  /** Environment to read `MPWIRE_PYTHONS`, `PYENV_ROOT`, `XDG_CACHE_HOME`, `PATH` from. */
  env?: NodeJS.ProcessEnv;
}

const PROBE =
  'import sys, platform; v = sys.version_info; sys.stdout.write("%d.%d.%d %s" % (v[0], v[1], v[2], platform.python_implementation()))';

/** Run one interpreter to learn its version; `running` holds the probe while it runs (to kill it). */
function probe(path: string, running: Set<ChildProcess>): Promise<{ version: string; implementation: string } | undefined> {
  return new Promise((resolve) => {
    const child = execFile(path, ['-c', PROBE], { timeout: 15_000, env: { ...process.env, PYENV_VERSION: '' } }, (err, stdout) => {
      running.delete(child);
      if (err) return resolve(undefined);
      const m = /^(\d+\.\d+\.\d+) (\S+)$/.exec(stdout.trim());
      resolve(m ? { version: m[1] as string, implementation: m[2] as string } : undefined);
    });
    running.add(child);
  });
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function candidates(env: NodeJS.ProcessEnv): Array<{ path: string; source: PythonInfo['source'] }> {
  const out: Array<{ path: string; source: PythonInfo['source'] }> = [];
  for (const p of (env.MPWIRE_PYTHONS ?? '').split(/[,\s]+|:/).filter(Boolean)) out.push({ path: p, source: 'env' });
  const pyenvRoot = env.PYENV_ROOT ?? join(env.HOME ?? homedir(), '.pyenv');
  for (const v of listDir(join(pyenvRoot, 'versions'))) {
    for (const exe of ['python3', 'python2', 'python']) {
      const p = join(pyenvRoot, 'versions', v, 'bin', exe);
      if (existsSync(p)) {
        out.push({ path: p, source: 'pyenv' });
        break;
      }
    }
  }
  const cache = join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache'), 'mpwire', 'cpython');
  for (const d of listDir(cache)) {
    const bin = join(cache, d, 'bin');
    const exe = listDir(bin).find((f) => /^python3\.\d+$/.test(f)) ?? (existsSync(join(bin, 'python3')) ? 'python3' : undefined);
    if (exe) out.push({ path: join(bin, exe), source: 'cache' });
  }
  const shimDir = join(pyenvRoot, 'shims');
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (dir === shimDir) continue; // pyenv's shims resolve to interpreters already listed above
    for (const exe of ['python3', 'python2', 'python']) {
      const p = join(dir, exe);
      if (existsSync(p)) out.push({ path: p, source: 'path' });
    }
  }
  return out;
}

function compareVersions(a: PythonInfo, b: PythonInfo): number {
  for (let i = 0; i < 3; i++) {
    const d = (a.versionTuple[i] ?? 0) - (b.versionTuple[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.path.localeCompare(b.path);
}

/** The discovery of `process.env`, shared and kept once it succeeded. */
const shared = new SharedRun('findPythons', (signal) => discover(process.env, signal));

/**
 * Every Python interpreter on the machine: `MPWIRE_PYTHONS` (a list of paths), pyenv's versions,
 * the interpreters provisioned under `${XDG_CACHE_HOME:-~/.cache}/mpwire/cpython/`, and
 * `python3`/`python2`/`python` on `PATH`. Each is run once to learn its exact version; duplicates
 * (same real file, or same version and implementation) are dropped. Sorted by version; cached
 * (unless `env` is given). With `signal`/`timeout`, rejects with `AbortError`/`TimeoutError` when
 * they fire first; an already-aborted signal starts no probe.
 * @example
 * ```ts
 * for (const py of await findPythons({ timeout: 30_000 })) console.log(py.version, py.path);
 * ```
 */
export function findPythons(options: FindPythonsOptions = {}): Promise<PythonInfo[]> {
  const wait: WaitOptions = { signal: options.signal, timeout: options.timeout };
  if (options.env) return new SharedRun('findPythons', (signal) => discover(options.env ?? process.env, signal)).get(wait);
  return shared.get(wait, options.refresh === true);
}

async function discover(env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<PythonInfo[]> {
  const seenReal = new Set<string>();
  const list: Array<{ path: string; source: PythonInfo['source'] }> = [];
  for (const c of candidates(env)) {
    let real: string;
    try {
      real = realpathSync(c.path);
    } catch {
      continue;
    }
    if (seenReal.has(real)) continue;
    seenReal.add(real);
    list.push(c);
  }
  // One abort listener for all the probes (one per probe would trip Node's listener-leak warning).
  const running = new Set<ChildProcess>();
  const stop = (): void => {
    for (const child of running) child.kill('SIGKILL');
  };
  signal.addEventListener('abort', stop, { once: true });
  const probed = await Promise.all(list.map(async (c) => ({ c, info: await probe(c.path, running) }))).finally(() =>
    signal.removeEventListener('abort', stop),
  );
  // Stopped: the killed probes look like broken interpreters; report nothing rather than a short list.
  signal.throwIfAborted();
  const byVersion = new Map<string, PythonInfo>();
  for (const { c, info } of probed) {
    if (!info) continue;
    const key = `${info.implementation} ${info.version}`;
    if (byVersion.has(key)) continue;
    const parts = info.version.split('.').map(Number);
    byVersion.set(key, {
      path: c.path,
      version: info.version,
      versionTuple: [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0],
      implementation: info.implementation,
      source: c.source,
    });
  }
  return [...byVersion.values()].sort(compareVersions);
}

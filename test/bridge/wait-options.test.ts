/**
 * `{ signal, timeout }` on the bridge's calls that wait (API.md): spawnPython until the child is
 * ready, findPythons' probes, and PythonChild.close's wait. Slow interpreters are stood in for by
 * shell scripts that record their pid and sleep, so each test can check what was killed.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPythons, spawnPython } from '../../src/bridge/index.js';
import { AbortError, TimeoutError } from '../../src/errors.js';
import { gone } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mpwire-wait-'));
let seq = 0;

/** A fake interpreter: writes its pid to a fresh file, waits `seconds`, then answers a probe as `version`. */
function fakePython(seconds: number, version = '3.99.0'): { path: string; pidFile: string } {
  const n = ++seq;
  const path = join(dir, `python-${n}`);
  const pidFile = join(dir, `pid-${n}`);
  // `exec sleep`: the pid written is the one that sleeps, so killing it ends the probe.
  const body =
    seconds > 0 && version === ''
      ? `echo $$ > ${pidFile}\nexec sleep ${seconds}\n`
      : `echo $$ > ${pidFile}\nsleep ${seconds}\nprintf '%s' '${version} CPython'\n`;
  writeFileSync(path, `#!/bin/sh\n${body}`);
  chmodSync(path, 0o755);
  return { path, pidFile };
}

/** Environment for findPythons that sees only `paths`. */
const only = (...paths: string[]): NodeJS.ProcessEnv => ({ MPWIRE_PYTHONS: paths.join(','), PATH: '', HOME: dir, XDG_CACHE_HOME: dir, PYENV_ROOT: dir });

/** The pid in `file` once it exists (or undefined after `ms`). */
async function pidIn(file: string, ms = 5000): Promise<number | undefined> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8').trim();
      if (text) return Number(text);
    }
  }
  return undefined;
}

/** Python that writes its pid, starts a grandchild in its group that writes its own, then sleeps. */
const sleeper = (pidFile: string, grandFile: string): string[] => [
  '-c',
  [
    'import os, subprocess, sys, time',
    `open(${JSON.stringify(pidFile)}, 'w').write(str(os.getpid()))`,
    `p = subprocess.Popen([sys.executable, '-c', 'import os, time; open(${JSON.stringify(grandFile).replace(/"/g, '\\"')}, "w").write(str(os.getpid())); time.sleep(60)'])`,
    'time.sleep(60)',
  ].join('\n'),
];

beforeAll(async () => {
  await findPythons(); // the shared discovery, so that timings below measure only what each test starts
});

afterAll(async () => {
  await findPythons({ refresh: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('spawnPython { signal, timeout }', () => {
  it('an already-aborted signal rejects with AbortError and starts nothing', async () => {
    const pidFile = join(dir, 'never-started');
    const reason = new Error('user cancelled');
    const e = (await spawnPython(['-c', `open(${JSON.stringify(pidFile)}, 'w').write('x')`], { signal: AbortSignal.abort(reason) }).catch(
      (x: unknown) => x,
    )) as AbortError;
    expect(e).toBeInstanceOf(AbortError);
    expect(e.cause).toBe(reason);
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(pidFile)).toBe(false);
  });

  it('timeout before the handshake ends kills the child and its process group, well before handshakeTimeout', async () => {
    const pidFile = join(dir, 'hs-child');
    const grandFile = join(dir, 'hs-grand');
    const started = Date.now();
    const e = (await spawnPython(sleeper(pidFile, grandFile), { authkey: 'k', timeout: 1500 }).catch((x: unknown) => x)) as TimeoutError;
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toBe('spawnPython timed out after 1500 ms');
    expect(Date.now() - started).toBeLessThan(8000); // not handshakeTimeout's 20 s
    const pid = await pidIn(pidFile, 100);
    expect(pid).toBeGreaterThan(0);
    expect(await gone(pid as number, 2000)).toBe(true);
    const grand = await pidIn(grandFile, 100);
    if (grand !== undefined) expect(await gone(grand, 2000)).toBe(true); // the whole group
  }, 20_000);

  it('an abort during the handshake rejects with AbortError and kills the child and its group', async () => {
    const pidFile = join(dir, 'abort-child');
    const grandFile = join(dir, 'abort-grand');
    const ac = new AbortController();
    const pending = spawnPython(sleeper(pidFile, grandFile), { authkey: 'k', signal: ac.signal }).catch((x: unknown) => x);
    const pid = await pidIn(pidFile);
    const grand = await pidIn(grandFile);
    expect(pid).toBeGreaterThan(0);
    expect(grand).toBeGreaterThan(0);
    const reason = new Error('stop');
    ac.abort(reason);
    const e = (await pending) as AbortError;
    expect(e).toBeInstanceOf(AbortError);
    expect(e.message).toBe('spawnPython aborted');
    expect(e.cause).toBe(reason);
    expect(await gone(pid as number, 2000)).toBe(true);
    expect(await gone(grand as number, 2000)).toBe(true);
  }, 20_000);

  it('timeout also bounds finding the interpreter: a hanging version probe is killed', async () => {
    const fake = fakePython(30, '');
    const started = Date.now();
    const e = (await spawnPython(['-c', 'pass'], { python: fake.path, timeout: 500 }).catch((x: unknown) => x)) as TimeoutError;
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toBe('spawnPython timed out after 500 ms');
    expect(Date.now() - started).toBeLessThan(5000); // not the probe's own 15 s
    const probe = await pidIn(fake.pidFile, 100);
    expect(probe).toBeGreaterThan(0);
    expect(await gone(probe as number, 2000)).toBe(true);
  }, 20_000);

  it('once the child is ready the signal and timeout no longer apply', async () => {
    const ac = new AbortController();
    await using child = await spawnPython(['-c', 'import mpwire_child; mpwire_child.serve({"up": lambda s: s.upper()})'], {
      authkey: 'k',
      signal: ac.signal,
      timeout: 5000,
    });
    ac.abort();
    expect(await child.call('up', 'still here')).toBe('STILL HERE');
  });

  it('close({ signal }): aborting stops waiting for a child that does not exit and kills it', async () => {
    const child = await spawnPython(['-c', 'import time; time.sleep(60)'], { killGrace: 200 });
    const ac = new AbortController();
    const closing = child.close({ timeout: Number.POSITIVE_INFINITY, signal: ac.signal });
    const first = await Promise.race([closing, new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    expect(first).toBe('waiting');
    ac.abort();
    expect(await closing).toEqual({ exitCode: null, signal: 'SIGTERM' });
    // Already aborted: kill without waiting at all.
    const other = await spawnPython(['-c', 'import time; time.sleep(60)'], { killGrace: 200 });
    expect(await other.close({ signal: AbortSignal.abort() })).toEqual({ exitCode: null, signal: 'SIGTERM' });
  }, 20_000);
});

describe('findPythons { signal, timeout }', () => {
  it('an already-aborted signal rejects with AbortError and probes nothing', async () => {
    const fake = fakePython(0);
    const e = await findPythons({ env: only(fake.path), signal: AbortSignal.abort() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(fake.pidFile)).toBe(false);
  });

  it('timeout stops the discovery and kills the probes still running', async () => {
    const fake = fakePython(30, '');
    const started = Date.now();
    const e = (await findPythons({ env: only(fake.path), timeout: 400 }).catch((x: unknown) => x)) as TimeoutError;
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toBe('findPythons timed out after 400 ms');
    expect(Date.now() - started).toBeLessThan(5000);
    const probe = await pidIn(fake.pidFile, 100);
    expect(probe).toBeGreaterThan(0);
    expect(await gone(probe as number, 2000)).toBe(true);
  });

  it('a shared discovery goes on while another caller waits for it; one nobody waits for is stopped and forgotten', async () => {
    const saved = process.env.MPWIRE_PYTHONS;
    const fake = fakePython(1, '3.99.1');
    process.env.MPWIRE_PYTHONS = fake.path;
    try {
      const patient = findPythons({ refresh: true });
      const ac = new AbortController();
      const hasty = findPythons({ signal: ac.signal }).catch((x: unknown) => x);
      ac.abort();
      expect(await hasty).toBeInstanceOf(AbortError);
      expect((await patient).map((p) => p.version)).toContain('3.99.1'); // not killed for the hasty caller

      const slow = fakePython(30, '');
      process.env.MPWIRE_PYTHONS = slow.path;
      const e = await findPythons({ refresh: true, timeout: 300 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TimeoutError);
      const probe = await pidIn(slow.pidFile, 100);
      expect(await gone(probe as number, 2000)).toBe(true);
      // The stopped discovery is not what the next caller gets.
      process.env.MPWIRE_PYTHONS = fake.path;
      expect((await findPythons()).map((p) => p.version)).toContain('3.99.1');
    } finally {
      if (saved === undefined) delete process.env.MPWIRE_PYTHONS;
      else process.env.MPWIRE_PYTHONS = saved;
    }
  }, 20_000);
});

/**
 * The bridge against every interpreter found: round trips through the raw stdlib Connection and
 * through `mpwire_child`, exceptions both ways, keyword arguments, 1,000 pipelined calls,
 * authentication of the socketpair, its start under `{ signal, timeout }`, a crash (exit code +
 * stderr tail) and kill().
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildExitError, spawnPython } from '../../src/bridge/index.js';
import { AbortError, RemoteError, TimeoutError } from '../../src/errors.js';
import { gone } from '../../test/bridge/helpers.js';
import { Matrix, atLeast, interpreters, label } from '../harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKER = join(HERE, 'worker.py');
const RAW = join(HERE, 'raw.py');
const found = await interpreters();
const matrix = new Matrix('bridge');

afterAll(() => {
  console.log(matrix.report(found));
});

describe.each(found.map((py) => [label(py), py] as const))('bridge on %s', (name, py) => {
  it('raw stdlib Connection on MPWIRE_FD: pickle round trip', async () => {
    await matrix.record(name, 'raw stdlib Connection', async () => {
      const child = await spawnPython([RAW], { python: py.path });
      const values = [1, 'héllo', [1, 2, 3], { a: 1, b: [true, null] }, 1.5, 2n ** 70n];
      for (const v of values) await child.conn.send(v);
      for (const v of values) expect(await child.conn.recv()).toEqual(['echo', v]);
      expect(await child.close()).toEqual({ exitCode: 0, signal: null });
    });
  });

  it('mpwire_child: round trips, kwargs, exceptions both ways, 1,000 pipelined calls, crash', async () => {
    const child = await spawnPython([WORKER], {
      python: py.path,
      handlers: {
        double: (x: number) => x * 2,
        fail: () => {
          throw new TypeError('bad type from node');
        },
        range: () => {
          throw new RangeError('out of range');
        },
      },
    });
    try {
      await matrix.record(name, 'round trips', async () => {
        const info = (await child.call('info')) as { version: string; highest: number };
        expect(info.version).toBe(py.version);
        for (const v of [0, -7, 'é✓', [1, [2, [3]]], { k: 'v', n: null }, 3.25, 2n ** 80n, true]) {
          expect(await child.call('echo', v)).toEqual(v);
        }
        expect(await child.call('add', 2, 3)).toBe(5);
        expect(await child.callWith('kw', [1], { kwargs: { c: 3 } })).toEqual([1, 0, 3]);
        // 3.14+ pickles at protocol 5 by default: the answers still arrive and decode.
        if (atLeast(py, 3, 14)) expect(info.highest).toBeGreaterThanOrEqual(5);
      });
      await matrix.record(name, 'Python exception -> RemoteError', async () => {
        const e = (await child.call('boom', 'kaputt').catch((x: unknown) => x)) as RemoteError;
        expect(e).toBeInstanceOf(RemoteError);
        expect(e.type).toBe('ValueError');
        expect(e.module).toBe('builtins');
        expect(e.args).toEqual(['kaputt', 42]);
        expect(e.traceback).toContain('raise ValueError');
        const c = (await child.call('custom').catch((x: unknown) => x)) as RemoteError;
        expect(c.type).toBe('Custom');
        expect(c.module).toBe('__main__');
        const missing = (await child.call('nope').catch((x: unknown) => x)) as RemoteError;
        expect(missing.type).toBe('NameError');
      });
      await matrix.record(name, 'Node exception -> Python exception', async () => {
        expect(await child.call('ask_node', 'double', 21)).toEqual(['ok', 42]);
        expect(await child.call('ask_node', 'fail')).toEqual(['raised', 'TypeError', 'bad type from node']);
        expect(await child.call('ask_node', 'range')).toEqual(['raised', 'ValueError', 'out of range']);
        expect(await child.call('ask_node', 'missing')).toEqual(['raised', 'NameError', "no handler named 'missing'"]);
        // 300 pipelined calls whose handlers each call back into Node: nesting stays bounded.
        const nested = await Promise.all(Array.from({ length: 300 }, (_, i) => child.call('ask_node', 'double', i)));
        expect(nested).toEqual(Array.from({ length: 300 }, (_, i) => ['ok', 2 * i]));
      });
      await matrix.record(name, '1,000 concurrent calls', async () => {
        const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => child.call<number>('add', i, i)));
        expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => 2 * i));
      });
      await matrix.record(name, 'crash -> ChildExitError', async () => {
        const crash = child.call('crash', 3);
        const pending = child.call('sleep', 30); // queued behind the crash: never answered
        const e = (await crash.catch((x: unknown) => x)) as ChildExitError;
        expect(e).toBeInstanceOf(ChildExitError);
        expect(e.exitCode).toBe(3);
        expect(e.stderrTail).toContain('fatal: giving up with 3');
        expect(e.message).toContain('exited with code 3: fatal: giving up with 3');
        // A call queued behind the crash rejects the same way.
        const e2 = await pending.catch((x: unknown) => x);
        expect(e2).toBeInstanceOf(ChildExitError);
        const e3 = await child.call('add', 1, 1).catch((x: unknown) => x);
        expect(e3).toBeInstanceOf(ChildExitError);
        expect(await child.exit).toEqual({ exitCode: 3, signal: null });
      });
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('signal and timeout bound the start: a child that never answers the challenge is killed on abort', async () => {
    await matrix.record(name, 'start under { signal, timeout }', async () => {
      // A generous timeout that the handshake beats: the child is ready, and stays usable afterwards.
      const ac = new AbortController();
      const child = await spawnPython([WORKER], { python: py.path, authkey: 'sekrit', timeout: 60_000, signal: ac.signal });
      ac.abort();
      expect(await child.call('add', 2, 3)).toBe(5);
      expect(await child.close()).toEqual({ exitCode: 0, signal: null });
      // A child that never reads the challenge: an abort mid-handshake rejects and reaps it.
      const pidFile = join(mkdtempSync(join(tmpdir(), 'mpwire-start-')), 'pid');
      const silent = ['-c', `import os, time; open(${JSON.stringify(pidFile)}, 'w').write(str(os.getpid())); time.sleep(60)`];
      const stop = new AbortController();
      const pending = spawnPython(silent, { python: py.path, authkey: 'sekrit', signal: stop.signal }).catch((x: unknown) => x);
      // Its pid comes from the file: the call has not resolved, so there is no child handle.
      let pid = 0;
      for (const until = Date.now() + 10_000; pid === 0 && Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
        pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
      }
      stop.abort();
      expect(await pending).toBeInstanceOf(AbortError);
      expect(pid).toBeGreaterThan(0);
      expect(await gone(pid, 2000)).toBe(true);
      const t = await spawnPython(silent, { python: py.path, authkey: 'sekrit', timeout: 300 }).catch((x: unknown) => x);
      expect(t).toBeInstanceOf(TimeoutError);
      rmSync(dirname(pidFile), { recursive: true, force: true });
    });
  });

  it('authkey on the socketpair, then kill() while a call is pending', async () => {
    await matrix.record(name, 'authkey + kill()', async () => {
      const child = await spawnPython([WORKER], { python: py.path, authkey: 'sekrit' });
      expect(child.conn.authDialect).toBe(atLeast(py, 3, 12) ? 'modern' : 'legacy-md5');
      expect(await child.call('add', 'a', 'b')).toBe('ab');
      const pending = child.call('sleep', 60);
      await new Promise((r) => setTimeout(r, 100));
      const exit = await child.kill();
      expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM' });
      const e = (await pending.catch((x: unknown) => x)) as ChildExitError;
      expect(e).toBeInstanceOf(ChildExitError);
      expect(e.signal).toBe('SIGTERM');
      expect(() => process.kill(child.pid, 0)).toThrow();
    });
  });
});

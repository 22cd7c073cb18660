import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChildExitError, childModuleDir, defaultPython, findPythons, spawnPython } from '../../src/bridge/index.js';
import { EOFError, MpwireError, TimeoutError } from '../../src/errors.js';
import { alive, gone, grandchildPid } from './helpers.js';

describe('spawnPython', () => {
  it('defaults to the newest CPython 3 and finds the helper module', async () => {
    const py = await defaultPython();
    const all = (await findPythons()).filter((p) => p.versionTuple[0] === 3);
    expect(py.version).toBe(all[all.length - 1]?.version);
    expect(childModuleDir()).toMatch(/python$/);
  });

  it('passes MPWIRE_FD, env and cwd; stdout is a stream', async () => {
    const cwd = mkdtempSync(`${tmpdir()}/mpwire-cwd-`);
    const child = await spawnPython(
      ['-c', 'import os, sys; from multiprocessing.connection import Connection; c = Connection(int(os.environ["MPWIRE_FD"])); c.send((os.environ["MPWIRE_FD"], os.environ["X"], os.getcwd())); print("out!")'],
      { env: { X: 'y' }, cwd },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    expect(await child.conn.recv()).toEqual(['3', 'y', realpathSync(cwd)]);
    await expect(child.conn.recv()).rejects.toBeInstanceOf(EOFError); // clean exit: a plain EOF
    expect(await child.exit).toEqual({ exitCode: 0, signal: null });
    expect(out).toBe('out!\n');
  });

  it('a crash rejects a pending recv with ChildExitError carrying the code and the traceback', async () => {
    const child = await spawnPython(['-c', 'import time; time.sleep(0.2); raise SystemExit("fatal: no more work")']);
    const e = (await child.conn.recv().catch((x: unknown) => x)) as ChildExitError;
    expect(e).toBeInstanceOf(ChildExitError);
    expect(e.exitCode).toBe(1);
    expect(e.stderrTail).toBe('fatal: no more work');
    expect(e.message).toBe(`python child ${child.pid} exited with code 1: fatal: no more work`);
    expect(e.code).toBe('MPWIRE_CHILD_EXIT');
  });

  it('an interpreter that does not exist fails with one clear error', async () => {
    const e = (await spawnPython(['-c', 'pass'], { python: '/nonexistent/python3' }).catch((x: unknown) => x)) as MpwireError;
    expect(e).toBeInstanceOf(MpwireError);
    expect(e.message).toMatch(/cannot (run|start) python|nonexistent/);
  });

  it('handshakeTimeout kills a child that never answers the challenge; an answered one disarms it', async () => {
    const pidFile = `${mkdtempSync(`${tmpdir()}/mpwire-hs-`)}/pid`;
    const started = Date.now();
    // Both at once: the silent child times out while the answering one must outlive its deadline.
    const [silent, answering] = await Promise.allSettled([
      spawnPython(['-c', `import os, time; open(${JSON.stringify(pidFile)}, 'w').write(str(os.getpid())); time.sleep(30)`], {
        authkey: 'k',
        handshakeTimeout: 1000,
      }),
      // A wider deadline for the one that answers, so a loaded CI machine does not make it miss.
      spawnPython(['-c', 'import mpwire_child; mpwire_child.serve({"up": lambda s: s.upper()})'], { authkey: 'k', handshakeTimeout: 2500 }),
    ]);
    if (answering.status === 'rejected') throw answering.reason;
    await using child = answering.value;
    expect(silent.status).toBe('rejected');
    const e = (silent as PromiseRejectedResult).reason as TimeoutError;
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.message).toBe('authentication handshake timed out after 1000 ms');
    expect(Date.now() - started).toBeLessThan(10_000); // not the 30 s the child sleeps
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' })); // killed and reaped
    // Past the answering child's deadline too: its timer must have been disarmed.
    await new Promise((r) => setTimeout(r, Math.max(0, 2800 - (Date.now() - started))));
    expect(await child.call('up', 'ok')).toBe('OK');
  }, 20_000);

  it('close() ends a serve() loop; asyncDispose works', async () => {
    await using child = await spawnPython(['-c', 'import mpwire_child; mpwire_child.serve({"up": lambda s: s.upper()})']);
    expect(await child.call('up', 'abc')).toBe('ABC');
    expect(await child.close()).toEqual({ exitCode: 0, signal: null });
  });

  it('killGrace: Infinity never escalates to SIGKILL, a negative grace escalates at once', async () => {
    const ignoreTerm = ['-c', 'import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); sys.stdout.write("ready\\n"); sys.stdout.flush(); time.sleep(30)'];
    const ready = (c: { stdout: NodeJS.ReadableStream | null }) => new Promise<void>((resolve) => c.stdout?.once('data', () => resolve()));
    for (const killGrace of [Number.POSITIVE_INFINITY, 2 ** 31]) {
      const child = await spawnPython(ignoreTerm, { killGrace });
      await ready(child);
      const first = await Promise.race([child.kill(), new Promise((r) => setTimeout(() => r('still running'), 300))]);
      expect(first, String(killGrace)).toBe('still running'); // the old setTimeout fired after ~1 ms
      expect(await child.kill('SIGKILL')).toEqual({ exitCode: null, signal: 'SIGKILL' });
    }
    const child = await spawnPython(ignoreTerm, { killGrace: -1 });
    await ready(child);
    expect(await child.kill()).toEqual({ exitCode: null, signal: 'SIGKILL' });
  });

  it('kill() reaches what the child left running in its process group after it exited', async () => {
    const child = await spawnPython([
      '-c',
      'import subprocess, sys; p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]); sys.stdout.write("GRAND %d\\n" % p.pid); sys.stdout.flush()',
    ]);
    const grand = await grandchildPid(child.stdout);
    expect(await child.exit).toEqual({ exitCode: 0, signal: null });
    expect(alive(grand)).toBe(true);
    expect(await child.kill()).toEqual({ exitCode: 0, signal: null });
    expect(await gone(grand, 2000)).toBe(true);
  });
});

describe('grandchildPid (test/bridge/helpers.ts, shared with interop/bridge)', () => {
  it('reads the GRAND line across chunks, and rejects instead of hanging when stdout ends without one', async () => {
    const split = new PassThrough();
    const pid = grandchildPid(split);
    split.write('noise\nGR');
    split.end('AND 4321\n');
    expect(await pid).toBe(4321);
    const silent = new PassThrough();
    const none = grandchildPid(silent);
    silent.end('no pid here\n');
    await expect(none).rejects.toThrow('without a GRAND line');
    await expect(grandchildPid(null)).rejects.toThrow('no stdout');
  });
});

import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ChildExitError, childModuleDir, defaultPython, findPythons, spawnPython } from '../../src/bridge/index.js';
import { EOFError, MpwireError } from '../../src/errors.js';

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

  it('close() ends a serve() loop; asyncDispose works', async () => {
    await using child = await spawnPython(['-c', 'import mpwire_child; mpwire_child.serve({"up": lambda s: s.upper()})']);
    expect(await child.call('up', 'abc')).toBe('ABC');
    expect(await child.close()).toEqual({ exitCode: 0, signal: null });
  });
});

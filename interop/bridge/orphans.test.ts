/**
 * No orphans: a Node parent (the compiled package, run as a subprocess) that exits normally, is
 * stopped by SIGTERM/SIGINT, or is SIGKILLed leaves no Python child behind; kill() takes the
 * child's own children with it.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnPython } from '../../src/bridge/index.js';
import { alive, gone, grandchildPid } from '../../test/bridge/helpers.js';
import { buildPackage } from '../cli/build.js';
import { interpreters } from '../harness.js';

const found = await interpreters();
const newest = found.filter((p) => p.versionTuple[0] === 3).pop()!;
let PKG = '';

beforeAll(() => {
  PKG = buildPackage();
}, 120_000);

/** A Node parent that spawns a Python child, prints "CHILD <pid>", then ends as `how` says. */
function parentScript(how: 'exit' | 'wait', helper: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'mpwire-orphans-'));
  const file = join(dir, 'parent.mjs');
  const py = helper ? 'import mpwire_child, time; mpwire_child.connect(); time.sleep(60)' : 'import time; time.sleep(60)';
  writeFileSync(
    file,
    `import { spawnPython } from ${JSON.stringify(join(PKG, 'dist/bridge/index.js'))};
const child = await spawnPython(['-c', ${JSON.stringify(py)}], { python: ${JSON.stringify(newest.path)} });
await new Promise((r) => setTimeout(r, 300));
process.stdout.write('CHILD ' + child.pid + '\\n');
${how === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
`,
  );
  return file;
}

async function startParent(how: 'exit' | 'wait', helper = false) {
  const proc = execa(process.execPath, [parentScript(how, helper)], { reject: false, buffer: false });
  const pid = await new Promise<number>((resolve, reject) => {
    let text = '';
    proc.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /CHILD (\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    void proc.then((r) => reject(new Error(`parent exited early: ${r.exitCode} ${String(r.stderr ?? '')}`)));
  });
  return { proc, pid };
}

describe('no orphans', () => {
  it('Node exits normally (process.exit): the child is killed', async () => {
    const { proc, pid } = await startParent('exit');
    await proc;
    expect(await gone(pid)).toBe(true);
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('Node is stopped by %s: the child is killed and Node still dies by the signal', async (signal) => {
    const { proc, pid } = await startParent('wait');
    expect(alive(pid)).toBe(true);
    proc.kill(signal);
    const r = await proc;
    expect(r.signal).toBe(signal);
    expect(await gone(pid)).toBe(true);
  });

  it('Node is SIGKILLed: a child using mpwire_child dies with it (PR_SET_PDEATHSIG)', async () => {
    const { proc, pid } = await startParent('wait', true);
    expect(alive(pid)).toBe(true);
    proc.kill('SIGKILL');
    await proc;
    expect(await gone(pid)).toBe(true);
  });

  it("kill() reaches the child's own children (process group)", async () => {
    const child = await spawnPython(
      ['-c', 'import subprocess, sys, time; p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]); sys.stdout.write("GRAND %d\\n" % p.pid); sys.stdout.flush(); time.sleep(60)'],
      { python: newest.path },
    );
    const grand = await grandchildPid(child.stdout);
    expect(alive(grand)).toBe(true);
    expect(await child.kill()).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(await gone(grand)).toBe(true);
  });

  it('kill() escalates to SIGKILL when the child ignores SIGTERM', async () => {
    const child = await spawnPython(['-c', 'import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); sys.stdout.write("ready\\n"); sys.stdout.flush(); time.sleep(60)'], {
      python: newest.path,
      killGrace: 300,
    });
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    expect(await child.kill()).toEqual({ exitCode: null, signal: 'SIGKILL' });
  });
});

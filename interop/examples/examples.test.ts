/**
 * The programs in examples/ run against real CPython, so they cannot rot: each one is started with
 * `node` (importing the built package by its name, as a user would) with the interpreter chosen by
 * MPWIRE_PYTHON, and its output is checked. The stdlib-only Python halves claim 2.7 support, so
 * they run with the oldest interpreter found too.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { findPythons } from '../../src/bridge/find-pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pythons = await findPythons();
const py3 = pythons.filter((p) => p.versionTuple[0] === 3 && p.implementation === 'CPython');
const newest = py3.at(-1);
const oldest = pythons[0];
/** The pids of the processes whose parent is `pid` (Linux /proc). */
function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        // The ppid is the 2nd field after the command, which sits in parentheses.
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const targets = [...new Map([oldest, newest].filter((p): p is PythonInfo => p !== undefined).map((p) => [p.path, p])).values()];

/** Start an example with `node` (MPWIRE_PYTHON set to `py` when given). */
function start(example: string, py: PythonInfo | undefined, env: Record<string, string> = {}, args: string[] = [], timeout = 90_000) {
  return execa(process.execPath, [join(root, 'examples', example), ...args], {
    cwd: root,
    env: { ...(py ? { MPWIRE_PYTHON: py.path } : {}), PYTHONDONTWRITEBYTECODE: '1', ...env },
    reject: false,
    timeout,
    all: true,
  });
}

/** Run an example to the end; its stdout, or an error with all its output unless it exits 0. */
async function run(example: string, py: PythonInfo | undefined, env: Record<string, string> = {}, args: string[] = []): Promise<string> {
  const r = await start(example, py, env, args);
  if (r.exitCode !== 0) throw new Error(`${example} exited with ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}:\n${r.all}`);
  return r.stdout;
}

describe.skipIf(!newest || !existsSync(join(root, 'dist', 'index.js')))('examples/ against real CPython', () => {
  describe.each(targets.map((py) => ({ py, v: py.version })))('with Python $v', ({ py }) => {
    it('server-for-python-clients.mjs: a Node Listener answers a stock Python Client', async () => {
      const out = await run('server-for-python-clients.mjs', py);
      expect(out).toMatch(/^listening on 127\.0\.0\.1:\d+$/m);
      expect(out).toContain(`Python ${py.version} connected`);
      expect(out).toContain('job sum(1, 2, 3) = 6');
      expect(out).toContain('job max(4, 9, 2) = 9');
      expect(out).toMatch(/python got \[\(u?'op', u?'max'\), \(u?'result', 9\)\]/);
      expect(out).toContain('client exited with 0');
    });

    it('client-of-python-listener.mjs: Node connects to a stock Python Listener', async () => {
      const out = await run('client-of-python-listener.mjs', py);
      expect(out).toContain(`connected to Python ${py.version}`);
      expect(out).toMatch(/^reply: \{ (joined: 'multiprocessing from node', count: 3|count: 3, joined: 'multiprocessing from node') \}$/m);
      expect(out).toContain('[python] received tuple (1, 2, 3)');
      expect(out).toContain("reply: [ 'tuple of 3 items', 6 ]");
      expect(out).toContain('listener exited with 0');
    });

    it("python-manager-queue.mjs: Node uses a Python manager's queues", async () => {
      const out = await run('python-manager-queue.mjs', py);
      expect(out).toContain('3² = 9 (computed by python-thread)');
      expect(out).toContain('5² = 25 (computed by python-thread)');
      expect(out).toContain('results.get() on an empty queue raised Empty');
      expect(out).toContain('manager exited with 0');
    });

    it('serve-manager-to-python.mjs: Python manager clients use objects served by Node', async () => {
      const out = await run('serve-manager-to-python.mjs', py);
      expect(out).toContain('workers exited with 0, 0');
      for (const job of ['alpha', 'beta', 'gamma', 'delta']) expect(out).toMatch(new RegExp(`^${job} → ${job.toUpperCase()} by w[12]$`, 'm'));
    });

    it('python-worker-pool.mjs: a pool of Python workers driven from Node', async () => {
      const out = await run('python-worker-pool.mjs', py, {}, ['2']);
      expect(out).toContain(`started 2 Python ${py.version} workers`);
      expect(out).toContain('primes below 10000: 1229');
      expect(out).toContain('primes below 60000: 6057');
      expect(out).toContain('count_primes(-1) raised ValueError: expected a non-negative bound, got -1');
      expect(out).toContain('workers exited: 0, 0');
    });

    it('python-worker-pool.mjs: a WORKERS argument that is not a whole number from 1 is a usage error', async () => {
      for (const arg of ['0', 'abc', '1.5']) {
        const r = await start('python-worker-pool.mjs', py, {}, [arg], 30_000);
        expect(r.exitCode, r.all).toBe(2);
        expect(r.stderr).toBe(`usage: node examples/python-worker-pool.mjs [WORKERS]  (WORKERS: a whole number from 1, default 3; got '${arg}')`);
        expect(r.stdout).toBe('');
      }
    });

    it('rhel-dialect.mjs: both directions with a RHEL-dialect peer', async () => {
      const out = await run('rhel-dialect.mjs', py);
      expect(out).toContain('RHEL client accepted, auth dialect: rhel-sha256');
      expect(out).toContain('default dialect: MPWIRE_AUTH');
      expect(out).toContain("dialect 'rhel-sha256': connected as rhel-sha256, reply: echo: hello with dialect rhel-sha256");
      expect(out).toContain("dialect 'auto': connected as rhel-sha256, reply: echo: hello with dialect auto");
    });
  });

  // The demos of `make demo` and the bridge demo: kept working, run with their own interpreter choice.
  it('demo.mjs: every interpreter found talks to a Node Listener, then Node to a Python Listener', async () => {
    const out = await run('demo.mjs', undefined);
    expect(out).toContain(`found ${pythons.length} interpreters`);
    for (const p of pythons) expect(out).toContain(`python ${p.version} got: welcome`);
    expect(out).toMatch(/Listener answered: reversed: eriwpm/);
  });

  it('manager-demo.mjs: a Python manager job queue fed from Node', async () => {
    const out = await run('manager-demo.mjs', undefined, { DEMO_JOBS: '30', DEMO_WORKERS: '2' });
    expect(out).toContain('results: 30 collected, 0 wrong');
    expect(out).toContain('demo finished: all jobs done, manager shut down');
  });

  it('manager-demo.mjs: a worker that dies makes the demo fail with a message instead of waiting forever', async () => {
    // Far more jobs than one worker does before it is killed.
    const demo = start('manager-demo.mjs', undefined, { DEMO_JOBS: '5000', DEMO_WORKERS: '1' }, [], 60_000);
    await new Promise<void>((resolve) => {
      demo.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('Python workers')) resolve();
      });
      void demo.then(() => resolve());
    });
    const worker = childPids(demo.pid as number).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('manager_worker.py'));
    expect(worker).toBeDefined();
    process.kill(worker as number, 'SIGKILL');
    const r = await demo;
    expect(r.timedOut, r.all).toBe(false);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.stderr).toMatch(/^demo FAILED: worker-1 exited with SIGKILL with \d+ of 5000 results in$/m);
  });

  it.runIf(oldest?.versionTuple[0] === 2)('bridge-demo.mjs: refuses Python 2 with a message', async () => {
    const r = await start('bridge-demo.mjs', oldest, {}, [], 30_000);
    expect(r.exitCode, r.all).toBe(1);
    expect(r.stderr).toMatch(/^bridge-demo needs Python 3 \(bridge_worker\.py uses the statistics module\), not \S+ \(2\.7\.\d+\): set MPWIRE_PYTHON to a Python 3$/);
  });

  it('bridge-demo.mjs: a Python worker behind spawnPython', async () => {
    const out = await run('bridge-demo.mjs', newest);
    expect(out).toContain("{ mean: 3.875, stdev:");
    expect(out).toContain('RemoteError KeyError: missing');
    expect(out).toMatch(/1,000 pipelined calls in \d+ ms/);
    expect(out).toMatch(/exit: \{ exitCode: 0/);
  });
});

/**
 * Stock Python clients (`SyncManager.connect()`, `BaseManager.register(...)` and their proxies) of
 * every interpreter on the machine against mpwire's TypeScript manager server. One Node server per
 * interpreter; each Python process runs many checks and prints one line per check.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { serveManager } from '../../src/managers/index.js';
import { Matrix, atLeast, interpreters, label, tempPath } from '../harness.js';
import { KEY, type Served, runClient, startClient, startServed } from './fixtures.js';

const all = await interpreters();
const pythons = all.filter((p) => atLeast(p, 3, 6) || p.versionTuple[0] === 2);
const matrix = new Matrix('manager server (Node) ← Python clients');

/** Checks `client.py sync` runs; 2.7 has no Barrier (and nesting). */
function expectedSync(py: PythonInfo): string[] {
  const names = [
    'dict',
    'dict KeyError',
    'list',
    'Queue',
    'Queue blocking get woken by another thread',
    'JoinableQueue',
    'Namespace',
    'Value',
    'Array',
    'Lock',
    'RLock',
    'Semaphore',
    'Event',
    'Condition',
  ];
  names.push('list sort(key) and reversed', 'hostile sizes (cyclic repr, list * n, str.strip key, long timeouts)');
  if (py.versionTuple[0] >= 3) names.push('Barrier', 'nested proxies');
  if (atLeast(py, 3, 14)) names.push('set (3.14+)', 'dict and list 3.14 methods');
  names.push('errors (unexposed method, unknown typeid)');
  return names;
}

function results(lines: string[]): Map<string, string> {
  const r = new Map<string, string>();
  for (const l of lines) {
    if (l.startsWith('OK ')) r.set(l.slice(3), 'ok');
    else if (l.startsWith('FAIL ')) {
      const i = l.indexOf(': ');
      r.set(l.slice(5, i), l.slice(i + 2));
    }
  }
  return r;
}

afterAll(() => {
  // Scenarios run on one interpreter only, and those Python 2 lacks (Barrier, nested proxies).
  for (const row of matrix.rows.keys()) for (const sc of matrix.scenarios) if (!matrix.rows.get(row)?.has(sc)) matrix.set(row, sc, 'n/a');
  console.log(matrix.report(pythons));
});

// Interpreters run concurrently (each with its own Node server) to keep the suite short.
describe.concurrent.each(pythons.map((py) => [label(py), py] as const))('Python %s client', (name, py) => {
  it('SyncManager typeids, custom BaseManager typeids, refcounts, wrong key, sharing', async () => {
    const served: Served = await startServed();
    const { server, port } = served;
    try {
      // 1. SyncManager(address, authkey).connect() and every typeid's operations.
      const sync = await runClient(py, port, 'sync');
      const r = results(sync);
      for (const check of expectedSync(py)) {
        matrix.set(name, check, r.get(check) === 'ok' ? 'pass' : 'FAIL');
      }
      const failures = [...r].filter(([, v]) => v !== 'ok');
      expect(failures).toEqual([]);
      expect([...r.keys()].sort()).toEqual(expectedSync(py).sort());
      // The Python process released every proxy before exiting: nothing left.
      expect(sync).toContain('NOBJ 0');

      // 2. A custom BaseManager: register('get_queue'), a JS class with kwargs, errors, #PROXY.
      const custom = results(await runClient(py, port, 'custom'));
      for (const [check, v] of custom) matrix.set(name, check, v === 'ok' ? 'pass' : 'FAIL');
      expect([...custom].filter(([, v]) => v !== 'ok')).toEqual([]);
      expect(custom.size).toBe(2);

      // 3. Wrong authkey refused; the server keeps serving.
      await matrix.record(name, 'wrong authkey refused', async () => {
        const lines = await runClient(py, port, 'wrongkey');
        expect(lines[0]).toBe('REFUSED AuthenticationError');
      });

      // 4. Several Python processes share one Node-served Queue: every item consumed exactly once,
      //    and a consumer killed while blocked in get() takes nothing with it.
      await matrix.record(name, '3 consumers share one Queue (+1 killed mid-get)', async () => {
        const victim = startClient(py, port, 'blocked');
        await victim.line('BLOCKING');
        await new Promise((r) => setTimeout(r, 200));
        victim.proc.kill('SIGKILL');
        await victim.proc;
        await new Promise((r) => setTimeout(r, 100));
        const consumers = [0, 1, 2].map(() => startClient(py, port, 'queue'));
        await Promise.all(consumers.map((c) => c.line('READY')));
        const n = 300;
        for (let i = 0; i < n; i++) await served.jobs.put(i, true, null, { channel: 0, signal: new AbortController().signal });
        for (let i = 0; i < consumers.length; i++) await served.jobs.put(null, true, null, { channel: 0, signal: new AbortController().signal });
        await Promise.all(consumers.map((c) => c.line('CONSUMED')));
        await Promise.all(consumers.map((c) => c.proc));
        const got = (served.results.items as number[]).slice().sort((a, b) => a - b);
        expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(served.jobs.items).toEqual([]);
      });

      // Every Python process has exited. Only the killed consumer's reference to `jobs` is left
      // (it never sent its decref), exactly as on a CPython server.
      await new Promise((r) => setTimeout(r, 100));
      expect([...server.refcounts().values()]).toEqual([1]);
    } finally {
      await server.close();
    }
  });
});

describe('one interpreter', () => {
  const newest = pythons.filter((p) => p.versionTuple[0] >= 3).at(-1);

  it.runIf(newest)('8 Python processes increment a shared Value under a shared Lock 1,000 times each', async () => {
    const py = newest as PythonInfo;
    const served = await startServed();
    try {
      const workers = Array.from({ length: 8 }, () => startClient(py, served.port, 'counter', '1000'));
      await Promise.all(workers.map((w) => w.proc));
      for (const w of workers) expect(w.lines, w.stderr()).toContain('DONE-COUNT');
      expect(served.counter.value).toBe(8000);
      expect(served.server.numberOfObjects).toBe(0);
      matrix.set(label(py), '8 processes × 1000 locked increments = 8000', 'pass');
    } finally {
      await served.server.close();
    }
  });

  it.runIf(newest)('shutdown: two #RETURN None, then EOF, and the server closes', async () => {
    const py = newest as PythonInfo;
    const served = await startServed();
    const lines = await runClient(py, served.port, 'shutdown');
    expect(lines[0]).toBe('SHUTDOWN #RETURN #RETURN');
    await served.server.closed;
    matrix.set(label(py), 'remote shutdown', 'pass');
  });
});

/** One `R name = value` / `E name = Type[: message]` line per step of `client.py xmlrpc`. */
function steps(lines: string[]): Map<string, string> {
  const r = new Map<string, string>();
  for (const l of lines) {
    const m = /^([RE]) (.+?) = (.*)$/.exec(l);
    if (m) r.set(m[2] as string, `${m[1]} ${m[3]}`);
  }
  return r;
}

// The oldest and the newest interpreter of each major: enough to cover both proxy generations.
const edges = [...new Set([pythons.find((p) => p.versionTuple[0] === 2), pythons.find((p) => p.versionTuple[0] === 3), pythons.at(-1)])].filter(
  (p): p is PythonInfo => p !== undefined,
);

describe.each(edges.map((py) => [label(py), py] as const))('Python %s, other transports and serializers', (name, py) => {
  it("serializer='xmlrpclib': every result CPython's own xmlrpclib server gives, and named exceptions", async () => {
    const server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY, serializer: 'xmlrpclib' });
    try {
      const port = (server.address as [string, number])[1];
      const ours = steps(await runClient(py, port, 'xmlrpc'));
      const theirs = steps(await runClient(py, port, 'xmlrpc', 'cpython'));
      expect(ours.size).toBe(theirs.size);
      expect(ours.size).toBeGreaterThan(30);
      const differences: string[] = [];
      for (const [step, want] of theirs) {
        const got = ours.get(step);
        // Where CPython's server answers, ours answers the same; where CPython's fails (its XML-RPC
        // cannot carry exceptions or dict views), ours answers or raises a RemoteError naming the
        // Python exception.
        if (want.startsWith('R ')) expect(got, step).toBe(want);
        else if (got !== undefined && got !== want) differences.push(`${step}: CPython ${want}, mpwire ${got}`);
      }
      expect(ours.get('dict missing')).toBe("E RemoteError: KeyError: 'zz'");
      expect(ours.get('list index error')).toBe('E RemoteError: IndexError: list index out of range');
      expect(ours.get('queue empty get')).toMatch(/^E RemoteError: (queue|Queue)\.Empty$/);
      expect(ours.get('lock release unlocked')).toMatch(/^E RemoteError: RuntimeError: (release unlocked lock|cannot release un-acquired lock)$/);
      // Floats read back as floats of the same value (an integral one was an int, or unsendable).
      expect(ours.get('float get 1.0')).toBe("R [1.0, 'float']");
      expect(ours.get('float get [1.0, 2.5]')).toBe("R [[1.0, 'float'], [2.5, 'float']]");
      expect(ours.get('float get 2.0**31')).toBe("R [2147483648.0, 'float']");
      expect(ours.get('float get 1e16')).toBe("R [1e+16, 'float']");
      expect(ours.get('float get 1e300')).toBe("R [1e+300, 'float']");
      expect(ours.get('float list count')).toBe('R 1');
      expect(ours.get('float list value')).toBe("R [[1.0, 'float'], [2.5, 'float'], [1e+16, 'float']]");
      expect(ours.get('float value get')).toBe("R [2147483648.0, 'float']");
      console.log(`xmlrpclib, Python ${name}: where CPython's server fails and mpwire's does not:\n  ${differences.join('\n  ')}`);
      expect(server.numberOfObjects).toBe(0);
      matrix.set(name, "serializer='xmlrpclib' (vs CPython's server)", 'pass');
    } finally {
      await server.close();
    }
  });

  it("serializer='xmlrpclib': a JS method that returns nothing answers None", async () => {
    const notes: unknown[] = [];
    const server = await serveManager({
      address: ['127.0.0.1', 0],
      authkey: KEY,
      serializer: 'xmlrpclib',
      registry: {
        get_notes: () => ({
          add(note: unknown): void {
            notes.push(note);
          },
          count: () => notes.length,
        }),
      },
    });
    try {
      const lines = await runClient(py, (server.address as [string, number])[1], 'xmlrpc-void');
      expect(lines[0]).toBe('VOID None 1');
      expect(notes).toEqual(['x']);
      matrix.set(name, "serializer='xmlrpclib': void JS method", 'pass');
    } finally {
      await server.close();
    }
  });

  it.runIf(py.versionTuple[0] === 3)('a client speaking the RHEL raw-SHA256 dialect', async () => {
    const served = await startServed();
    try {
      const lines = await runClient(py, served.port, 'rhel');
      expect(lines[0]).toBe('RHEL [1, 2] job');
      await new Promise((r) => setTimeout(r, 100));
      expect(served.server.numberOfObjects).toBe(0);
      matrix.set(name, 'RHEL-dialect client', 'pass');
    } finally {
      await served.server.close();
    }
  });

  it('Unix socket: SyncManager checks over AF_UNIX', async () => {
    const path = tempPath('mgr.sock');
    const served = await startServed(path);
    try {
      const r = results(await runClient(py, 0, 'sync', path));
      expect([...r].filter(([, v]) => v !== 'ok')).toEqual([]);
      expect([...r.keys()].sort()).toEqual(expectedSync(py).sort());
      expect(served.server.numberOfObjects).toBe(0);
      matrix.set(name, 'SyncManager over a Unix socket', 'pass');
    } finally {
      await served.server.close();
    }
  });
});

/**
 * Live manager servers of every interpreter found (2.7 and 3.6+): `server.py` serves a SyncManager
 * subclass with registered callables (a custom BaseManager registry) over TCP, a Unix socket and
 * with `serializer='xmlrpclib'`; the mpwire client runs every scenario against it and prints the
 * interpreter × scenario matrix.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { AuthenticationError, EOFError, ProtocolError } from '../../src/index.js';
import {
  AcquirerProxy,
  type ManagerClient,
  Proxy,
  QueueProxy,
  RemoteError,
  SetProxy,
  connectManager,
  DictProxy,
} from '../../src/managers/index.js';
import { Matrix, atLeast, interpreters, label } from '../harness.js';
import { KEY, type ServerPeer, startServer } from './helpers.js';

const pythons = await interpreters();
const matrix = new Matrix('managers client');

afterAll(() => {
  console.log(matrix.report(pythons));
});

async function expectRemote(p: Promise<unknown>, type: string | undefined, re?: RegExp): Promise<RemoteError> {
  const e = await p.then(
    () => {
      throw new Error(`expected RemoteError ${type}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RemoteError);
  const r = e as RemoteError;
  expect(r.type).toBe(type);
  if (re) expect(r.message + (r.traceback ?? '')).toMatch(re);
  return r;
}

/** Every object released: nothing left on the server. */
async function expectClean(m: ManagerClient): Promise<void> {
  expect(m.liveProxies).toBe(0);
  expect(await m.numberOfObjects()).toBe(0);
  expect((await m.refcounts()).size).toBe(0);
}

async function scenarios(
  py: PythonInfo,
  srv: ServerPeer,
  m: ManagerClient,
  rec: (name: string, fn: () => Promise<void>) => Promise<void>,
  na: (name: string) => void,
): Promise<void> {
  const py2 = py.versionTuple[0] === 2;

  await rec('dict methods', async () => {
    await using d = await m.dict<string, unknown>({ a: 1 });
    expect(d).toBeInstanceOf(DictProxy);
    expect(d.exposed).toContain('__getitem__');
    await d.set('k', 'v');
    await d.set('n', 2 ** 40);
    expect(await d.get('k')).toBe('v');
    expect(await d.get('missing')).toBe(null);
    expect(await d.get('missing', 5)).toBe(5);
    expect(await d.getItem('n')).toBe(2 ** 40);
    expect(await d.has('a')).toBe(true);
    expect((await d.keys()).sort()).toEqual(['a', 'k', 'n']);
    expect((await d.values()).length).toBe(3);
    expect(new Map(await d.items()).get('k')).toBe('v');
    expect(await d.size()).toBe(3);
    expect(await d.delete('a')).toBe(true);
    expect(await d.delete('a')).toBe(false);
    expect(await d.pop('n')).toBe(2 ** 40);
    expect(await d.setdefault('s', 1)).toBe(1);
    await d.update({ u: [1, 2] });
    const entries: Array<[string, unknown]> = [];
    for await (const e of d) entries.push(e);
    expect(entries.length).toBe(3);
    expect(await d.getValue()).toEqual({ k: 'v', s: 1, u: [1, 2] });
    expect(await d.repr()).toContain("'k'");
    await d.clear();
    expect(await d.size()).toBe(0);
  });

  await rec('list methods', async () => {
    await using l = await m.list<unknown>([3, 1, 2]);
    await l.append('x');
    await l.extend([4, 5]);
    await l.insert(0, 'first');
    expect(await l.length()).toBe(7);
    expect(await l.get(0)).toBe('first');
    await l.set(0, 0);
    expect(await l.index('x')).toBe(4);
    expect(await l.count(4)).toBe(1);
    expect(await l.has('x')).toBe(true);
    await l.remove('x');
    expect(await l.pop()).toBe(5);
    await l.sort({ reverse: true });
    expect(await l.toArray()).toEqual([4, 3, 2, 1, 0]);
    await l.reverse();
    await l.delete(0);
    const seen: unknown[] = [];
    for await (const x of l) seen.push(x);
    expect(seen).toEqual([1, 2, 3, 4]);
    await expectRemote(l.get(99), 'IndexError');
  });

  await rec('#PROXY results (dict iterator, dict inside list)', async () => {
    await using d = await m.dict({ a: 1, b: 2 });
    // dict.__iter__ is mapped to the Iterator typeid: a #PROXY reply.
    const it = await d.iterator();
    expect(it.typeid).toBe('Iterator');
    expect(it.token.address).toEqual(srv.address);
    const keys: unknown[] = [];
    for await (const k of it) keys.push(k);
    expect(keys.sort()).toEqual(['a', 'b']);
    await it.release();
    // A Calc method registered with method_to_typeid={'make_dict': 'dict'}.
    await using calc = await m.create('Calc', [10]);
    const made = await calc.call('make_dict', [{ z: 26 }]);
    expect(made).toBeInstanceOf(DictProxy);
    expect(await (made as DictProxy).get('z')).toBe(26);
    await (made as Proxy).release();
    // m.dict() inside m.list(): the proxy is pickled into the server and comes back.
    await using l = await m.list();
    await l.append(d);
    const back = await l.get(0);
    if (py2) {
      // 2.7's RebuildProxy hands the server the object itself: a plain copy comes back.
      expect(back).toEqual({ a: 1, b: 2 });
    } else {
      expect(back).toBeInstanceOf(DictProxy);
      expect((back as DictProxy).id).toBe(d.id);
      await d.set('c', 3);
      expect(await (back as DictProxy).get('c')).toBe(3);
      expect((await m.refcounts()).get(d.id)).toBe(2);
      await (back as Proxy).release();
      expect((await m.refcounts()).get(d.id)).toBe(1);
    }
  });

  await rec('Queue / JoinableQueue (Empty, Full)', async () => {
    await using q = await m.Queue<unknown>();
    await q.put({ job: 1 });
    await q.put([1, 'two']);
    expect(await q.qsize()).toBe(2);
    expect(await q.get()).toEqual({ job: 1 });
    expect(await q.getNowait()).toEqual([1, 'two']);
    expect(await q.empty()).toBe(true);
    const t0 = Date.now();
    const e = await expectRemote(q.get({ timeout: 200 }), 'Empty');
    expect(e.module).toMatch(/^(_?queue|Queue)$/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    await expectRemote(q.getNowait(), 'Empty');
    await using small = await m.Queue(1);
    await small.put(1);
    expect(await small.full()).toBe(true);
    await expectRemote(small.put(2, { timeout: 50 }), 'Full');
    await using jq = await m.JoinableQueue();
    await jq.put('t');
    expect(await jq.get()).toBe('t');
    await jq.taskDone();
    await jq.join();
  });

  await rec('Namespace, Value, Array', async () => {
    await using ns = await m.Namespace({ x: 1 });
    expect(await ns.get('x')).toBe(1);
    await ns.set('y', 'why');
    expect(await ns.get('y')).toBe('why');
    await ns.delete('y');
    await expectRemote(ns.get('y'), 'AttributeError');
    await using v = await m.Value('i', 7);
    expect(await v.get()).toBe(7);
    await v.set(8);
    expect(await v.get()).toBe(8);
    await using a = await m.Array('i', [1, 2, 3]);
    expect(await a.length()).toBe(3);
    await a.set(1, 20);
    expect(await a.get(1)).toBe(20);
  });

  await rec('Lock, RLock, Semaphore, Condition, Event', async () => {
    await using lock = await m.Lock();
    expect(await lock.acquire()).toBe(true);
    // Python 2 locks have no timeout.
    if (!py2) expect(await lock.acquire({ timeout: 50 })).toBe(false);
    expect(await lock.acquire({ blocking: false })).toBe(false);
    await lock.release();
    await using rl = await m.RLock();
    expect(rl).toBeInstanceOf(AcquirerProxy);
    expect(await rl.acquire()).toBe(true);
    expect(await rl.acquire()).toBe(true);
    await rl.release();
    await rl.release();
    await using sem = await m.Semaphore(2);
    expect(await sem.acquire()).toBe(true);
    expect(await sem.acquire()).toBe(true);
    if (!py2) expect(await sem.acquire({ timeout: 30 })).toBe(false);
    expect(await sem.acquire({ blocking: false })).toBe(false);
    await sem.release();
    await sem.release();
    await using bs = await m.BoundedSemaphore(1);
    await bs.acquire();
    await bs.release();
    await expectRemote(bs.release(), 'ValueError');
    await using ev = await m.Event();
    expect(await ev.isSet()).toBe(false);
    const waiting = ev.wait({ timeout: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    await ev.set();
    // 2.7's Event.wait returns the flag too.
    expect(await waiting).toBe(true);
    await ev.clear();
    expect(await ev.wait({ timeout: 20 })).toBe(false);
    await using cond = await m.Condition();
    await using cond2 = await cond.fork();
    await cond.acquire();
    const woke = cond.wait({ timeout: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    await cond2.acquire();
    await cond2.notifyAll();
    await cond2.release();
    const w = await woke;
    if (!py2) expect(w).toBe(true);
    await cond.release();
  });

  // SyncManager registers `set` from 3.14 on.
  if (!atLeast(py, 3, 14)) na('set (3.14+)');
  else
    await rec('set (3.14+)', async () => {
      await using s = await m.set([1, 2]);
      expect(s).toBeInstanceOf(SetProxy);
      await s.add(3);
      await s.update([4, 5]);
      await s.discard(99);
      await s.remove(5);
      await expectRemote(s.remove(5), 'KeyError');
      expect(await s.has(3)).toBe(true);
      expect(await s.size()).toBe(4);
      expect(await s.values()).toEqual(new Set([1, 2, 3, 4]));
      expect(await s.call('__or__', [new Set([9])])).toEqual(new Set([1, 2, 3, 4, 9]));
      await s.clear();
      await expectRemote(s.pop(), 'KeyError');
    });

  // threading.Barrier is new in 3.2: SyncManager 2.7 has no Barrier typeid.
  if (py2) na('Barrier');
  else
    await rec('Barrier', async () => {
      await using barrier = await m.Barrier(3);
      expect(await barrier.parties()).toBe(3);
      const idx = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
      expect(idx.sort()).toEqual([0, 1, 2]);
      expect(await barrier.broken()).toBe(false);
    });

  await rec('Pool (functions by reference)', async () => {
    await using pool = await m.Pool(2);
    expect(await pool.map('math.sqrt', [1, 4, 9])).toEqual([1, 2, 3]);
    expect(await pool.apply('builtins.pow', [2, 10])).toBe(1024);
    // Python 2.7's Pool has no starmap.
    if (!py2) expect(await pool.starmap('builtins.max', [[1, 5], [7, 2]])).toEqual([5, 7]);
    await using ar = await pool.applyAsync('builtins.abs', [-5]);
    expect(await ar.get({ timeout: 10_000 })).toBe(5);
    expect(await ar.successful()).toBe(true);
    const it = await pool.imap('builtins.abs', [-1, -2, -3]);
    const got: unknown[] = [];
    for await (const x of it) got.push(x);
    expect(got).toEqual([1, 2, 3]);
    await it.release();
    await expectRemote(pool.apply('math.sqrt', [-1]), 'ValueError');
    await pool.close();
    await pool.join();
  });

  await rec('registered callables (BaseManager.register)', async () => {
    m.register('get_queue', QueueProxy);
    await using q1 = await m.create<QueueProxy>('get_queue');
    await using q2 = await m.create<QueueProxy>('get_queue');
    expect(q1).toBeInstanceOf(QueueProxy);
    expect(q1.id).toBe(q2.id); // the same shared queue.queue
    expect((await m.refcounts()).get(q1.id)).toBe(2);
    await q1.put('shared');
    expect(await q2.get({ timeout: 1000 })).toBe('shared');
    await using gd = await m.create('get_dict');
    expect(gd).toBeInstanceOf(Proxy);
    await gd.call('__setitem__', ['k', [1, 2]]);
    expect(await gd.call('__getitem__', ['k'])).toEqual([1, 2]);
    await gd.call('clear');
    await using calc = await m.create('Calc', [], { base: 100 });
    expect(await calc.call('add', [1], { b: 2 })).toBe(103);
    expect(await calc.call('echo', [1, 'a', null], { k: true })).toEqual([[1, 'a', null], { k: true }]);
    expect(await m.getMethods(calc)).toEqual(expect.arrayContaining(['add', 'echo', 'fail']));
    await expectRemote(m.create('no_such_typeid'), undefined, /KeyError|no_such_typeid/);
  });

  await rec('exceptions (#ERROR, #TRACEBACK, #UNSERIALIZABLE)', async () => {
    await using d = await m.dict();
    const ke = await expectRemote(d.getItem('k'), 'KeyError');
    expect(ke.args).toEqual(['k']);
    expect(ke.module).toBe('builtins');
    await using calc = await m.create('Calc');
    const ve = await expectRemote(calc.call('fail', ['bad value']), 'ValueError');
    expect(ve.args).toEqual(['bad value']);
    const ce = await expectRemote(calc.call('custom'), 'CustomError');
    expect(ce.module).toBe('__main__');
    expect((ce.cause as { state?: unknown }).state).toEqual({ code: 7 });
    const tb = await expectRemote(calc.call('not_exposed'), undefined, /not_exposed/);
    expect(tb.traceback).toContain('Traceback');
    const un = await expectRemote(calc.call('unpicklable'), undefined, /Unserializable message/);
    expect(un.traceback).toMatch(/pickle/i);
    // The channel stays usable after every kind of error.
    expect(await calc.call('add', [1])).toBe(1);
  });

  await rec('50 concurrent calls + blocking get', async () => {
    await using d = await m.dict();
    await using q = await m.Queue();
    const blocked = q.get({ timeout: 20_000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => d.set(`k${i}`, i).then(() => d.get(`k${i}`))));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(await d.size()).toBe(50);
    await q.put('unblock');
    expect(await blocked).toBe('unblock');
    expect(m.openConnections).toBeLessThanOrEqual(16);
  });

  await rec('refcounts back to zero', async () => {
    await expectClean(m);
    const d = await m.dict();
    const l = await m.list();
    expect(await m.numberOfObjects()).toBe(2);
    expect((await m.refcounts()).get(d.id)).toBe(1);
    await d.release();
    await d.release(); // idempotent: one decref only
    expect(await m.numberOfObjects()).toBe(1);
    await l.dispose();
    await expect(d.call('__len__')).rejects.toThrow(/released/);
    await expectClean(m);
  });
}

describe.each(pythons.map((p) => [label(p), p] as const))('CPython %s', (name, py) => {
  const rec = (scenario: string) => (fn: () => Promise<void>) => matrix.record(name, scenario, fn);

  it('SyncManager + registered callables over TCP', async () => {
    const srv = await startServer(py, 'tcp');
    try {
      await rec('connect + dummy (TCP)')(async () => {
        const m = await connectManager(srv.address, { authkey: KEY, timeout: 20_000 });
        expect(m.pickleProtocol).toBe(py.versionTuple[0] === 2 ? 2 : atLeast(py, 3, 14) ? 5 : atLeast(py, 3, 8) ? 4 : 3);
        await m.close();
      });
      await using m = await connectManager(srv.address, { authkey: KEY });
      await scenarios(py, srv, m, (s, fn) => rec(s)(fn), (s) => matrix.set(name, s, 'n/a'));
      await rec('wrong authkey')(async () => {
        await expect(connectManager(srv.address, { authkey: 'wrong' })).rejects.toBeInstanceOf(AuthenticationError);
        await m.dummy(); // the server keeps serving
      });
      await m.close();
      const check = await connectManager(srv.address, { authkey: KEY });
      await expectClean(check);
      await rec('shutdown')(async () => {
        await check.shutdown();
        const r = await srv.peer.proc;
        expect(r.exitCode).toBe(0);
      });
    } finally {
      await srv.stop();
    }
  });

  it('Unix socket', async () => {
    const srv = await startServer(py, 'unix');
    try {
      await rec('Unix socket')(async () => {
        await using m = await connectManager(srv.address, { authkey: KEY });
        await using d = await m.dict();
        await d.set('k', 1);
        expect(await d.get('k')).toBe(1);
        await using l = await m.list();
        await l.append(d);
        const it = await d.iterator();
        expect(it.token.address).toBe(srv.address);
        await it.release();
        await l.dispose();
        await d.dispose();
        expect(await m.numberOfObjects()).toBe(0);
      });
    } finally {
      await srv.stop();
    }
  });

  it("serializer='xmlrpclib'", async () => {
    const srv = await startServer(py, 'tcp', 'xmlrpclib');
    try {
      await rec('xmlrpclib server')(async () => {
        await using m = await connectManager(srv.address, { authkey: KEY, serializer: 'xmlrpclib' });
        await using d = await m.dict();
        await d.set('k', [1, 'a', { n: null }]);
        expect(await d.get('k')).toEqual([1, 'a', { n: null }]);
        await using ns = await m.Namespace();
        await ns.set('x', 5);
        expect(await ns.get('x')).toBe(5);
        await using q = await m.create('get_queue', [], {}, { proxyType: QueueProxy });
        await q.put('job');
        expect(await q.get()).toBe('job');
        // #ERROR arrives as a struct (§5.10): still a RemoteError, without a type.
        const e = await d.getItem('missing').catch((x: unknown) => x);
        expect(e).toBeInstanceOf(RemoteError);
        // #PROXY results cannot be marshalled by the server: a traceback.
        await expectRemote(d.iterator(), undefined, /marshal/);
        // The server registered the iterator before failing to send it: like a CPython client,
        // we never got its token, so it stays (3 proxies + 1 orphan).
        expect(await m.numberOfObjects()).toBe(4);
      });
    } finally {
      await srv.stop();
    }
  });

  it.runIf(py.versionTuple[0] === 3)('RHEL raw-SHA256 dialect server', async () => {
    const srv = await startServer(py, 'tcp', 'pickle', ['--rhel']);
    try {
      await rec('RHEL dialect server')(async () => {
        // A legacy-MD5 client is refused; 'rhel-sha256' and 'auto' (which retries) get in, and
        // every proxy connection made afterwards speaks the same dialect.
        await expect(connectManager(srv.address, { authkey: KEY })).rejects.toBeInstanceOf(AuthenticationError);
        for (const dialect of ['rhel-sha256', 'auto'] as const) {
          await using m = await connectManager(srv.address, { authkey: KEY, dialect });
          await using d = await m.dict<string, number>({ a: 1 });
          await d.set('b', 2);
          expect(await d.get('b')).toBe(2);
          await using q = await m.create('get_queue', [], {}, { proxyType: QueueProxy });
          await q.put('job');
          expect(await q.get()).toBe('job');
          await using l = await m.list();
          await l.append(d); // a proxy pickled back to the server
          expect(await l.length()).toBe(1);
        }
        const check = await connectManager(srv.address, { authkey: KEY, dialect: 'rhel-sha256' });
        await expectClean(check);
        await check.close();
      });
    } finally {
      await srv.stop();
    }
  });

  // Red Hat patched the raw-SHA256 handshake into its Python 3 builds only: on Python 2 the
  // matrix cell reads n/a (recorded while collecting, not as a test) instead of staying unknown.
  if (py.versionTuple[0] !== 3) matrix.set(name, 'RHEL dialect server', 'n/a');

  it('server killed mid-call', async () => {
    const srv = await startServer(py, 'tcp');
    try {
      await rec('server killed mid-call')(async () => {
        const m = await connectManager(srv.address, { authkey: KEY });
        const calc = await m.create('Calc');
        const pending = calc.call('sleep', [30]);
        await new Promise((r) => setTimeout(r, 200));
        srv.peer.proc.kill('SIGKILL');
        const t0 = Date.now();
        const err = await pending.catch((e: unknown) => e);
        expect(err instanceof EOFError || err instanceof ProtocolError).toBe(true);
        expect(Date.now() - t0).toBeLessThan(5000);
        await expect(calc.call('add', [1])).rejects.toBeInstanceOf(ProtocolError);
        await m.close({ timeout: 1000 });
      });
    } finally {
      await srv.stop();
    }
  });
});

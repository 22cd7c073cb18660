/**
 * The manager client under pressure and at its edges, against live CPython manager servers:
 * bursts of control connections (the server's listener has a backlog of 16 and handshakes one
 * client at a time), calls cancelled before they are sent, `close()` with calls in flight, an
 * aborted lock acquire, proxies owned by another manager found inside values, deadlines while
 * waiting for a busy dedicated connection, and the proxy class sent for a proxy stored in a value.
 *
 * Every client here gets a short `controlTimeout`, so a connection stuck in the server's accept
 * queue fails the test in seconds instead of after the 20 s handshake timeout.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { AbortError, ConnectionClosedError, TimeoutError } from '../../src/index.js';
import { DictProxy, type ManagerOptions, RemoteError, connectManager } from '../../src/managers/index.js';
import { Matrix, interpreters, label } from '../harness.js';
import { KEY, type ServerPeer, startServer } from './helpers.js';

const pythons = await interpreters();
const matrix = new Matrix('managers client robustness');

afterAll(() => {
  console.log(matrix.report(pythons));
});

/** Short enough that a connection left in the server's accept queue fails fast. */
const OPTIONS: ManagerOptions = { authkey: KEY, controlTimeout: 3_000 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function settle<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; pending?: true }> {
  return Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), sleep(ms).then(() => ({ pending: true as const }))]);
}

/** `lock.acquire({ blocking: false })` until it succeeds or `ms` pass (2.7 locks have no timeout). */
async function acquireWithin(lock: { acquire(o: { blocking: boolean }): Promise<boolean> }, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  do {
    if (await lock.acquire({ blocking: false })) return true;
    await sleep(20);
  } while (Date.now() < end);
  return false;
}

async function scenarios(py: PythonInfo, a: ServerPeer, b: ServerPeer, rec: (name: string, fn: () => Promise<void>) => Promise<void>): Promise<void> {
  const py2 = py.versionTuple[0] === 2;

  await rec('60 proxies inside one value (60 increfs at once)', async () => {
    await using m = await connectManager(a.address, OPTIONS);
    const base = await m.numberOfObjects();
    const l = await m.list();
    for (let i = 0; i < 60; i++) {
      await using d = await m.dict({ i });
      await l.append(d);
    }
    const before = await m.refcounts();
    const t0 = Date.now();
    const items = await l.toArray();
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(items).toHaveLength(60);
    if (!py2) {
      // Each proxy received took exactly one reference (60 increfs, none lost, none orphaned).
      const after = await m.refcounts();
      for (const p of items as DictProxy[]) {
        expect(p).toBeInstanceOf(DictProxy);
        expect(after.get(p.id)).toBe((before.get(p.id) ?? 0) + 1);
      }
      expect(m.liveProxies).toBe(61);
      await Promise.all((items as DictProxy[]).map((p) => p.release()));
      const released = await m.refcounts();
      for (const p of items as DictProxy[]) expect(released.get(p.id)).toBe(before.get(p.id));
    }
    await l.release();
    expect(await m.numberOfObjects()).toBe(base);
  });

  await rec('50 concurrent control requests', async () => {
    await using m = await connectManager(a.address, OPTIONS);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => m.numberOfObjects()));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  });

  await rec('150 proxies garbage-collected at once', async () => {
    v8.setFlagsFromString('--expose_gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const m = await connectManager(a.address, OPTIONS);
    const base = await m.numberOfObjects();
    await (async () => {
      for (let i = 0; i < 150; i++) await m.dict();
    })();
    for (let i = 0; i < 100 && m.liveProxies > 0; i++) {
      gc();
      await sleep(20);
    }
    expect(m.liveProxies).toBe(0);
    // The decrefs are queued (8 connections at a time): close() waits for every one of them.
    await m.close();
    await using check = await connectManager(a.address, OPTIONS);
    expect(await check.numberOfObjects()).toBe(base);
  });

  await rec('an aborted or expired call is never sent', async () => {
    await using m = await connectManager(a.address, { ...OPTIONS, maxConnections: 1 });
    await using q = await m.Queue();
    await using d = await m.dict();
    await expect(q.get({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await expect(d.set('side', 'effect', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await expect(d.call('__setitem__', ['t', 1], undefined, { timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    // Dedicated connections too (an RLock proxy opens its own).
    await using rl = await m.RLock();
    await expect(rl.acquire({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await q.put('item');
    await sleep(100);
    expect(await q.qsize()).toBe(1);
    expect(await d.getValue()).toEqual({});
    // The RLock was never acquired: another thread (connection) gets it at once.
    await using other = await rl.fork();
    expect(await other.acquire({ blocking: false })).toBe(true);
    await other.release();
  });

  await rec('close() with calls in flight', async () => {
    const m = await connectManager(a.address, OPTIONS);
    const q = await m.Queue();
    const rl = await m.RLock();
    const rl2 = await rl.fork();
    await rl.acquire();
    // Both block on the server: a pooled connection and a dedicated one.
    const get = settle(q.get(), 5_000);
    const acquire = settle(rl2.acquire(), 5_000);
    await sleep(200);
    await m.close({ timeout: 2_000 });
    const [g, ac] = await Promise.all([get, acquire]);
    expect(g.error).toBeInstanceOf(ConnectionClosedError);
    expect(ac.error).toBeInstanceOf(ConnectionClosedError);
    expect(m.openConnections).toBe(0);
    await using check = await connectManager(a.address, OPTIONS);
    expect(await check.numberOfObjects()).toBe(0);
  });

  await rec('aborted acquire leaves the lock free', async () => {
    await using m = await connectManager(a.address, OPTIONS);
    for (const make of [() => m.Lock(), () => m.Semaphore(1), () => m.BoundedSemaphore(1), () => m.RLock(), () => m.Condition()]) {
      await using lock = await make();
      // The holder: another proxy (and connection) for the same lock.
      await using holder = await lock.fork();
      expect(await holder.acquire()).toBe(true);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await expect(lock.acquire({ signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
      await holder.release();
      // The server-side acquire that was abandoned gets the lock and must give it back.
      await using third = await lock.fork();
      expect(await acquireWithin(third, 2_000)).toBe(true);
      await third.release();
    }
  });

  await rec('a proxy owned by another manager, inside a value', async () => {
    await using ma = await connectManager(a.address, OPTIONS);
    await using mb = await connectManager(b.address, OPTIONS);
    await using bd = await mb.dict({ from: 'B' });
    await using holder = await ma.dict();
    await holder.set('other', bd);
    // A keeps a proxy to B (every version, 2.7 too), which comes back to us as a RebuildProxy.
    const got = await holder.get('other');
    expect(got).toBeInstanceOf(DictProxy);
    const foreign = got as DictProxy;
    expect(foreign.id).toBe(bd.id);
    expect(await foreign.get('from')).toBe('B');
    await foreign.set('via', 'A');
    expect(await bd.get('via')).toBe('A');
    // References on B: ours (bd), A's stored proxy, and the one just received; none on A.
    expect((await mb.refcounts()).get(bd.id)).toBe(3);
    expect((await ma.refcounts()).has(bd.id)).toBe(false);
    await foreign.release();
    expect((await mb.refcounts()).get(bd.id)).toBe(2);
    // A still recognises its own proxies afterwards.
    await using inner = await ma.dict({ a: 1 });
    await holder.set('mine', inner);
    const back = await holder.get('mine');
    if (!py2) {
      expect(back).toBeInstanceOf(DictProxy);
      expect((back as DictProxy).id).toBe(inner.id);
      await (back as DictProxy).release();
    }
    await holder.clear();
  });

  await rec('deadlines while a dedicated connection is busy', async () => {
    await using m = await connectManager(a.address, OPTIONS);
    await using rl = await m.RLock();
    await using other = await rl.fork();
    await other.acquire();
    const blocked = rl.acquire(); // holds rl's connection on the server
    await sleep(100);
    const t0 = Date.now();
    const r1 = await settle(rl.repr({ timeout: 300 }), 2_000);
    expect(r1.error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(1_500);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r2 = await settle(rl.repr({ signal: ac.signal }), 2_000);
    expect(r2.error).toBeInstanceOf(AbortError);
    await other.release();
    expect(await blocked).toBe(true);
    // The cancelled calls left the connection in step.
    expect(await rl.repr()).toMatch(/RLock/);
    await rl.release();
  });

  await rec('proxy class sent for a registered typeid', async () => {
    await using m = await connectManager(a.address, OPTIONS);
    m.register('get_dict', DictProxy);
    await using o = await m.dict();
    await using g = await m.create<DictProxy>('get_dict');
    await g.set('k', 'v');
    // 3.6/3.7 servers cannot rebuild an AutoProxy; DictProxy is what Python itself sends.
    await o.set('g', g);
    const back = await o.get('g');
    if (py2) {
      // 2.7 stores a proxy of its own as the object itself.
      expect(back).toEqual({ k: 'v' });
    } else {
      expect(back).toBeInstanceOf(DictProxy);
      expect(await (back as DictProxy).get('k')).toBe('v');
      await (back as DictProxy).release();
    }
    await g.clear();
    await o.clear();
  });

  await rec("KeyError message as Python's str()", async () => {
    await using m = await connectManager(a.address, OPTIONS);
    await using d = await m.dict();
    const e = await d.getItem('zz').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).message).toBe("KeyError: 'zz'");
  });
}

describe.each(pythons.map((p) => [label(p), p] as const))('CPython %s', (name, py) => {
  it('client robustness', async () => {
    const a = await startServer(py, 'tcp');
    const b = await startServer(py, 'tcp');
    const failures: unknown[] = [];
    try {
      await scenarios(py, a, b, async (scenario, fn) => {
        try {
          await matrix.record(name, scenario, fn);
        } catch (e) {
          failures.push(`${scenario}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
        }
      });
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(failures).toEqual([]);
  });
});

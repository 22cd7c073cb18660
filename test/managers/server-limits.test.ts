/**
 * The manager server's builtin types against hostile sizes and shapes, without Python: linear
 * `sort(key=str.strip)`, cycle-safe and bounded `repr`, `list * n` with CPython's errors, lists past
 * the spread-argument limit, timeouts past setTimeout's 2^31 − 1 ms, and a Barrier that keeps no history.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { type Connection, connect } from '../../src/index.js';
import {
  type CallContext,
  type ManagerServer,
  PyArray,
  PyBarrier,
  PyCondition,
  PyEvent,
  PyList,
  PyLock,
  PyNamespace,
  PyQueue,
  PySemaphore,
  pyRepr,
  serveCall,
  serveManager,
} from '../../src/managers/index.js';
import { PyException, PyGlobal, PyObject, PySlice, dumps, loads, tuple } from '../../src/pickle/index.js';
import { waitFor } from '../../src/wire/deadline.js';

const KEY = 'limits-key';
let server: ManagerServer | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await server?.close();
  server = undefined;
});

const ctx = (channel = 1): CallContext => ({ channel, signal: new AbortController().signal });

/** What a served method threw: a Python exception's type and args. */
function raised(run: () => unknown): { type: string; args: unknown[] } | undefined {
  try {
    run();
  } catch (e) {
    if (e instanceof PyException) return { type: e.type, args: e.args };
    throw e;
  }
  return undefined;
}

/** One request on `conn`, as CPython's proxies send it. */
async function request(conn: Connection, ident: string | null, method: string, args: unknown[] = [], kwargs = new Map<string, unknown>()): Promise<[string, unknown]> {
  await conn.sendBytes(dumps(tuple(ident, method, tuple(...args), kwargs), { protocol: 4 }));
  return loads(await conn.recvBytes()) as [string, unknown];
}

/** A server method on a connection of its own, as CPython's manager calls one. */
async function serverMethod(s: ManagerServer, method: string, args: unknown[] = []): Promise<[string, unknown]> {
  const conn = await connect(s.address, { authkey: KEY });
  try {
    return await request(conn, null, method, args);
  } finally {
    conn.close();
  }
}

/** A connection turned into an object channel (`accept_connection`), as a proxy's. */
async function objectChannel(s: ManagerServer): Promise<Connection> {
  const conn = await connect(s.address, { authkey: KEY });
  expect(await request(conn, null, 'accept_connection', ['MainProcess'])).toEqual(['#RETURN', null]);
  return conn;
}

/** Milliseconds `run` takes. */
function timed(run: () => unknown): number {
  const t0 = performance.now();
  run();
  return performance.now() - t0;
}

/** `getattr(str, name)`, as a `sort(key=str.<name>)` arrives. */
const strMethod = (name: string): PyObject => new PyObject(new PyGlobal('builtins', 'getattr'), [new PyGlobal('builtins', 'str'), name]);

describe('sort(key=str.strip)', () => {
  it('is linear in inner whitespace (100,000 spaces took ~12 s with the regex strip)', () => {
    const l = new PyList([['a' + ' '.repeat(100_000) + 'a', ' 0 ']]);
    expect(timed(() => l[serveCall]('sort', [], { key: strMethod('strip') }))).toBeLessThan(2000);
    expect(l.items[0]).toBe(' 0 ');
  });

  it("strips Python's whitespace set, not JavaScript's \\s", () => {
    // \x1c-\x1f and \x85 are Python whitespace; U+FEFF is not (JS \s has it, and lacks the former).
    const l = new PyList([['\ufeffz', '\x1c\x1f\x85y\x1e', ' \u3000x\u2028']]);
    l[serveCall]('sort', [], { key: strMethod('strip') });
    expect(l.items).toEqual([' \u3000x\u2028', '\x1c\x1f\x85y\x1e', '\ufeffz']);
  });
});

describe('repr of self-referencing and shared values', () => {
  it('prints a container met inside itself as CPython does', () => {
    const x: unknown[] = [];
    x.push(x, x);
    expect(pyRepr(x)).toBe('[[...], [...]]');
    expect(pyRepr([x])).toBe('[[[...], [...]]]');
    const t = tuple([] as unknown[]);
    (t[0] as unknown[]).push(t);
    expect(pyRepr(t)).toBe('([(...)],)');
    const d = new Map<unknown, unknown>();
    d.set('me', d);
    expect(pyRepr(d)).toBe("{'me': {...}}");
    const o: Record<string, unknown> = {};
    o['me'] = [o];
    expect(pyRepr(o)).toBe("{'me': [{...}]}");
    // The same list twice side by side is no cycle.
    const y = [1];
    expect(pyRepr([y, y])).toBe('[[1], [1]]');
    // A served list holding itself.
    const l = new PyList();
    l.items.push(l);
    expect(l.pyRepr()).toBe('[[...]]');
  });

  it('cuts a huge acyclic repr at its length cap (2^22 shared leaves took seconds and ~16 MB)', () => {
    let v: unknown = 0;
    for (let i = 0; i < 22; i++) v = [v, v];
    let text = '';
    expect(timed(() => (text = pyRepr(v)))).toBeLessThan(2000);
    expect(text.length).toBeLessThanOrEqual(4 * 1024 * 1024 + 3);
    expect(text.length).toBeGreaterThan(4 * 1024 * 1024 - 100);
    expect(text.endsWith('...')).toBe(true);
    expect(text.startsWith('[[[[')).toBe(true);
  });

  it("a Namespace's attributes share one cap", () => {
    let v: unknown = 0;
    for (let i = 0; i < 21; i++) v = [v, v];
    const attrs = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, v]));
    const ns = new PyNamespace([], attrs);
    expect(ns.pyRepr().length).toBeLessThan(2 * 4 * 1024 * 1024 + 100);
  });

  it('a stock client: __repr__, __str__, index() and debug_info of a cyclic value answer at once (they held the server ~50 s)', async () => {
    const s = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY });
    server = s;
    const [, [ident]] = (await serverMethod(s, 'create', ['list'])) as [string, [string]];
    const channel = await objectChannel(s);
    try {
      // Python: x = []; x.append(x); x.append(x); l.append(x); l.append({'x': x})
      const x: unknown[] = [];
      x.push(x, x);
      const t0 = Date.now();
      expect(await request(channel, ident, 'append', [x])).toEqual(['#RETURN', null]);
      expect(await request(channel, ident, 'append', [new Map([['x', x]])])).toEqual(['#RETURN', null]);
      const text = "[[[...], [...]], {'x': [[...], [...]]}]";
      expect(await request(channel, ident, '__repr__')).toEqual(['#RETURN', text]);
      expect(await request(channel, ident, '__str__')).toEqual(['#RETURN', text]);
      const [kind, err] = await request(channel, ident, 'index', [[x]]);
      expect(kind).toBe('#ERROR');
      expect((err as PyException).args).toEqual(['[[[...], [...]]] is not in list']);
      expect(await serverMethod(s, 'debug_info')).toEqual(['#RETURN', `  ${ident}:       refcount=1\n    ${text}`]);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      channel.close();
    }
  });
});

describe('list * n', () => {
  it('an empty list or n <= 0 returns at once (l *= 10**9 on an empty list took ~16 s)', () => {
    const l = new PyList();
    expect(timed(() => l[serveCall]('__imul__', [10 ** 9], {}))).toBeLessThan(2000);
    expect(timed(() => expect(l[serveCall]('__mul__', [2n ** 62n], {})).toEqual([]))).toBeLessThan(2000);
    const m = new PyList([[1, 2]]);
    expect(m[serveCall]('__mul__', [-5], {})).toEqual([]);
    expect(m[serveCall]('__rmul__', [true], {})).toEqual([1, 2]);
    expect(m[serveCall]('__mul__', [3], {})).toEqual([1, 2, 1, 2, 1, 2]);
    m[serveCall]('__imul__', [2], {});
    expect(m.items).toEqual([1, 2, 1, 2]);
    m[serveCall]('__imul__', [0], {});
    expect(m.items).toEqual([]);
  });

  it("raises CPython's MemoryError, OverflowError and TypeError instead of growing until V8 aborts", () => {
    const l = new PyList([[1, 2, 3]]);
    expect(raised(() => l[serveCall]('__mul__', [2 ** 25], {}))).toEqual({ type: 'MemoryError', args: [] });
    expect(raised(() => l[serveCall]('__imul__', [2n ** 62n], {}))).toEqual({ type: 'MemoryError', args: [] });
    expect(l.items).toEqual([1, 2, 3]);
    const overflow = { type: 'OverflowError', args: ["cannot fit 'int' into an index-sized integer"] };
    expect(raised(() => new PyList()[serveCall]('__mul__', [-(10n ** 20n)], {}))).toEqual(overflow);
    expect(raised(() => l[serveCall]('__rmul__', [2n ** 63n], {}))).toEqual(overflow);
    expect(raised(() => l[serveCall]('__mul__', [1.5], {}))).toEqual({ type: 'TypeError', args: ["can't multiply sequence by non-int of type 'float'"] });
  });

  it('Array(typecode, n): n zeros, with the same errors', () => {
    expect(new PyArray(['i', 3]).items).toEqual([0, 0, 0]);
    expect(new PyArray(['i', -1]).items).toEqual([]);
    expect(raised(() => new PyArray(['i', 10 ** 15]))).toEqual({ type: 'MemoryError', args: [] });
    expect(raised(() => new PyArray(['i', 10n ** 20n]))).toEqual({ type: 'OverflowError', args: ["cannot fit 'int' into an index-sized integer"] });
    expect(raised(() => new PyArray(['i', 1.5]))).toEqual({ type: 'TypeError', args: ["'float' object is not iterable"] });
  });

  it('lists of 300,000 items: extend, sort, slice assignment and * (spread arguments overflowed the stack)', () => {
    const big = Array.from({ length: 300_000 }, (_, i) => 300_000 - i);
    const l = new PyList();
    l[serveCall]('extend', [big], {});
    expect(l.items.length).toBe(300_000);
    l[serveCall]('sort', [], {});
    expect(l.items[0]).toBe(1);
    expect(l.items[299_999]).toBe(300_000);
    l[serveCall]('__setitem__', [new PySlice(1, 2, null), big], {});
    expect(l.items.length).toBe(599_999);
    expect(l.items.slice(0, 3)).toEqual([1, 300_000, 299_999]);
    expect(l.items.slice(-2)).toEqual([299_999, 300_000]);
    expect((l[serveCall]('__mul__', [2], {}) as unknown[]).length).toBe(1_199_998);
  });
});

describe('timeouts past 2^31 − 1 ms (setTimeout fired them after 1 ms)', () => {
  const LONG = 3e6; // seconds: 34.7 days
  const pendingAfter = async <T>(p: Promise<T>, ms: number): Promise<boolean> => {
    let settled = false;
    void p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.advanceTimersByTimeAsync(ms);
    return !settled;
  };

  it('Event.wait, Queue.get, Lock/Semaphore acquire, Condition.wait and Barrier.wait wait the whole time, then time out', async () => {
    vi.useFakeTimers();
    const ev = new PyEvent();
    const q = new PyQueue();
    const lock = new PyLock();
    await lock.acquireFor(ctx(9), null);
    const sem = new PySemaphore([0]);
    const cond = new PyCondition(new PyLock());
    await cond.lock.acquireFor(ctx(2), null);
    const barrier = new PyBarrier([2]);
    const waits: Array<Promise<unknown>> = [
      ev[serveCall]('wait', [LONG], {}, ctx()) as Promise<unknown>,
      q.get(true, LONG, ctx()),
      lock[serveCall]('acquire', [true, LONG], {}, ctx()) as Promise<unknown>,
      sem[serveCall]('acquire', [true, LONG], {}, ctx()) as Promise<unknown>,
      cond.wait(LONG, ctx(2)),
      barrier[serveCall]('wait', [LONG], {}, ctx()) as Promise<unknown>,
    ];
    const results = waits.map((p) => p.then((v) => ({ v }), (e: unknown) => ({ e: e instanceof PyException ? e.type : e })));
    // A day later (and after 2^31 ms) every wait is still pending.
    expect(await pendingAfter(Promise.all(results), 86_400_000)).toBe(true);
    expect(await pendingAfter(Promise.all(results), 2 ** 31)).toBe(true);
    await vi.advanceTimersByTimeAsync(LONG * 1000);
    expect(await Promise.all(results)).toEqual([{ v: false }, { e: 'Empty' }, { v: false }, { v: false }, { v: false }, { e: 'BrokenBarrierError' }]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a long wait ended early leaves no timer', async () => {
    vi.useFakeTimers();
    const ev = new PyEvent();
    const waiting = ev[serveCall]('wait', [LONG], {}, ctx()) as Promise<boolean>;
    await vi.advanceTimersByTimeAsync(2 ** 31 + 1000);
    expect(vi.getTimerCount()).toBe(1);
    ev[serveCall]('set', [], {}, ctx());
    expect(await waiting).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a JS-side { timeout } of 2^31 + 5,000 ms waits that long', async () => {
    vi.useFakeTimers();
    let cancelled = 0;
    const outcome = waitFor<string>({ timeout: 2 ** 31 + 5000 }, () => () => cancelled++).catch((e: unknown) => e);
    expect(await pendingAfter(outcome, 2 ** 31)).toBe(true);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await outcome).toBeInstanceOf(TimeoutError);
    expect(cancelled).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a stock client: q.get(timeout=3e6) blocks until an item comes (it raised Empty at once)', async () => {
    const s = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY });
    server = s;
    const [, [ident]] = (await serverMethod(s, 'create', ['Queue'])) as [string, [string]];
    const getter = await objectChannel(s);
    const putter = await objectChannel(s);
    try {
      const reply = request(getter, ident, 'get', [], new Map([['timeout', 3e6]]));
      const first = await Promise.race([reply.then(() => 'answered'), new Promise((r) => setTimeout(() => r('pending'), 300))]);
      expect(first).toBe('pending');
      expect(await request(putter, ident, 'put', ['item'])).toEqual(['#RETURN', null]);
      expect(await reply).toEqual(['#RETURN', 'item']);
    } finally {
      getter.close();
      putter.close();
    }
  });
});

describe('Barrier', () => {
  it('keeps no history of broken rounds (1,000,000 abort + reset cycles grew a Set by tens of MB), yet a round stays broken for its waiters', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const b = new PyBarrier([2]);
    const c = ctx();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) {
      b[serveCall]('abort', [], {}, c);
      b[serveCall]('reset', [], {}, c);
    }
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024);
    expect(b.broken).toBe(false);
    // A waiter resuming after its round was broken and the barrier reset still sees it broken.
    const first = b.wait(null, c);
    b[serveCall]('abort', [], {}, c);
    b[serveCall]('reset', [], {}, c);
    await expect(first).rejects.toMatchObject({ type: 'BrokenBarrierError' });
    expect(await Promise.all([b.wait(null, ctx()), b.wait(null, ctx())])).toEqual([0, 1]);
  });
});

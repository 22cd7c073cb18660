/**
 * Unit tests of the TypeScript manager server without Python: raw protocol exchanges through the
 * wire layer (reply shapes, shutdown, auth failure, refcounts) and mpwire's own managers client.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthenticationError, type Connection, type DigestName, connect } from '../../src/index.js';
import {
  type ManagerServer,
  PyDict,
  PyQueue,
  RemoteError,
  Token,
  connectManager,
  pyEquals,
  pyError,
  pyKey,
  pyRepr,
  serveManager,
} from '../../src/managers/index.js';
import { PyException, PyFloat, PyGlobal, PySlice, dumps, loads, tuple } from '../../src/pickle/index.js';

const KEY = 'unit-key';
let server: ManagerServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

class Counter {
  n = 0;
  add(k: number, kw?: { times?: number }): number {
    this.n += k * (kw?.times ?? 1);
    return this.n;
  }
  fail(): never {
    throw pyError('KeyError', 'nope');
  }
  crash(): never {
    throw new Error('js crash');
  }
}

async function start(registry = {}): Promise<ManagerServer> {
  server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY, registry });
  return server;
}

/** One raw request on a fresh authenticated connection, as CPython's `dispatch`. */
async function raw(s: ManagerServer, ident: string | null, method: string, args: unknown[] = [], conn?: Connection): Promise<[string, unknown]> {
  const c = conn ?? (await connect(s.address, { authkey: KEY }));
  try {
    await c.sendBytes(dumps(tuple(ident, method, tuple(...args), {}), { protocol: 4 }));
    return loads(await c.recvBytes()) as [string, unknown];
  } finally {
    if (!conn) c.close();
  }
}

describe('server methods (raw protocol)', () => {
  it('dummy, create, incref/decref, number_of_objects, debug_info, get_methods', async () => {
    const s = await start();
    expect(await raw(s, null, 'dummy')).toEqual(['#RETURN', null]);
    const [kind, value] = await raw(s, null, 'create', ['dict']);
    expect(kind).toBe('#RETURN');
    const [ident, exposed] = value as [string, string[]];
    expect(ident).toMatch(/^[0-9a-f]+$/);
    expect(exposed).toContain('__getitem__');
    expect(await raw(s, null, 'number_of_objects')).toEqual(['#RETURN', 1]);
    expect(await raw(s, null, 'incref', [ident])).toEqual(['#RETURN', null]);
    const [, info] = await raw(s, null, 'debug_info');
    expect(info).toBe(`  ${ident}:       refcount=2\n    {}`);
    const [, methods] = await raw(s, null, 'get_methods', [new Token('dict', s.address as [string, number], ident)]);
    expect(methods).toEqual(exposed);
    await raw(s, null, 'decref', [ident]);
    expect(await raw(s, null, 'decref', [ident])).toEqual(['#RETURN', null]);
    expect(s.numberOfObjects).toBe(0);
    const [k2, tb] = await raw(s, null, 'decref', [ident]);
    expect(k2).toBe('#TRACEBACK');
    expect(tb).toMatch(/KeyError: '/);
  });

  it('unknown method, unknown typeid and a bad request shape give #TRACEBACK', async () => {
    const s = await start();
    const [k1, t1] = await raw(s, null, 'bogus');
    expect(k1).toBe('#TRACEBACK');
    expect(t1).toMatch(/AssertionError: 'bogus' unrecognized\n$/);
    const [k2, t2] = await raw(s, null, 'create', ['NoSuch']);
    expect([k2, (t2 as string).trim().split('\n').pop()]).toEqual(['#TRACEBACK', "KeyError: 'NoSuch'"]);
    const c = await connect(s.address, { authkey: KEY });
    await c.sendBytes(dumps(tuple('x', 'y'), { protocol: 4 }));
    const [k3] = loads(await c.recvBytes()) as [string, unknown];
    expect(k3).toBe('#TRACEBACK');
    c.close();
  });

  it('object channel: #RETURN, #ERROR, exposed check, fallbacks, #PROXY, ident 0', async () => {
    const s = await start();
    const [, [ident]] = (await raw(s, null, 'create', ['dict'])) as [string, [string]];
    const c = await connect(s.address, { authkey: KEY });
    expect(await raw(s, null, 'accept_connection', ['MainProcess'], c)).toEqual(['#RETURN', null]);
    expect(await raw(s, ident, '__setitem__', ['k', new PyFloat(1.5)], c)).toEqual(['#RETURN', null]);
    expect(await raw(s, ident, '__getitem__', ['k'], c)).toEqual(['#RETURN', 1.5]);
    const [ek, ev] = await raw(s, ident, '__getitem__', ['zz'], c);
    expect(ek).toBe('#ERROR');
    expect(ev).toBeInstanceOf(PyException);
    expect((ev as PyException).type).toBe('KeyError');
    const [nk, nv] = await raw(s, ident, 'nope', [], c);
    expect(nk).toBe('#TRACEBACK');
    expect(nv).toMatch(/AttributeError: method 'nope' of <class 'dict'> object is not in exposed=/);
    expect(await raw(s, ident, '__repr__', [], c)).toEqual(['#RETURN', "{'k': 1.5}"]);
    expect(await raw(s, ident, '#GETVALUE', [], c)).toEqual(['#RETURN', { k: 1.5 }]);
    const [pk, pv] = await raw(s, ident, '__iter__', [], c);
    expect(pk).toBe('#PROXY');
    const [exposed, token] = pv as [string[], { state: unknown }];
    expect(exposed).toContain('__next__');
    expect(token).toBeDefined();
    expect((await raw(s, '0', '__len__', [], c))[0]).toBe('#TRACEBACK');
    expect((await raw(s, 'ffff', '__len__', [], c))[0]).toBe('#TRACEBACK');
    c.close();
    // The iterator (refcount 1, held by the #PROXY reply) and the dict.
    expect(s.numberOfObjects).toBe(2);
  });

  it('shutdown: two #RETURN None then EOF, and the server closes', async () => {
    const s = await start();
    const c = await connect(s.address, { authkey: KEY });
    await c.sendBytes(dumps(tuple(null, 'shutdown', tuple(), {}), { protocol: 4 }));
    expect(loads(await c.recvBytes())).toEqual(['#RETURN', null]);
    expect(loads(await c.recvBytes())).toEqual(['#RETURN', null]);
    await expect(c.recvBytes()).rejects.toThrow();
    await s.closed;
  });

  it('wrong authkey: the client is refused, the server keeps serving', async () => {
    const s = await start();
    await expect(connect(s.address, { authkey: 'wrong' })).rejects.toBeInstanceOf(AuthenticationError);
    expect(await raw(s, null, 'dummy')).toEqual(['#RETURN', null]);
  });

  it('an unsupported digest is refused before listening (it was only found at each handshake)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mpwire-manager-test-')), 'sock');
    const started = serveManager({ address: path, authkey: KEY, digest: 'sha1' as DigestName });
    await expect(started).rejects.toBeInstanceOf(TypeError);
    await expect(started).rejects.toThrow("unsupported digest 'sha1'");
    expect(existsSync(path)).toBe(false);
  });
});

describe('with the mpwire managers client', () => {
  it('SyncManager typeids', async () => {
    const s = await start();
    await using m = await connectManager(s.address, { authkey: KEY });
    const d = await m.dict();
    await d.set('a', 1);
    expect(await d.get('a')).toBe(1);
    await expect(d.getItem('b')).rejects.toMatchObject({ type: 'KeyError' });
    const l = await m.list([3, 1, 2]);
    await l.call('sort');
    expect(await l.call('__getitem__', [new PySlice(null, null, null)])).toEqual([1, 2, 3]);
    const q = await m.Queue();
    await q.put('x');
    expect(await q.get({ timeout: 1000 })).toBe('x');
    const t0 = Date.now();
    await expect(q.get({ timeout: 200 })).rejects.toMatchObject({ type: 'Empty' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    const ns = await m.Namespace({ a: 1 });
    expect(await ns.get('a')).toBe(1);
    const v = await m.Value('i', 3);
    await v.set(4);
    expect(await v.get()).toBe(4);
    const e = await m.Event();
    const waiting = e.wait({ timeout: 5000 });
    await e.set();
    expect(await waiting).toBe(true);
    for (const p of [d, l, q, ns, v, e]) await p.release();
    expect(await m.numberOfObjects()).toBe(0);
  });

  it('set typeid and list.sort keys', async () => {
    const s = await start();
    await using m = await connectManager(s.address, { authkey: KEY });
    await using st = await m.set(['b', 'a']);
    await st.update(['c', 'a']);
    expect(await st.size()).toBe(3);
    expect(await st.values()).toEqual(new Set(['b', 'a', 'c']));
    await expect(st.call('add', [[1]])).rejects.toMatchObject({ type: 'TypeError' }); // unhashable
    expect(await st.call('__le__', [new Set(['a', 'b', 'c', 'd'])])).toBe(true);
    expect(await st.call('__lt__', [new Set(['a', 'b', 'c'])])).toBe(false);
    expect(await st.call('symmetric_difference', [['c', 'z']])).toEqual(new Set(['b', 'a', 'z']));
    await expect(st.call('__or__', [['x']])).rejects.toMatchObject({ type: 'TypeError' }); // a list is no set operand
    await st.remove('a');
    await expect(st.remove('a')).rejects.toMatchObject({ type: 'KeyError' });
    await using l = await m.list([-3, 1, 2]);
    await l.call('sort', [], { key: new PyGlobal('builtins', 'abs') });
    expect(await l.call('copy')).toEqual([1, 2, -3]);
    await l.call('sort', [], { key: new PyGlobal('builtins', 'abs'), reverse: true });
    expect(await l.call('copy')).toEqual([-3, 2, 1]);
    await expect(l.call('sort', [], { key: new PyGlobal('builtins', 'max') })).rejects.toMatchObject({ type: 'TypeError' });
    await using d = await m.dict({ a: 1 });
    expect(await d.call('__or__', [new Map([['b', 2]])])).toEqual({ a: 1, b: 2 });
    expect(await d.call('fromkeys', [['x'], 0])).toEqual({ x: 0 });
  });

  it('a blocked get holds only its own connection', async () => {
    const s = await start();
    await using m = await connectManager(s.address, { authkey: KEY });
    const q = await m.Queue();
    const pending = q.get();
    const d = await m.dict();
    await d.set('k', 'v');
    expect(await d.get('k')).toBe('v');
    await q.put(42);
    expect(await pending).toBe(42);
  });

  it('JS registry entries: kwargs, PyException → #ERROR, other errors → #TRACEBACK', async () => {
    const counter = new Counter();
    const queue = new PyQueue();
    const s = await start({ get_counter: () => counter, get_queue: () => queue });
    await using m = await connectManager(s.address, { authkey: KEY });
    const c = await m.create('get_counter');
    expect(await c.call('add', [2], { times: 3 })).toBe(6);
    await expect(c.call('fail')).rejects.toMatchObject({ type: 'KeyError', args: ['nope'] });
    const err = (await c.call('crash').catch((x: unknown) => x)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.traceback).toMatch(/Error: js crash/);
    const q1 = await m.create('get_queue');
    const q2 = await m.create('get_queue');
    expect(q1.token.id).toBe(q2.token.id);
    await q1.call('put', ['item']);
    expect(queue.items).toEqual(['item']);
    expect(s.refcounts().get(q1.token.id)).toBe(2);
  });
});

describe('Python value semantics', () => {
  it('keys: 1 == 1.0 == True; unhashable lists', () => {
    expect(pyKey(1)).toBe(pyKey(new PyFloat(1)));
    expect(pyKey(true)).toBe(pyKey(1));
    expect(pyKey(tuple(1, 'a'))).not.toBe(pyKey(tuple('1', 'a')));
    expect(() => pyKey([1])).toThrow(/unhashable type: 'list'/);
    const d = new PyDict();
    d.set(1, 'x');
    expect(d.get(new PyFloat(1))).toBe('x');
    expect(pyEquals([1, tuple(2)], [new PyFloat(1), tuple(2)])).toBe(true);
  });

  it('repr', () => {
    expect(pyRepr(new Map<unknown, unknown>([['a', tuple(1)], [2, null]]))).toBe("{'a': (1,), 2: None}");
    expect(pyRepr([new PyFloat(1), "it's", Buffer.from([0, 65])])).toBe(`[1.0, "it's", b'\\x00A']`);
  });
});

/**
 * `Proxy`: a reference to one object held by a Python manager server, and typed proxies for the
 * SyncManager typeids. A proxy owns exactly one server-side reference, dropped once by
 * `release()`/`dispose()` (or, as a safety net, when the proxy is garbage-collected).
 * @module
 */
import { RemoteError } from '../errors.js';
import { PyGlobal, type Reduction, pyReduce } from '../pickle/index.js';
import type { WaitOptions } from '../wire/deadline.js';
import { type Token, rebuildProxyReduction } from './protocol.js';

/**
 * Options of one proxy call: a JS-side deadline or abort signal (which close the connection used).
 * @example
 * ```ts
 * await queue.put(job, { timeout: 5_000 });
 * await dict.get('k', undefined, { signal: AbortSignal.timeout(1_000) });
 * ```
 */
export type CallOptions = WaitOptions;

/** Bookkeeping shared between a proxy and its client; holds no reference to the proxy itself. */
export interface ProxyState {
  readonly id: string;
  released: boolean;
  /** A connection of its own (RLock, Condition, `fork()`), else calls use the pool. */
  dedicated: boolean;
}

/** What a proxy needs from its client (implemented by `ManagerClient`). */
export interface ProxyHost {
  readonly serializer: string;
  invoke(proxy: Proxy, state: ProxyState, method: string, args: readonly unknown[], kwargs: unknown, options?: CallOptions): Promise<unknown>;
  releaseProxy(state: ProxyState, options?: CallOptions): Promise<void>;
  forkProxy(proxy: Proxy, state: ProxyState, options?: CallOptions): Promise<Proxy>;
  /** The token to put in a pickled proxy: the server's own view of its address (§5.5). */
  wireToken(token: Token): Token;
  /** Python proxy class name to rebuild a proxy of this typeid with (`'AutoProxy'` when unknown). */
  proxyClassName(typeid: string): string;
}

/**
 * Everything a proxy class is constructed from (internal; subclasses pass it through).
 * @example
 * ```ts
 * class CounterProxy extends Proxy {
 *   constructor(init: ProxyInit) { super(init); }
 *   increment() { return this.call('increment'); }
 * }
 * m.register('get_counter', CounterProxy);
 * ```
 */
export interface ProxyInit {
  readonly host: ProxyHost;
  readonly token: Token;
  readonly exposed: readonly string[] | null;
  readonly state: ProxyState;
}

/**
 * A proxy class: `Proxy` or a subclass, registered per typeid with `ManagerClient.register`.
 * @example
 * ```ts
 * const cls: ProxyClass<QueueProxy> = QueueProxy;
 * m.register('get_jobs', cls);
 * ```
 */
export type ProxyClass<P extends Proxy = Proxy> = new (init: ProxyInit) => P;

/** Milliseconds (JS) → seconds (Python) for server-side timeouts. */
function seconds(ms: number | undefined): number | null {
  return ms === undefined || ms === Number.POSITIVE_INFINITY ? null : Math.max(0, ms) / 1000;
}

/**
 * A reference to an object in a manager server. Obtain one from `ManagerClient.create`, a typed
 * helper (`m.dict()`, …) or as the result of a call.
 * @example
 * ```ts
 * await using d = await m.create('dict');
 * await d.call('__setitem__', ['k', 1]);
 * await d.call('__getitem__', ['k']); // 1
 * ```
 */
export class Proxy implements AsyncDisposable {
  /** `Token(typeid, address, id)`; `address` is the address this client connected to. */
  readonly token: Token;
  /** Method names the server lets this client call (from the server; `null` when unknown). */
  readonly exposed: readonly string[] | null;
  readonly #host: ProxyHost;
  readonly #state: ProxyState;

  constructor(init: ProxyInit) {
    this.token = init.token;
    this.exposed = init.exposed;
    this.#host = init.host;
    this.#state = init.state;
  }

  /** Registry name of the referent's type, e.g. `'dict'`. */
  get typeid(): string {
    return this.token.typeid;
  }
  /** The referent's ident on the server. */
  get id(): string {
    return this.token.id;
  }
  /** True once this proxy's reference was dropped. */
  get released(): boolean {
    return this.#state.released;
  }

  /**
   * Call `method` on the referent with positional `args` and keyword `kwargs`, exactly as a
   * Python proxy's `_callmethod` does. Results that are shared objects come back as proxies;
   * exceptions raised by the method reject with {@link RemoteError} (`type`, `module`, `args`).
   * @example
   * ```ts
   * await q.call('get', [], { timeout: 1 }); // Python timeout in seconds, as a keyword argument
   * ```
   */
  call(method: string, args: readonly unknown[] = [], kwargs?: Record<string, unknown> | Map<string, unknown>, options?: CallOptions): Promise<unknown> {
    return this.#host.invoke(this, this.#state, method, args, kwargs ?? {}, options);
  }

  /** A copy of the referent (the `#GETVALUE` fallback, Python's `proxy._getvalue()`). */
  getValue(options?: CallOptions): Promise<unknown> {
    return this.call('#GETVALUE', [], undefined, options);
  }

  /** `repr()` of the referent, computed on the server. */
  async repr(options?: CallOptions): Promise<string> {
    return String(await this.call('__repr__', [], undefined, options));
  }

  /** `str()` of the referent, computed on the server. */
  async str(options?: CallOptions): Promise<string> {
    return String(await this.call('__str__', [], undefined, options));
  }

  /**
   * Drop this proxy's server reference (a `decref` on a fresh connection). Idempotent: only the
   * first call decrefs. Lock-like proxies use `release()` for the lock; call `dispose()` there.
   */
  release(options?: CallOptions): Promise<void> {
    return this.dispose(options);
  }

  /** Drop this proxy's server reference (same as `Proxy.release()`, for every proxy type). */
  dispose(options?: CallOptions): Promise<void> {
    return this.#host.releaseProxy(this.#state, options);
  }

  /**
   * Another proxy for the same referent, with its own reference (incref) and its own connection:
   * the equivalent of using the object from a second Python thread (needed for `RLock` and
   * `Condition`, whose owner is the server thread of a connection).
   */
  fork(options?: CallOptions): Promise<this> {
    return this.#host.forkProxy(this, this.#state, options) as Promise<this>;
  }

  /** `await using p = await m.dict()` releases the reference at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** Pickled inside a value as `RebuildProxy(AutoProxy, token, serializer, {'exposed': …})`. */
  [pyReduce](): Reduction {
    return rebuildProxyReduction(this.#host.wireToken(this.token), this.#host.serializer, this.exposed, this.#host.proxyClassName(this.typeid));
  }

  toString(): string {
    return `<${this.constructor.name} typeid=${JSON.stringify(this.typeid)} id=${JSON.stringify(this.id)}${this.released ? ' released' : ''}>`;
  }
}

function isType(e: unknown, type: string): boolean {
  return e instanceof RemoteError && e.type === type;
}

/**
 * Proxy of a `dict` (DictProxy). Async iteration yields `[key, value]` entries of a snapshot.
 * @example
 * ```ts
 * const d = await m.dict();
 * await d.set('answer', 42);
 * for await (const [k, v] of d) console.log(k, v);
 * ```
 */
export class DictProxy<K = unknown, V = unknown> extends Proxy implements AsyncIterable<[K, V]> {
  /** `d.get(key, default)`: Python's `None` (`null`) or `dflt` when missing. */
  get(key: K, dflt?: V, options?: CallOptions): Promise<V | null> {
    // Not async: one promise layer less on the hottest call (bench/managers/dict.mjs).
    return this.call('get', dflt === undefined ? [key] : [key, dflt], undefined, options) as Promise<V | null>;
  }
  /** `d[key]`; rejects with RemoteError type `KeyError` when missing. */
  async getItem(key: K, options?: CallOptions): Promise<V> {
    return (await this.call('__getitem__', [key], undefined, options)) as V;
  }
  async set(key: K, value: V, options?: CallOptions): Promise<this> {
    await this.call('__setitem__', [key, value], undefined, options);
    return this;
  }
  async has(key: K, options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('__contains__', [key], undefined, options));
  }
  /** `del d[key]`; false when the key was missing. */
  async delete(key: K, options?: CallOptions): Promise<boolean> {
    try {
      await this.call('__delitem__', [key], undefined, options);
      return true;
    } catch (e) {
      if (isType(e, 'KeyError')) return false;
      throw e;
    }
  }
  async keys(options?: CallOptions): Promise<K[]> {
    return Array.from((await this.call('keys', [], undefined, options)) as Iterable<K>);
  }
  async values(options?: CallOptions): Promise<V[]> {
    return Array.from((await this.call('values', [], undefined, options)) as Iterable<V>);
  }
  async items(options?: CallOptions): Promise<Array<[K, V]>> {
    return Array.from((await this.call('items', [], undefined, options)) as Iterable<[K, V]>, (kv) => [kv[0], kv[1]]);
  }
  async size(options?: CallOptions): Promise<number> {
    return Number(await this.call('__len__', [], undefined, options));
  }
  async clear(options?: CallOptions): Promise<void> {
    await this.call('clear', [], undefined, options);
  }
  async update(values: Record<string, unknown> | Map<unknown, unknown>, options?: CallOptions): Promise<void> {
    await this.call('update', [values], undefined, options);
  }
  /** `d.pop(key[, dflt])`; without `dflt` a missing key rejects with `KeyError`. */
  async pop(key: K, dflt?: V, options?: CallOptions): Promise<V> {
    return (await this.call('pop', dflt === undefined ? [key] : [key, dflt], undefined, options)) as V;
  }
  async setdefault(key: K, dflt: V, options?: CallOptions): Promise<V> {
    return (await this.call('setdefault', [key, dflt], undefined, options)) as V;
  }
  /** A plain copy of the dict. */
  copy(options?: CallOptions): Promise<unknown> {
    return this.call('copy', [], undefined, options);
  }
  /** `iter(d)` on the server: an {@link IteratorProxy} over the keys (a `#PROXY` result). */
  async iterator(options?: CallOptions): Promise<IteratorProxy<K>> {
    return (await this.call('__iter__', [], undefined, options)) as IteratorProxy<K>;
  }
  async *[Symbol.asyncIterator](): AsyncIterator<[K, V]> {
    yield* await this.items();
  }
}

/**
 * Proxy of a `list` (ListProxy). Async iteration walks a snapshot (one request).
 * @example
 * ```ts
 * const l = await m.list([1, 2]);
 * await l.append(3);
 * console.log(await l.toArray()); // [1, 2, 3]
 * ```
 */
export class ListProxy<T = unknown> extends Proxy implements AsyncIterable<T> {
  async get(index: number, options?: CallOptions): Promise<T> {
    return (await this.call('__getitem__', [index], undefined, options)) as T;
  }
  async set(index: number, value: T, options?: CallOptions): Promise<void> {
    await this.call('__setitem__', [index, value], undefined, options);
  }
  async delete(index: number, options?: CallOptions): Promise<void> {
    await this.call('__delitem__', [index], undefined, options);
  }
  async append(value: T, options?: CallOptions): Promise<void> {
    await this.call('append', [value], undefined, options);
  }
  async extend(values: Iterable<T>, options?: CallOptions): Promise<void> {
    await this.call('extend', [Array.from(values)], undefined, options);
  }
  async insert(index: number, value: T, options?: CallOptions): Promise<void> {
    await this.call('insert', [index, value], undefined, options);
  }
  async pop(index?: number, options?: CallOptions): Promise<T> {
    return (await this.call('pop', index === undefined ? [] : [index], undefined, options)) as T;
  }
  async remove(value: T, options?: CallOptions): Promise<void> {
    await this.call('remove', [value], undefined, options);
  }
  async index(value: T, options?: CallOptions): Promise<number> {
    return Number(await this.call('index', [value], undefined, options));
  }
  async count(value: T, options?: CallOptions): Promise<number> {
    return Number(await this.call('count', [value], undefined, options));
  }
  async has(value: T, options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('__contains__', [value], undefined, options));
  }
  async length(options?: CallOptions): Promise<number> {
    return Number(await this.call('__len__', [], undefined, options));
  }
  async reverse(options?: CallOptions): Promise<void> {
    await this.call('reverse', [], undefined, options);
  }
  /** `sort(reverse=…)` (a `key` function cannot be sent). */
  async sort(opts: { reverse?: boolean } = {}, options?: CallOptions): Promise<void> {
    await this.call('sort', [], opts.reverse === undefined ? {} : { reverse: opts.reverse }, options);
  }
  /** A copy of the list's items. */
  async toArray(options?: CallOptions): Promise<T[]> {
    return Array.from((await this.getValue(options)) as Iterable<T>);
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield* await this.toArray();
  }
}

/**
 * `{ block, timeout }` of `Queue.put`/`get`; `timeout` is in milliseconds and sent as seconds.
 * @example
 * ```ts
 * const job = await queue.get({ block: true, timeout: 2_000 }); // RemoteError 'Empty' after 2 s
 * ```
 */
export interface QueueWaitOptions extends CallOptions {
  block?: boolean;
}

function queueArgs(o: QueueWaitOptions | undefined): Record<string, unknown> {
  const kw: Record<string, unknown> = {};
  if (o?.block !== undefined) kw['block'] = o.block;
  if (o?.timeout !== undefined) kw['timeout'] = seconds(o.timeout);
  return kw;
}

/**
 * Proxy of a `queue.Queue` (`Queue`, `JoinableQueue`, or a registered callable returning one).
 * `get({ timeout })` waits on the server and rejects with RemoteError type `'Empty'` when nothing
 * arrived (`put` on a full queue: `'Full'`). `timeout` is applied by the server, so the connection
 * stays usable; pass `signal` only if losing an item that arrives after the abort is acceptable.
 * @example
 * ```ts
 * const q = await m.Queue();
 * await q.put({ job: 1 });
 * const item = await q.get({ timeout: 1_000 });
 * ```
 */
export class QueueProxy<T = unknown> extends Proxy {
  async put(item: T, options?: QueueWaitOptions): Promise<void> {
    await this.call('put', [item], queueArgs(options), options?.signal ? { signal: options.signal } : undefined);
  }
  async get(options?: QueueWaitOptions): Promise<T> {
    return (await this.call('get', [], queueArgs(options), options?.signal ? { signal: options.signal } : undefined)) as T;
  }
  async putNowait(item: T, options?: CallOptions): Promise<void> {
    await this.call('put_nowait', [item], undefined, options);
  }
  async getNowait(options?: CallOptions): Promise<T> {
    return (await this.call('get_nowait', [], undefined, options)) as T;
  }
  async qsize(options?: CallOptions): Promise<number> {
    return Number(await this.call('qsize', [], undefined, options));
  }
  async empty(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('empty', [], undefined, options));
  }
  async full(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('full', [], undefined, options));
  }
  async taskDone(options?: CallOptions): Promise<void> {
    await this.call('task_done', [], undefined, options);
  }
  async join(options?: CallOptions): Promise<void> {
    await this.call('join', [], undefined, options);
  }
}

/**
 * Proxy of a `Namespace`: attributes through `__getattribute__`/`__setattr__`/`__delattr__`.
 * @example
 * ```ts
 * const ns = await m.Namespace({ ready: false });
 * await ns.set('ready', true);
 * await ns.get('ready'); // true
 * ```
 */
export class NamespaceProxy extends Proxy {
  /** Rejects with RemoteError type `AttributeError` for a missing attribute. */
  get(name: string, options?: CallOptions): Promise<unknown> {
    return this.call('__getattribute__', [name], undefined, options);
  }
  async set(name: string, value: unknown, options?: CallOptions): Promise<void> {
    await this.call('__setattr__', [name, value], undefined, options);
  }
  async delete(name: string, options?: CallOptions): Promise<void> {
    await this.call('__delattr__', [name], undefined, options);
  }
}

/**
 * Proxy of a `set` (the typeid SyncManager registers from CPython 3.14 on; mpwire's own
 * {@link serveManager} serves it to every client).
 * @example
 * ```ts
 * await using s = await m.set([1, 2]);
 * await s.add(3);
 * await s.has(3); // true
 * ```
 */
export class SetProxy<T = unknown> extends Proxy {
  async add(value: T, options?: CallOptions): Promise<void> {
    await this.call('add', [value], undefined, options);
  }
  /** `discard(value)`: no error when absent. */
  async discard(value: T, options?: CallOptions): Promise<void> {
    await this.call('discard', [value], undefined, options);
  }
  /** `remove(value)`: a `RemoteError` of type `KeyError` when absent. */
  async remove(value: T, options?: CallOptions): Promise<void> {
    await this.call('remove', [value], undefined, options);
  }
  async has(value: T, options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('__contains__', [value], undefined, options));
  }
  async size(options?: CallOptions): Promise<number> {
    return Number(await this.call('__len__', [], undefined, options));
  }
  /** `update(*iterables)`. */
  async update(values: Iterable<T>, options?: CallOptions): Promise<void> {
    await this.call('update', [new Set(values)], undefined, options);
  }
  async pop(options?: CallOptions): Promise<T> {
    return (await this.call('pop', [], undefined, options)) as T;
  }
  async clear(options?: CallOptions): Promise<void> {
    await this.call('clear', [], undefined, options);
  }
  /** A copy of the whole set. */
  async values(options?: CallOptions): Promise<Set<T>> {
    return (await this.call('copy', [], undefined, options)) as Set<T>;
  }
}

/**
 * Proxy of a `Value(typecode, value)`.
 * @example
 * ```ts
 * const v = await m.Value('i', 0);
 * await v.set((await v.get()) + 1);
 * ```
 */
export class ValueProxy<T = unknown> extends Proxy {
  async get(options?: CallOptions): Promise<T> {
    return (await this.call('get', [], undefined, options)) as T;
  }
  async set(value: T, options?: CallOptions): Promise<void> {
    await this.call('set', [value], undefined, options);
  }
}

/**
 * Proxy of an `Array(typecode, sequence)`.
 * @example
 * ```ts
 * const a = await m.Array('d', [0.5, 1.5]);
 * await a.set(0, 2.5);
 * await a.length(); // 2
 * ```
 */
export class ArrayProxy<T = unknown> extends Proxy {
  async get(index: number, options?: CallOptions): Promise<T> {
    return (await this.call('__getitem__', [index], undefined, options)) as T;
  }
  async set(index: number, value: T, options?: CallOptions): Promise<void> {
    await this.call('__setitem__', [index, value], undefined, options);
  }
  async length(options?: CallOptions): Promise<number> {
    return Number(await this.call('__len__', [], undefined, options));
  }
}

/**
 * `{ blocking, timeout }` of `acquire`; `timeout` in milliseconds, sent as seconds.
 * @example
 * ```ts
 * const got = await lock.acquire({ blocking: true, timeout: 500 });
 * ```
 */
export interface AcquireOptions extends CallOptions {
  blocking?: boolean;
}

/**
 * Proxy of `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore` (AcquirerProxy). **`release()` releases
 * the lock** as in Python; drop the proxy's reference with `dispose()` / `await using`. RLock
 * proxies use a connection of their own, so acquire and release come from the same server thread.
 * @example
 * ```ts
 * const lock = await m.Lock();
 * if (await lock.acquire({ timeout: 1_000 })) {
 *   try {
 *     // critical section shared with Python processes
 *   } finally {
 *     await lock.release();
 *   }
 * }
 * ```
 */
export class AcquirerProxy extends Proxy {
  async acquire(opts: AcquireOptions = {}): Promise<boolean> {
    // Positional, as Python 2's C locks take no keywords (and no timeout at all).
    const args: unknown[] = [];
    if (opts.timeout !== undefined) args.push(opts.blocking ?? true, seconds(opts.timeout) ?? -1);
    else if (opts.blocking !== undefined) args.push(opts.blocking);
    return Boolean(await this.call('acquire', args, undefined, opts.signal ? { signal: opts.signal } : undefined));
  }
  /** Release the lock (not the proxy; see `dispose()`). */
  override async release(options?: CallOptions): Promise<void> {
    await this.call('release', [], undefined, options);
  }
}

/**
 * Proxy of a `Condition` (on a connection of its own; use `fork()` for a second "thread").
 * @example
 * ```ts
 * const cond = await m.Condition();
 * await cond.acquire();
 * await cond.wait({ timeout: 1_000 });
 * await cond.release();
 * ```
 */
export class ConditionProxy extends AcquirerProxy {
  /** `wait(timeout)`; resolves false on timeout. */
  async wait(opts: CallOptions = {}): Promise<boolean> {
    return Boolean(await this.call('wait', [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined));
  }
  async notify(n = 1, options?: CallOptions): Promise<void> {
    await this.call('notify', [n], undefined, options);
  }
  async notifyAll(options?: CallOptions): Promise<void> {
    await this.call('notify_all', [], undefined, options);
  }
}

/**
 * Proxy of an `Event`.
 * @example
 * ```ts
 * const ev = await m.Event();
 * await ev.set();
 * await ev.wait({ timeout: 1_000 }); // true
 * ```
 */
export class EventProxy extends Proxy {
  async isSet(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('is_set', [], undefined, options));
  }
  async set(options?: CallOptions): Promise<void> {
    await this.call('set', [], undefined, options);
  }
  async clear(options?: CallOptions): Promise<void> {
    await this.call('clear', [], undefined, options);
  }
  /** `wait(timeout)`: true once set, false on timeout. */
  async wait(opts: CallOptions = {}): Promise<boolean> {
    return Boolean(await this.call('wait', [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined));
  }
}

/**
 * Proxy of a `Barrier`.
 * @example
 * ```ts
 * const barrier = await m.Barrier(3);
 * await barrier.wait({ timeout: 10_000 }); // resolves when 3 parties (Node or Python) wait
 * ```
 */
export class BarrierProxy extends Proxy {
  /** Wait for the other parties; resolves with this party's index. */
  async wait(opts: CallOptions = {}): Promise<number> {
    return Number(await this.call('wait', [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined));
  }
  async abort(options?: CallOptions): Promise<void> {
    await this.call('abort', [], undefined, options);
  }
  async reset(options?: CallOptions): Promise<void> {
    await this.call('reset', [], undefined, options);
  }
  async parties(options?: CallOptions): Promise<number> {
    return Number(await this.call('__getattribute__', ['parties'], undefined, options));
  }
  async nWaiting(options?: CallOptions): Promise<number> {
    return Number(await this.call('__getattribute__', ['n_waiting'], undefined, options));
  }
  async broken(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('__getattribute__', ['broken'], undefined, options));
  }
}

/**
 * Proxy of a server-side iterator (`Iterator`, e.g. from `DictProxy.iterator()`).
 * @example
 * ```ts
 * const it = await dict.iterator();
 * for await (const key of it) console.log(key);
 * ```
 */
export class IteratorProxy<T = unknown> extends Proxy implements AsyncIterable<T> {
  /** The next item, or `{ done: true }` once the server raises StopIteration. */
  async next(options?: CallOptions): Promise<IteratorResult<T, undefined>> {
    // Python 2 iterators have `next` (2.7 exposes both names; only `next` exists on the object).
    const method = this.exposed?.includes('next') ? 'next' : '__next__';
    try {
      return { done: false, value: (await this.call(method, [], undefined, options)) as T };
    } catch (e) {
      if (isType(e, 'StopIteration')) return { done: true, value: undefined };
      throw e;
    }
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const r = await this.next();
      if (r.done) return;
      yield r.value;
    }
  }
}

/**
 * A Python function named by reference: a {@link PyGlobal} or `'module.name'` (e.g. `'math.sqrt'`).
 * @example
 * ```ts
 * const fn: PyFunction = 'math.factorial';
 * await pool.map(fn, [3, 4, 5]); // [6, 24, 120]
 * ```
 */
export type PyFunction = PyGlobal | string;

/**
 * `'math.sqrt'` → `PyGlobal('math', 'sqrt')` (split at the last dot).
 * @example
 * ```ts
 * pyFunction('os.path.join'); // PyGlobal { module: 'os.path', name: 'join' }
 * ```
 */
export function pyFunction(fn: PyFunction): PyGlobal {
  if (fn instanceof PyGlobal) return fn;
  const i = fn.lastIndexOf('.');
  if (i <= 0 || i === fn.length - 1) throw new TypeError(`expected 'module.name', got ${JSON.stringify(fn)}`);
  return new PyGlobal(fn.slice(0, i), fn.slice(i + 1));
}

/**
 * Proxy of a `multiprocessing.pool.AsyncResult` (from `PoolProxy.applyAsync`/`mapAsync`).
 * @example
 * ```ts
 * const r = await pool.applyAsync('math.sqrt', [2]);
 * await r.wait({ timeout: 5_000 });
 * console.log(await r.get());
 * ```
 */
export class AsyncResultProxy<T = unknown> extends Proxy {
  /** The result; `timeout` (ms) is applied by the server (`multiprocessing.TimeoutError` on expiry). */
  async get(opts: CallOptions = {}): Promise<T> {
    return (await this.call('get', opts.timeout === undefined ? [] : [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined)) as T;
  }
  async wait(opts: CallOptions = {}): Promise<void> {
    await this.call('wait', opts.timeout === undefined ? [] : [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined);
  }
  async ready(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('ready', [], undefined, options));
  }
  async successful(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('successful', [], undefined, options));
  }
}

/**
 * Proxy of a `multiprocessing.Pool` running in the manager's process. Functions cannot travel
 * from JS, so they are named by reference (`'math.sqrt'`, or a `PyGlobal` for nested names): the
 * server's pool pickles that reference to its workers, as it would a Python function.
 * @example
 * ```ts
 * const pool = await m.Pool(4);
 * console.log(await pool.map('math.sqrt', [1, 4, 9])); // [1, 2, 3]
 * await pool.close();
 * ```
 */
export class PoolProxy extends Proxy {
  apply(fn: PyFunction, args: readonly unknown[] = [], kwargs: Record<string, unknown> = {}, options?: CallOptions): Promise<unknown> {
    return this.call('apply', [pyFunction(fn), args, kwargs], undefined, options);
  }
  async map(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<unknown[]> {
    return Array.from((await this.call('map', [pyFunction(fn), Array.from(iterable)], undefined, options)) as Iterable<unknown>);
  }
  async starmap(fn: PyFunction, iterable: Iterable<readonly unknown[]>, options?: CallOptions): Promise<unknown[]> {
    return Array.from((await this.call('starmap', [pyFunction(fn), Array.from(iterable)], undefined, options)) as Iterable<unknown>);
  }
  async applyAsync(fn: PyFunction, args: readonly unknown[] = [], kwargs: Record<string, unknown> = {}, options?: CallOptions): Promise<AsyncResultProxy> {
    return (await this.call('apply_async', [pyFunction(fn), args, kwargs], undefined, options)) as AsyncResultProxy;
  }
  async mapAsync(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<AsyncResultProxy<unknown[]>> {
    return (await this.call('map_async', [pyFunction(fn), Array.from(iterable)], undefined, options)) as AsyncResultProxy<unknown[]>;
  }
  /** `imap`: results one by one through a server-side iterator ({@link IteratorProxy}). */
  async imap(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<IteratorProxy> {
    return (await this.call('imap', [pyFunction(fn), Array.from(iterable)], undefined, options)) as IteratorProxy;
  }
  async imapUnordered(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<IteratorProxy> {
    return (await this.call('imap_unordered', [pyFunction(fn), Array.from(iterable)], undefined, options)) as IteratorProxy;
  }
  async close(options?: CallOptions): Promise<void> {
    await this.call('close', [], undefined, options);
  }
  async terminate(options?: CallOptions): Promise<void> {
    await this.call('terminate', [], undefined, options);
  }
  async join(options?: CallOptions): Promise<void> {
    await this.call('join', [], undefined, options);
  }
}

/**
 * Proxy class per SyncManager typeid (others get plain {@link Proxy} unless registered).
 * @example
 * ```ts
 * PROXY_TYPES['dict'] === DictProxy; // true
 * ```
 */
export const PROXY_TYPES: Readonly<Record<string, ProxyClass>> = {
  dict: DictProxy,
  list: ListProxy,
  set: SetProxy,
  Queue: QueueProxy,
  JoinableQueue: QueueProxy,
  Namespace: NamespaceProxy,
  Value: ValueProxy,
  Array: ArrayProxy,
  Lock: AcquirerProxy,
  RLock: AcquirerProxy,
  Semaphore: AcquirerProxy,
  BoundedSemaphore: AcquirerProxy,
  Condition: ConditionProxy,
  Event: EventProxy,
  Barrier: BarrierProxy,
  Iterator: IteratorProxy,
  Pool: PoolProxy,
  AsyncResult: AsyncResultProxy,
};

/**
 * Typeids whose proxies get a connection of their own (the lock owner is a server thread).
 * @example
 * ```ts
 * DEDICATED_TYPEIDS.has('RLock'); // true: an RLock proxy keeps its own connection
 * ```
 */
export const DEDICATED_TYPEIDS: ReadonlySet<string> = new Set(['RLock', 'Condition']);

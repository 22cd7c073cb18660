/**
 * `Proxy`: a reference to one object held by a Python manager server, and typed proxies for the
 * SyncManager typeids. A proxy owns exactly one server-side reference, dropped once by
 * `release()`/`dispose()` (or, as a safety net, when the proxy is garbage-collected).
 * @module
 */
import { RemoteError } from '../errors.js';
import { PyGlobal, type Reduction, pyReduce } from '../pickle/index.js';
import type { WaitOptions } from '../wire/deadline.js';
import type { LateReplyHandler } from './pool.js';
import { RETURN, type Token, rebuildProxyReduction } from './protocol.js';

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
  /** Python proxy class of the `RebuildProxy` this proxy arrived in, if it arrived inside a value. */
  readonly pyClass?: string;
}

/** What a proxy needs from its client (implemented by `ManagerClient`). */
export interface ProxyHost {
  readonly serializer: string;
  invoke(proxy: Proxy, state: ProxyState, method: string, args: readonly unknown[], kwargs: unknown, options?: CallOptions, late?: LateReplyHandler): Promise<unknown>;
  releaseProxy(state: ProxyState, options?: CallOptions): Promise<void>;
  forkProxy(proxy: Proxy, state: ProxyState, options?: CallOptions): Promise<Proxy>;
  /** The token to put in a pickled proxy: the server's own view of its address (§5.5). */
  wireToken(token: Token): Token;
  /** Python proxy class name to rebuild this proxy with (`'AutoProxy'` when unknown). */
  proxyClassName(proxy: Proxy, state: ProxyState): string;
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
  /** The client that carries the proxy's calls (a `ManagerClient`). */
  readonly host: ProxyHost;
  /** The referent's token; becomes `Proxy.token`. */
  readonly token: Token;
  /** Method names the server exposes (`null` when unknown); becomes `Proxy.exposed`. */
  readonly exposed: readonly string[] | null;
  /** The client's bookkeeping for this reference (released flag, dedicated connection). */
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

  /**
   * `call()` for a method whose effect must be undone when the caller gives up after the request
   * was sent (an abort or JS-side timeout while the server still runs it): the connection is kept,
   * the late reply is read in the background and `late` may answer it with one more request on
   * the same connection (the same server thread), e.g. `release` after a late successful acquire.
   */
  protected callUndoable(method: string, args: readonly unknown[], options: CallOptions | undefined, late: LateReplyHandler): Promise<unknown> {
    return this.#host.invoke(this, this.#state, method, args, {}, options, late);
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
    return rebuildProxyReduction(this.#host.wireToken(this.token), this.#host.serializer, this.exposed, this.#host.proxyClassName(this, this.#state));
  }

  /** For logs: `<DictProxy typeid="dict" id="7f3a">`, with `released` once it is. */
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
  /** `d[key] = value`; resolves to this proxy, for chaining. */
  async set(key: K, value: V, options?: CallOptions): Promise<this> {
    await this.call('__setitem__', [key, value], undefined, options);
    return this;
  }
  /** `key in d`. */
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
  /** `d.keys()`, as an array. */
  async keys(options?: CallOptions): Promise<K[]> {
    return Array.from((await this.call('keys', [], undefined, options)) as Iterable<K>);
  }
  /** `d.values()`, as an array. */
  async values(options?: CallOptions): Promise<V[]> {
    return Array.from((await this.call('values', [], undefined, options)) as Iterable<V>);
  }
  /** `d.items()`, as an array of `[key, value]` pairs. */
  async items(options?: CallOptions): Promise<Array<[K, V]>> {
    return Array.from((await this.call('items', [], undefined, options)) as Iterable<[K, V]>, (kv) => [kv[0], kv[1]]);
  }
  /** `len(d)`. */
  async size(options?: CallOptions): Promise<number> {
    return Number(await this.call('__len__', [], undefined, options));
  }
  /** `d.clear()`. */
  async clear(options?: CallOptions): Promise<void> {
    await this.call('clear', [], undefined, options);
  }
  /** `d.update(values)`, from a plain object or a Map. */
  async update(values: Record<string, unknown> | Map<unknown, unknown>, options?: CallOptions): Promise<void> {
    await this.call('update', [values], undefined, options);
  }
  /** `d.pop(key[, dflt])`; without `dflt` a missing key rejects with `KeyError`. */
  async pop(key: K, dflt?: V, options?: CallOptions): Promise<V> {
    return (await this.call('pop', dflt === undefined ? [key] : [key, dflt], undefined, options)) as V;
  }
  /** `d.setdefault(key, dflt)`; resolves to the existing value, or to `dflt` after storing it. */
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
  /** Yields the `[key, value]` entries of one `items()` snapshot. */
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
  /** `l[index]` (negative counts from the end); rejects with `IndexError` when out of range. */
  async get(index: number, options?: CallOptions): Promise<T> {
    return (await this.call('__getitem__', [index], undefined, options)) as T;
  }
  /** `l[index] = value`; rejects with `IndexError` when out of range. */
  async set(index: number, value: T, options?: CallOptions): Promise<void> {
    await this.call('__setitem__', [index, value], undefined, options);
  }
  /** `del l[index]`; rejects with `IndexError` when out of range. */
  async delete(index: number, options?: CallOptions): Promise<void> {
    await this.call('__delitem__', [index], undefined, options);
  }
  /** `l.append(value)`. */
  async append(value: T, options?: CallOptions): Promise<void> {
    await this.call('append', [value], undefined, options);
  }
  /** `l.extend(values)` (the iterable is sent as a list). */
  async extend(values: Iterable<T>, options?: CallOptions): Promise<void> {
    await this.call('extend', [Array.from(values)], undefined, options);
  }
  /** `l.insert(index, value)`. */
  async insert(index: number, value: T, options?: CallOptions): Promise<void> {
    await this.call('insert', [index, value], undefined, options);
  }
  /** `l.pop([index])`: removes and resolves to the item at `index` (default: the last); `IndexError` when empty or out of range. */
  async pop(index?: number, options?: CallOptions): Promise<T> {
    return (await this.call('pop', index === undefined ? [] : [index], undefined, options)) as T;
  }
  /** `l.remove(value)`: removes the first equal item; `ValueError` when there is none. */
  async remove(value: T, options?: CallOptions): Promise<void> {
    await this.call('remove', [value], undefined, options);
  }
  /** `l.index(value)`: position of the first equal item; `ValueError` when there is none. */
  async index(value: T, options?: CallOptions): Promise<number> {
    return Number(await this.call('index', [value], undefined, options));
  }
  /** `l.count(value)`. */
  async count(value: T, options?: CallOptions): Promise<number> {
    return Number(await this.call('count', [value], undefined, options));
  }
  /** `value in l`. */
  async has(value: T, options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('__contains__', [value], undefined, options));
  }
  /** `len(l)`. */
  async length(options?: CallOptions): Promise<number> {
    return Number(await this.call('__len__', [], undefined, options));
  }
  /** `l.reverse()`, in place. */
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
  /** Yields the items of one `toArray()` snapshot. */
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
  /** Python's `block` (default true); false fails at once with `Full`/`Empty` instead of waiting. */
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
  /** `q.put(item, block, timeout)`; rejects with RemoteError type `Full` when there was no room in time. */
  async put(item: T, options?: QueueWaitOptions): Promise<void> {
    await this.call('put', [item], queueArgs(options), options?.signal ? { signal: options.signal } : undefined);
  }
  /**
   * `q.get(block, timeout)`; resolves to the item, or rejects with RemoteError type `Empty`. A
   * `signal` that fires before the request is sent cancels it cleanly; one that fires while the
   * server waits leaves the server-side `get` running, and the item it takes is lost.
   */
  async get(options?: QueueWaitOptions): Promise<T> {
    return (await this.call('get', [], queueArgs(options), options?.signal ? { signal: options.signal } : undefined)) as T;
  }
  /** `q.put_nowait(item)`; rejects with `Full` when the queue is full. */
  async putNowait(item: T, options?: CallOptions): Promise<void> {
    await this.call('put_nowait', [item], undefined, options);
  }
  /** `q.get_nowait()`; rejects with `Empty` when the queue is empty. */
  async getNowait(options?: CallOptions): Promise<T> {
    return (await this.call('get_nowait', [], undefined, options)) as T;
  }
  /** `q.qsize()`: the number of queued items. */
  async qsize(options?: CallOptions): Promise<number> {
    return Number(await this.call('qsize', [], undefined, options));
  }
  /** `q.empty()`. */
  async empty(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('empty', [], undefined, options));
  }
  /** `q.full()`. */
  async full(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('full', [], undefined, options));
  }
  /** `q.task_done()`: marks one fetched item as processed; `ValueError` when called more times than items were put. */
  async taskDone(options?: CallOptions): Promise<void> {
    await this.call('task_done', [], undefined, options);
  }
  /** `q.join()`: resolves once every item put has been marked done with `taskDone()`. */
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
  /** `setattr(ns, name, value)`. */
  async set(name: string, value: unknown, options?: CallOptions): Promise<void> {
    await this.call('__setattr__', [name, value], undefined, options);
  }
  /** `delattr(ns, name)`; rejects with `AttributeError` when missing. */
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
  /** `s.add(value)`. */
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
  /** `value in s`. */
  async has(value: T, options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('__contains__', [value], undefined, options));
  }
  /** `len(s)`. */
  async size(options?: CallOptions): Promise<number> {
    return Number(await this.call('__len__', [], undefined, options));
  }
  /** `update(*iterables)`. */
  async update(values: Iterable<T>, options?: CallOptions): Promise<void> {
    await this.call('update', [new Set(values)], undefined, options);
  }
  /** `s.pop()`: removes and resolves to an arbitrary item; `KeyError` when empty. */
  async pop(options?: CallOptions): Promise<T> {
    return (await this.call('pop', [], undefined, options)) as T;
  }
  /** `s.clear()`. */
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
  /** `v.get()`: resolves to the current value. */
  async get(options?: CallOptions): Promise<T> {
    return (await this.call('get', [], undefined, options)) as T;
  }
  /** `v.set(value)`. */
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
  /** `a[index]`; rejects with `IndexError` when out of range. */
  async get(index: number, options?: CallOptions): Promise<T> {
    return (await this.call('__getitem__', [index], undefined, options)) as T;
  }
  /** `a[index] = value`; rejects with `IndexError` when out of range. */
  async set(index: number, value: T, options?: CallOptions): Promise<void> {
    await this.call('__setitem__', [index, value], undefined, options);
  }
  /** `len(a)`. */
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
  /** Python's `blocking` (default true); false tries once without waiting. */
  blocking?: boolean;
}

/** A late reply to an abandoned `acquire`: if the server did take the lock, give it back. */
const releaseIfAcquired: LateReplyHandler = (reply) => (reply.kind === RETURN && reply.value === true ? { method: 'release', args: [] } : undefined);

/**
 * Proxy of `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore` (AcquirerProxy). **`release()` releases
 * the lock** as in Python; drop the proxy's reference with `dispose()` / `await using`. RLock
 * proxies use a connection of their own, so acquire and release come from the same server thread.
 * An `acquire({ signal })` aborted while the server waits leaves the lock free: the server-side
 * acquire cannot be cancelled, so its connection stays open until it returns, and a lock it then
 * took is released at once on that same connection.
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
  /**
   * `acquire(blocking, timeout)`; resolves true once acquired, false on timeout or a failed
   * non-blocking try. Aborted through `signal`, it rejects with `AbortError` and the lock is given
   * back if the server takes it afterwards (see the class notes).
   */
  async acquire(opts: AcquireOptions = {}): Promise<boolean> {
    // Positional, as Python 2's C locks take no keywords (and no timeout at all).
    const args: unknown[] = [];
    if (opts.timeout !== undefined) args.push(opts.blocking ?? true, seconds(opts.timeout) ?? -1);
    else if (opts.blocking !== undefined) args.push(opts.blocking);
    return Boolean(await this.callUndoable('acquire', args, opts.signal ? { signal: opts.signal } : undefined, releaseIfAcquired));
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
  /**
   * `wait(timeout)`; resolves false on timeout. Aborting it through `signal` closes this proxy's
   * connection, while the server thread keeps waiting and then takes the lock back, as
   * `Condition.wait` does: that lock is then held by a thread nobody can reach. Prefer `timeout`.
   */
  async wait(opts: CallOptions = {}): Promise<boolean> {
    return Boolean(await this.call('wait', [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined));
  }
  /** `c.notify(n)`: wakes up to `n` waiters; the caller must hold the lock (`RuntimeError` otherwise). */
  async notify(n = 1, options?: CallOptions): Promise<void> {
    await this.call('notify', [n], undefined, options);
  }
  /** `c.notify_all()`: wakes every waiter; the caller must hold the lock. */
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
  /** `e.is_set()`. */
  async isSet(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('is_set', [], undefined, options));
  }
  /** `e.set()`: sets the flag and wakes every waiter. */
  async set(options?: CallOptions): Promise<void> {
    await this.call('set', [], undefined, options);
  }
  /** `e.clear()`: resets the flag. */
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
  /**
   * Wait for the other parties; resolves with this party's index. `timeout` is applied by the
   * server (`BrokenBarrierError` on expiry). Aborting through `signal` only stops waiting here:
   * the server-side `wait` goes on and still counts as a party.
   */
  async wait(opts: CallOptions = {}): Promise<number> {
    return Number(await this.call('wait', [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined));
  }
  /** `b.abort()`: breaks the barrier; current and later `wait` calls reject with `BrokenBarrierError`. */
  async abort(options?: CallOptions): Promise<void> {
    await this.call('abort', [], undefined, options);
  }
  /** `b.reset()`: back to the empty state; parties waiting now reject with `BrokenBarrierError`. */
  async reset(options?: CallOptions): Promise<void> {
    await this.call('reset', [], undefined, options);
  }
  /** `b.parties`: the number of parties needed to pass. */
  async parties(options?: CallOptions): Promise<number> {
    return Number(await this.call('__getattribute__', ['parties'], undefined, options));
  }
  /** `b.n_waiting`: the number of parties waiting now. */
  async nWaiting(options?: CallOptions): Promise<number> {
    return Number(await this.call('__getattribute__', ['n_waiting'], undefined, options));
  }
  /** `b.broken`: whether the barrier is broken. */
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
  /** Calls `next()` until the server raises StopIteration. */
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
  /** `r.wait(timeout)`: resolves once the result is ready or `timeout` (ms) has passed. */
  async wait(opts: CallOptions = {}): Promise<void> {
    await this.call('wait', opts.timeout === undefined ? [] : [seconds(opts.timeout)], undefined, opts.signal ? { signal: opts.signal } : undefined);
  }
  /** `r.ready()`: whether the call has completed. */
  async ready(options?: CallOptions): Promise<boolean> {
    return Boolean(await this.call('ready', [], undefined, options));
  }
  /** `r.successful()`: whether the call completed without raising; rejects while it is not ready. */
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
  /** `pool.apply(fn, args, kwargs)`: resolves to the function's result. */
  apply(fn: PyFunction, args: readonly unknown[] = [], kwargs: Record<string, unknown> = {}, options?: CallOptions): Promise<unknown> {
    return this.call('apply', [pyFunction(fn), args, kwargs], undefined, options);
  }
  /** `pool.map(fn, iterable)`: resolves to the results, in order. */
  async map(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<unknown[]> {
    return Array.from((await this.call('map', [pyFunction(fn), Array.from(iterable)], undefined, options)) as Iterable<unknown>);
  }
  /** `pool.starmap(fn, iterable)`: each item is an argument list; resolves to the results, in order. */
  async starmap(fn: PyFunction, iterable: Iterable<readonly unknown[]>, options?: CallOptions): Promise<unknown[]> {
    return Array.from((await this.call('starmap', [pyFunction(fn), Array.from(iterable)], undefined, options)) as Iterable<unknown>);
  }
  /** `pool.apply_async(fn, args, kwargs)`: resolves to an {@link AsyncResultProxy} at once. */
  async applyAsync(fn: PyFunction, args: readonly unknown[] = [], kwargs: Record<string, unknown> = {}, options?: CallOptions): Promise<AsyncResultProxy> {
    return (await this.call('apply_async', [pyFunction(fn), args, kwargs], undefined, options)) as AsyncResultProxy;
  }
  /** `pool.map_async(fn, iterable)`: resolves to an {@link AsyncResultProxy} of the results array. */
  async mapAsync(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<AsyncResultProxy<unknown[]>> {
    return (await this.call('map_async', [pyFunction(fn), Array.from(iterable)], undefined, options)) as AsyncResultProxy<unknown[]>;
  }
  /** `imap`: results one by one through a server-side iterator ({@link IteratorProxy}). */
  async imap(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<IteratorProxy> {
    return (await this.call('imap', [pyFunction(fn), Array.from(iterable)], undefined, options)) as IteratorProxy;
  }
  /** `pool.imap_unordered(fn, iterable)`: like `imap`, but the results come in any order. */
  async imapUnordered(fn: PyFunction, iterable: Iterable<unknown>, options?: CallOptions): Promise<IteratorProxy> {
    return (await this.call('imap_unordered', [pyFunction(fn), Array.from(iterable)], undefined, options)) as IteratorProxy;
  }
  /** `pool.close()`: accept no more tasks; the workers exit once the queued ones are done. */
  async close(options?: CallOptions): Promise<void> {
    await this.call('close', [], undefined, options);
  }
  /** `pool.terminate()`: stop the workers at once, dropping outstanding work. */
  async terminate(options?: CallOptions): Promise<void> {
    await this.call('terminate', [], undefined, options);
  }
  /** `pool.join()`: wait for the workers to exit (after `close()` or `terminate()`). */
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
 * Python proxy class (in `multiprocessing.managers`) of each typed proxy class: sent in
 * `RebuildProxy` when such a proxy is pickled into a value. `QueueProxy`, `AsyncResultProxy` and
 * `SetProxy` (a 3.14+ class) have none: `AutoProxy`, or the class the server uses for the typeid.
 */
const PYTHON_PROXY_CLASSES = new Map<ProxyClass, string>([
  [DictProxy, 'DictProxy'],
  [ListProxy, 'ListProxy'],
  [NamespaceProxy, 'NamespaceProxy'],
  [ValueProxy, 'ValueProxy'],
  [ArrayProxy, 'ArrayProxy'],
  [AcquirerProxy, 'AcquirerProxy'],
  [ConditionProxy, 'ConditionProxy'],
  [EventProxy, 'EventProxy'],
  [BarrierProxy, 'BarrierProxy'],
  [IteratorProxy, 'IteratorProxy'],
  [PoolProxy, 'PoolProxy'],
]);

/**
 * The Python proxy class matching `proxy`'s JS class (or the nearest typed class it extends),
 * e.g. `'DictProxy'` for a {@link DictProxy}; undefined for a plain {@link Proxy}.
 * @internal
 */
export function pythonProxyClass(proxy: Proxy): string | undefined {
  for (let c: unknown = proxy.constructor; c !== Proxy && typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    const name = PYTHON_PROXY_CLASSES.get(c as ProxyClass);
    if (name !== undefined) return name;
  }
  return undefined;
}

/**
 * Typeids whose proxies get a connection of their own (the lock owner is a server thread).
 * @example
 * ```ts
 * DEDICATED_TYPEIDS.has('RLock'); // true: an RLock proxy keeps its own connection
 * ```
 */
export const DEDICATED_TYPEIDS: ReadonlySet<string> = new Set(['RLock', 'Condition']);

/**
 * The objects behind SyncManager's typeids, served by {@link serveManager}: `dict`, `list`,
 * `Queue`/`JoinableQueue`, `Namespace`, `Value`, `Array`, `Lock`, `RLock`, `Semaphore`,
 * `BoundedSemaphore`, `Condition`, `Event`, `Barrier`, `Iterator` and (3.14+) `set`, with the methods, argument
 * handling, return values and exceptions of CPython's objects (`queue.Queue`, `threading.*`, …).
 * Blocking methods wait asynchronously: a blocked call holds only its own connection.
 * @module
 */
import { PyException, PyGlobal, PyObject, PySlice, Tuple, type Reduction, pyReduce, tuple } from '../pickle/index.js';
import { startTimer } from '../wire/deadline.js';
import { MANAGERS_MODULE } from './protocol.js';
import {
  REPR_MAX_LENGTH,
  pyCompare,
  pyEquals,
  pyError,
  pyIndex,
  pyKey,
  pyNumber,
  pyRepr,
  pySeconds,
  pyStr,
  pyTruthy,
  pyTypeName,
} from './py-values.js';
import { pyStrip } from '../xmlrpc/numbers.js';

/**
 * The per-call context the server passes to served objects.
 * @example
 * ```ts
 * class Mailbox implements ServedObject {
 *   #items: unknown[] = [];
 *   [serveCall](method: string, args: unknown[], _kw: Record<string, unknown>, ctx: CallContext) {
 *     if (ctx.signal.aborted) throw new CallAborted();
 *     if (method === 'push') return this.#items.push(args[0]);
 *     throw pyError('AttributeError', method);
 *   }
 *   pyRepr() { return '<Mailbox>'; }
 * }
 * ```
 */
export interface CallContext {
  /** Identifies the object-call connection (CPython: the server thread), e.g. the owner of an RLock. */
  readonly channel: number;
  /** Aborted when the calling client disconnects or the server closes. */
  readonly signal: AbortSignal;
}

/**
 * Implemented by objects that dispatch Python method calls themselves (all built-in typeids).
 * @example
 * ```ts
 * const echo: ServedObject = {
 *   [serveCall]: (method, args) => (method === 'echo' ? args[0] : null),
 *   pyRepr: () => '<echo>',
 * };
 * ```
 */
export const serveCall: unique symbol = Symbol('mpwire.managers.serveCall');
/**
 * Optional: the value `#GETVALUE` (`proxy._getvalue()`) sends for an object.
 * @example
 * ```ts
 * class Settings implements ServedObject {
 *   values = { debug: false };
 *   [serveCall]() { return null; }
 *   [getValue]() { return this.values; } // Python: proxy._getvalue() → {'debug': False}
 *   pyRepr() { return '<Settings>'; }
 * }
 * ```
 */
export const getValue: unique symbol = Symbol('mpwire.managers.getValue');

/**
 * A Python-style object served by the manager server.
 * @example
 * ```ts
 * const clock: ServedObject = { [serveCall]: () => Date.now() / 1000, pyRepr: () => '<clock>' };
 * await serveManager({ authkey: 'abc', registry: { get_clock: () => clock } });
 * ```
 */
export interface ServedObject {
  /** Run Python method `method`; the result (or a promise of it) is the reply, a thrown `PyException` the error reply. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown;
  /** The value `#GETVALUE` (`proxy._getvalue()`) sends; without it the object itself is sent. */
  [getValue]?(): unknown;
  /** Python `repr()`, used by the `__repr__`/`__str__` fallbacks and `debug_info`. */
  pyRepr(): string;
}

/**
 * Rejection of a call whose client went away.
 * @example
 * ```ts
 * [serveCall](method, args, kwargs, ctx) {
 *   if (ctx.signal.aborted) throw new CallAborted(); // the Python client disconnected
 * }
 * ```
 */
export class CallAborted extends Error {
  /** Always `'CallAborted'`. */
  override name = 'CallAborted';
}

/**
 * Does `v` dispatch calls itself?
 * @example
 * ```ts
 * isServedObject(new PyDict()); // true
 * isServedObject({ get() {} }); // false: served through its exposed methods instead
 * ```
 */
export function isServedObject(v: unknown): v is ServedObject {
  return typeof v === 'object' && v !== null && typeof (v as Partial<ServedObject>)[serveCall] === 'function';
}

// ------------------------------------------------------------------ arguments

/** Positional-or-keyword argument `i` named `name`. */
function arg(args: unknown[], kwargs: Record<string, unknown>, i: number, name: string, dflt?: unknown): unknown {
  if (i < args.length) return args[i];
  if (Object.hasOwn(kwargs, name)) return kwargs[name];
  // biome-ignore lint/complexity/noArguments: tells an omitted default from an explicit `undefined` one
  if (arguments.length >= 5) return dflt;
  throw pyError('TypeError', `missing required argument: '${name}'`);
}

function noArgs(method: string, args: unknown[], max = 0): void {
  if (args.length > max) throw pyError('TypeError', `${method}() takes ${max} positional arguments but ${args.length} were given`);
}

/** Items of a Python iterable value. */
function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v.slice();
  if (typeof v === 'string') return [...v];
  if (v instanceof Map) return [...v.keys()];
  if (v instanceof Set) return [...v];
  if (v instanceof Uint8Array) return [...v];
  if (v instanceof PyDict) return v.keys();
  if (v instanceof PyList) return v.items.slice();
  if (v && typeof v === 'object' && v.constructor === Object) return Object.keys(v);
  throw pyError('TypeError', `'${pyTypeName(v)}' object is not iterable`);
}

/** CPython's `slice.indices(length)`. */
function sliceIndices(s: PySlice, length: number): [number, number, number] {
  const step = s.step === null || s.step === undefined ? 1 : pyIndex(s.step, 'slice indices');
  if (step === 0) throw pyError('ValueError', 'slice step cannot be zero');
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? length - 1 : length;
  const clamp = (v: unknown, dflt: number): number => {
    if (v === null || v === undefined) return dflt;
    let i = pyIndex(v, 'slice indices');
    if (i < 0) i = Math.max(i + length, lower);
    else i = Math.min(i, upper);
    return i;
  };
  return [clamp(s.start, step < 0 ? upper : lower), clamp(s.stop, step < 0 ? lower : upper), step];
}

function sliceRange(s: PySlice, length: number): number[] {
  const [start, stop, step] = sliceIndices(s, length);
  const out: number[] = [];
  if (step > 0) for (let i = start; i < stop; i += step) out.push(i);
  else for (let i = start; i > stop; i += step) out.push(i);
  return out;
}

/** CPython's `PY_SSIZE_T_MAX`: a larger repeat count is an OverflowError there. */
const PY_SSIZE_T_MAX = 2n ** 63n - 1n;

/**
 * Most items a repeat (`list * n`, `Array(typecode, n)`) may produce. CPython goes on until memory
 * runs out (`MemoryError`); V8 aborts the whole process for an array past ~2^27 items, so mpwire
 * raises `MemoryError` beyond this before allocating. 2^26 items are 512 MiB of references.
 */
const MAX_REPEAT_ITEMS = 2 ** 26;

/** `n` of `seq * n` (0 for n <= 0), with CPython's TypeError and OverflowError. */
function repeatCount(v: unknown): number {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v))) n = BigInt(v);
  else throw pyError('TypeError', `can't multiply sequence by non-int of type '${pyTypeName(v)}'`);
  if (n > PY_SSIZE_T_MAX || n < -PY_SSIZE_T_MAX - 1n) throw pyError('OverflowError', "cannot fit 'int' into an index-sized integer");
  return n > 0n ? Number(n) : 0;
}

/** `items * n` as a new list: doubled with `concat`, not pushed item by item (nor spread, which overflows the stack). */
function repeat(items: readonly unknown[], n: number): unknown[] {
  if (items.length === 0 || n === 0) return [];
  if (n > MAX_REPEAT_ITEMS / items.length) throw pyError('MemoryError');
  const size = items.length * n;
  let out = items.slice();
  while (out.length * 2 <= size) out = out.concat(out);
  return out.length < size ? out.concat(out.slice(0, size - out.length)) : out;
}

function normIndex(i: unknown, length: number, what: string): number {
  let n = pyIndex(i, `${what} indices`);
  if (n < 0) n += length;
  if (n < 0 || n >= length) throw pyError('IndexError', `${what} index out of range`);
  return n;
}

function unknownMethod(obj: ServedObject, method: string): never {
  throw pyError('AttributeError', `'${obj.constructor.name.replace(/^Py/, '')}' object has no attribute '${method}'`);
}

// ------------------------------------------------------------------ waiting

type Wake = () => void;

/** Wake every waiter (they re-check their condition). */
function wakeAll(waiters: Set<Wake>): void {
  for (const w of [...waiters]) w();
}

/**
 * Wait until `cond()` holds (re-checked after each wake; a `cond` that also takes what it waited
 * for — an item, the lock — does so atomically, since nothing runs between its check and its action), `timeout` seconds (null = forever) pass,
 * or `signal` aborts (rejects with {@link CallAborted}). Resolves with the last `cond()`.
 */
async function waitUntil(cond: () => boolean, waiters: Set<Wake>, timeout: number | null, signal: AbortSignal): Promise<boolean> {
  if (cond()) return true;
  if (timeout !== null && timeout <= 0) return false;
  const deadline = timeout === null ? Number.POSITIVE_INFINITY : Date.now() + timeout * 1000;
  for (;;) {
    const woke = await sleepUntilWoken(waiters, deadline, signal);
    if (cond()) return true;
    if (!woke || Date.now() >= deadline) return false;
  }
}

function sleepUntilWoken(waiters: Set<Wake>, deadline: number, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const cleanup = (): void => {
      waiters.delete(wake);
      cancelTimer?.();
      signal.removeEventListener('abort', onAbort);
    };
    const wake: Wake = () => {
      cleanup();
      resolve(true);
    };
    const onAbort = (): void => {
      cleanup();
      reject(new CallAborted('client went away'));
    };
    if (signal.aborted) {
      reject(new CallAborted('client went away'));
      return;
    }
    waiters.add(wake);
    signal.addEventListener('abort', onAbort);
    // An infinite deadline arms no timer.
    cancelTimer = startTimer(deadline - Date.now(), () => {
      cleanup();
      resolve(false);
    });
  });
}

// ------------------------------------------------------------------ dict

/**
 * `dict` with Python key semantics (`1`, `1.0` and `True` are one key).
 * @example
 * ```ts
 * const results = new PyDict();
 * await serveManager({ authkey: 'abc', registry: { get_results: () => results } }); // Python: proxytype=DictProxy
 * results.get('job-1'); // what a Python client stored
 * ```
 */
export class PyDict implements ServedObject {
  readonly #entries = new Map<string, [unknown, unknown]>();

  constructor(args: unknown[] = [], kwargs: Record<string, unknown> = {}) {
    this.update(args, kwargs);
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }
  /** The keys, in insertion order. */
  keys(): unknown[] {
    return [...this.#entries.values()].map((e) => e[0]);
  }
  /** Whether `k` is a key, with Python key equality (`key in d`). */
  has(k: unknown): boolean {
    return this.#entries.has(pyKey(k));
  }
  /** `d[k]`; throws a Python `KeyError` when missing. */
  get(k: unknown): unknown {
    const e = this.#entries.get(pyKey(k));
    if (!e) throw pyError('KeyError', k);
    return e[1];
  }
  /** `d[k] = v`; an existing entry keeps its original key object, as in Python. */
  set(k: unknown, v: unknown): void {
    const key = pyKey(k);
    const e = this.#entries.get(key);
    if (e) e[1] = v;
    else this.#entries.set(key, [k, v]);
  }
  /** `del d[k]`; throws a Python `KeyError` when missing. */
  delete(k: unknown): void {
    if (!this.#entries.delete(pyKey(k))) throw pyError('KeyError', k);
  }
  /** A new Map of the entries, in insertion order. */
  toMap(): Map<unknown, unknown> {
    return new Map([...this.#entries.values()]);
  }

  /** `d.update(other, **kwargs)`: `other` is a Map, a PyDict, a plain object or an iterable of pairs; then `kwargs`. */
  update(args: unknown[], kwargs: Record<string, unknown>): void {
    if (args.length > 1) throw pyError('TypeError', `update expected at most 1 argument, got ${args.length}`);
    const other = args[0];
    if (other instanceof Map) for (const [k, v] of other) this.set(k, v);
    else if (other instanceof PyDict) for (const [k, v] of other.toMap()) this.set(k, v);
    else if (other !== undefined && other !== null && !Array.isArray(other) && typeof other === 'object' && other.constructor === Object) {
      for (const [k, v] of Object.entries(other)) this.set(k, v);
    } else if (other !== undefined) {
      for (const [i, pair] of iterate(other).entries()) {
        const p = Array.isArray(pair) ? pair : undefined;
        if (p?.length !== 2) throw pyError('ValueError', `dictionary update sequence element #${i} has length ${p ? p.length : 1}; 2 is required`);
        this.set(p[0], p[1]);
      }
    }
    for (const [k, v] of Object.entries(kwargs)) this.set(k, v);
  }

  /** Serves one `dict` method called through a proxy, with CPython's arguments, results and exceptions. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>): unknown {
    switch (method) {
      case '__getitem__':
        return this.get(args[0]);
      case '__setitem__':
        this.set(args[0], args[1]);
        return null;
      case '__delitem__':
        this.delete(args[0]);
        return null;
      case '__contains__':
      case 'has_key':
        return this.has(args[0]);
      case '__len__':
        return this.size;
      case '__iter__':
        return new PyIterator(this.keys());
      case 'clear':
        this.#entries.clear();
        return null;
      case 'copy':
        return this.toMap();
      case 'get': {
        const e = this.#entries.get(pyKey(arg(args, kwargs, 0, 'key')));
        return e ? e[1] : (args[1] ?? null);
      }
      case 'items':
        return [...this.#entries.values()].map(([k, v]) => tuple(k, v));
      case 'keys':
        return this.keys();
      case 'values':
        return [...this.#entries.values()].map((e) => e[1]);
      case 'pop': {
        const key = pyKey(args[0]);
        const e = this.#entries.get(key);
        if (!e) {
          if (args.length > 1) return args[1];
          throw pyError('KeyError', args[0]);
        }
        this.#entries.delete(key);
        return e[1];
      }
      case 'popitem': {
        const last = [...this.#entries.keys()].pop();
        if (last === undefined) throw pyError('KeyError', 'popitem(): dictionary is empty');
        const e = this.#entries.get(last) as [unknown, unknown];
        this.#entries.delete(last);
        return tuple(e[0], e[1]);
      }
      case 'setdefault': {
        const k = args[0];
        const e = this.#entries.get(pyKey(k));
        if (e) return e[1];
        const v = args[1] ?? null;
        this.set(k, v);
        return v;
      }
      case 'update':
        this.update(args, kwargs);
        return null;
      // Exposed from CPython 3.14 on.
      case '__or__':
      case '__ror__': {
        const other = args[0];
        if (!(other instanceof Map || other instanceof PyDict)) {
          throw pyError('TypeError', `unsupported operand type(s) for |: 'dict' and '${pyTypeName(other)}'`);
        }
        const out = new PyDict();
        const [first, second] = method === '__or__' ? [this, other] : [other, this];
        out.update([first], {});
        out.update([second], {});
        return out.toMap();
      }
      case '__ior__':
        this.update([args[0]], {});
        return this.toMap();
      case '__reversed__':
        return iteratorOf(this.keys().reverse());
      case 'fromkeys': {
        const out = new PyDict();
        const value = arg(args, kwargs, 1, 'value', null);
        for (const k of iterate(arg(args, kwargs, 0, 'iterable'))) out.set(k, value);
        return out.toMap();
      }
      default:
        return unknownMethod(this, method);
    }
  }
  /** What `#GETVALUE` sends: a Map of the entries (a Python `dict`). */
  [getValue](): unknown {
    return this.toMap();
  }
  pyRepr(): string {
    return pyRepr(this.toMap());
  }
}

// ------------------------------------------------------------------ list

/**
 * `list`.
 * @example
 * ```ts
 * const log = new PyList([['started']]);
 * await serveManager({ authkey: 'abc', registry: { get_log: () => log } });
 * ```
 */
export class PyList implements ServedObject {
  /** The list's items. */
  items: unknown[];
  constructor(args: unknown[] = []) {
    this.items = args.length ? iterate(args[0]) : [];
  }

  /** Serves one `list` method called through a proxy, with CPython's arguments, results and exceptions. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>): unknown {
    const items = this.items;
    switch (method) {
      case '__len__':
        return items.length;
      case '__getslice__':
      case '__setslice__':
      case '__delslice__':
        // Python 2's slice methods (i, j[, seq]).
        return this[serveCall](`__${method.slice(2, 5)}item__`, [new PySlice(args[0], args[1], null), ...args.slice(2)], kwargs);
      case '__getitem__': {
        const i = args[0];
        if (i instanceof PySlice) return sliceRange(i, items.length).map((j) => items[j]);
        return items[normIndex(i, items.length, 'list')];
      }
      case '__setitem__': {
        const [i, v] = args;
        if (i instanceof PySlice) {
          const values = iterate(v);
          const [start, stop, step] = sliceIndices(i, items.length);
          if (step === 1) {
            // Not splice(start, n, ...values): spread arguments overflow the stack past ~120,000 items.
            const tail = items.slice(Math.max(start, stop));
            items.length = start;
            for (const x of values) items.push(x);
            for (const x of tail) items.push(x);
          } else {
            const idx = sliceRange(i, items.length);
            if (idx.length !== values.length) {
              throw pyError('ValueError', `attempt to assign sequence of size ${values.length} to extended slice of size ${idx.length}`);
            }
            for (const [n, j] of idx.entries()) items[j] = values[n];
          }
        } else items[normIndex(i, items.length, 'list assignment')] = v;
        return null;
      }
      case '__delitem__': {
        const i = args[0];
        if (i instanceof PySlice) {
          const drop = new Set(sliceRange(i, items.length));
          this.items = items.filter((_, j) => !drop.has(j));
        } else items.splice(normIndex(i, items.length, 'list assignment'), 1);
        return null;
      }
      case '__contains__':
        return items.some((x) => pyEquals(x, args[0]));
      case '__add__': {
        const other = args[0];
        if (!Array.isArray(other) || other instanceof Tuple) {
          throw pyError('TypeError', `can only concatenate list (not "${pyTypeName(other)}") to list`);
        }
        return [...items, ...other];
      }
      case '__mul__':
      case '__rmul__':
        return repeat(items, repeatCount(args[0]));
      case '__imul__': {
        const n = repeatCount(args[0]);
        if (n !== 1) this.items = repeat(items, n);
        return null;
      }
      case '__reversed__':
        return new ReversedList(items.slice());
      case 'append':
        items.push(args[0]);
        return null;
      case 'extend':
        for (const x of iterate(args[0])) items.push(x);
        return null;
      case 'insert': {
        let i = pyIndex(args[0], 'list indices');
        if (i < 0) i = Math.max(0, i + items.length);
        items.splice(Math.min(i, items.length), 0, args[1]);
        return null;
      }
      case 'pop': {
        if (items.length === 0) throw pyError('IndexError', 'pop from empty list');
        const i = args.length ? normIndex(args[0], items.length, 'pop') : items.length - 1;
        return items.splice(i, 1)[0];
      }
      case 'remove': {
        const i = items.findIndex((x) => pyEquals(x, args[0]));
        if (i < 0) throw pyError('ValueError', 'list.remove(x): x not in list');
        items.splice(i, 1);
        return null;
      }
      case 'index': {
        const start = args.length > 1 ? sliceIndices(new PySlice(args[1], null, null), items.length)[0] : 0;
        const stop = args.length > 2 ? sliceIndices(new PySlice(null, args[2], null), items.length)[1] : items.length;
        for (let i = start; i < stop; i++) if (pyEquals(items[i], args[0])) return i;
        throw pyError('ValueError', `${pyRepr(args[0])} is not in list`);
      }
      case 'count':
        return items.filter((x) => pyEquals(x, args[0])).length;
      case 'reverse':
        items.reverse();
        return null;
      case 'sort': {
        noArgs('sort', args);
        const key = sortKey(kwargs['key']);
        // Decorate, then a stable sort; `reverse` flips the comparison so that equal items keep
        // their order, as in Python.
        const sign = pyTruthy(kwargs['reverse']) ? -1 : 1;
        const decorated = items.map((v) => [key(v), v] as const);
        decorated.sort((a, b) => sign * pyCompare(a[0], b[0]));
        for (const [i, d] of decorated.entries()) items[i] = d[1];
        return null;
      }
      case 'clear':
        items.length = 0;
        return null;
      case 'copy':
        return items.slice();
      default:
        return unknownMethod(this, method);
    }
  }
  /** What `#GETVALUE` sends: the items (a Python `list`). */
  [getValue](): unknown {
    return this.items;
  }
  pyRepr(): string {
    return pyRepr(this.items);
  }
}

/** A value that pickles as the given reduction (a plain object would pickle as a dict). */
class Reduced {
  constructor(readonly reduction: Reduction) {}
  [pyReduce](): Reduction {
    return this.reduction;
  }
}

/** `reversed(list)` as it pickles (`builtins.reversed(items)`). */
class ReversedList {
  constructor(readonly items: unknown[]) {}
  [pyReduce](): Reduction {
    return { module: 'builtins', name: 'reversed', args: [this.items] };
  }
}

/** A value that pickles as `iter(items)` (what CPython's iterators reduce to). */
function iteratorOf(items: unknown[]): Reduced {
  return new Reduced({ module: 'builtins', name: 'iter', args: [items] });
}

/** `str` methods usable as `sort(key=str.lower)` (pickled as `getattr(str, name)`). */
const STR_KEYS: Readonly<Record<string, (s: string) => string>> = {
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  casefold: (s) => s.toLowerCase(),
  // Python's whitespace set, scanned from each end (a `/^\s+|\s+$/` replace is quadratic).
  strip: pyStrip,
};

function strArg(v: unknown, name: string): string {
  if (typeof v !== 'string') throw pyError('TypeError', `descriptor '${name}' for 'str' objects doesn't apply to a '${pyTypeName(v)}' object`);
  return v;
}

function itemOf(v: unknown, i: unknown): unknown {
  if (Array.isArray(v)) return v[normIndex(i, v.length, 'tuple')];
  if (typeof v === 'string') return [...v][normIndex(i, [...v].length, 'string')];
  if (v instanceof Map) {
    const k = pyKey(i);
    for (const [kk, vv] of v) if (pyKey(kk) === k) return vv;
    throw pyError('KeyError', i);
  }
  throw pyError('TypeError', `'${pyTypeName(v)}' object is not subscriptable`);
}

/**
 * The key functions a Python client can pass to `list.sort(key=…)`. A key arrives as a reference to
 * a Python callable, which mpwire never runs; the common pure ones are computed here (`abs`, `len`,
 * `str`, `operator.neg`, `operator.itemgetter(…)`, `str.lower`/`upper`/`casefold`/`strip`); any
 * other key is refused with a `TypeError` the client sees.
 */
function sortKey(key: unknown): (v: unknown) => unknown {
  if (key === undefined || key === null) return (v) => v;
  if (key instanceof PyGlobal) {
    const name = `${key.module}.${key.name}`;
    switch (name) {
      case 'builtins.abs':
        return (v) => {
          const n = pyNumber(v);
          if (n === undefined) throw pyError('TypeError', `bad operand type for abs(): '${pyTypeName(v)}'`);
          return n < 0 ? -n : n;
        };
      case 'builtins.len':
        return (v) => lengthOf(v);
      case 'builtins.str':
        return (v) => pyStr(v);
      case 'operator.neg':
      case '_operator.neg':
        return (v) => {
          const n = pyNumber(v);
          if (n === undefined) throw pyError('TypeError', `bad operand type for unary -: '${pyTypeName(v)}'`);
          return -n;
        };
      default:
        break;
    }
  }
  if (key instanceof PyObject && key.callable instanceof PyGlobal) {
    const fn = `${key.callable.module}.${key.callable.name}`;
    if ((fn === 'operator.itemgetter' || fn === '_operator.itemgetter') && key.args.length > 0) {
      const idx = key.args;
      return idx.length === 1 ? (v) => itemOf(v, idx[0]) : (v) => tuple(...idx.map((i) => itemOf(v, i)));
    }
    const [owner, attr] = key.args;
    if (fn === 'builtins.getattr' && owner instanceof PyGlobal && `${owner}` === 'builtins.str' && typeof attr === 'string') {
      const f = STR_KEYS[attr];
      if (f) return (v) => f(strArg(v, attr));
    }
  }
  throw pyError('TypeError', `sort(key=${describeKey(key)}): mpwire serves list.sort only with key=None, abs, len, str, operator.neg, operator.itemgetter(...) or str.lower/upper/casefold/strip`);
}

function describeKey(key: unknown): string {
  if (key instanceof PyGlobal) return `${key}`;
  if (key instanceof PyObject && key.callable instanceof PyGlobal) return `${key.callable}(...)`;
  return pyTypeName(key);
}

function lengthOf(v: unknown): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map || v instanceof Set) return v.size;
  if (v instanceof Uint8Array) return v.length;
  throw pyError('TypeError', `object of type '${pyTypeName(v)}' has no len()`);
}

// ------------------------------------------------------------------ set (CPython 3.14+)

/** Items of a Python iterable as a set (a `TypeError` for unhashable items). */
function setOf(v: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const x of iterate(v)) {
    const k = pyKey(x);
    if (!out.has(k)) out.set(k, x);
  }
  return out;
}

/**
 * The `set` typeid SyncManager registers from 3.14 on. Items are kept with Python hashing.
 * @example
 * ```ts
 * const tags = new PySet([['a', 'b']]);
 * tags.toSet(); // Set { 'a', 'b' }
 * ```
 */
export class PySet implements ServedObject {
  #items = new Map<string, unknown>();
  constructor(args: unknown[] = []) {
    if (args.length > 1) throw pyError('TypeError', `set expected at most 1 argument, got ${args.length}`);
    if (args.length) this.#items = setOf(args[0]);
  }
  /** Number of items. */
  get size(): number {
    return this.#items.size;
  }
  /** The items, in insertion order. */
  values(): unknown[] {
    return [...this.#items.values()];
  }
  /** A new JS Set of the items. */
  toSet(): Set<unknown> {
    return new Set(this.#items.values());
  }

  /** The other operand of a binary operator: only sets and frozensets, as in Python. */
  #operand(v: unknown, op: string): Map<string, unknown> {
    if (!(v instanceof Set)) throw pyError('TypeError', `unsupported operand type(s) for ${op}: 'set' and '${pyTypeName(v)}'`);
    return setOf(v);
  }

  /** Serves one `set` method or operator called through a proxy, with CPython's arguments, results and exceptions. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>): unknown {
    const items = this.#items;
    const union = (others: Map<string, unknown>[]): Map<string, unknown> => {
      const out = new Map(items);
      for (const o of others) for (const [k, v] of o) if (!out.has(k)) out.set(k, v);
      return out;
    };
    const inter = (others: Map<string, unknown>[]): Map<string, unknown> =>
      new Map([...items].filter(([k]) => others.every((o) => o.has(k))));
    const diff = (others: Map<string, unknown>[]): Map<string, unknown> =>
      new Map([...items].filter(([k]) => !others.some((o) => o.has(k))));
    const symdiff = (o: Map<string, unknown>): Map<string, unknown> => {
      const out = new Map([...items].filter(([k]) => !o.has(k)));
      for (const [k, v] of o) if (!items.has(k)) out.set(k, v);
      return out;
    };
    const asSet = (m: Map<string, unknown>): Set<unknown> => new Set(m.values());
    const subset = (a: Map<string, unknown>, b: Map<string, unknown>): boolean => [...a.keys()].every((k) => b.has(k));
    const all = (): Map<string, unknown>[] => args.map(setOf);
    switch (method) {
      case '__len__':
        return items.size;
      case '__contains__':
        return items.has(pyKey(args[0]));
      case '__iter__':
        return iteratorOf(this.values());
      case '__or__':
      case '__ror__':
        return asSet(union([this.#operand(args[0], '|')]));
      case '__and__':
      case '__rand__':
        return asSet(inter([this.#operand(args[0], '&')]));
      case '__sub__':
        return asSet(diff([this.#operand(args[0], '-')]));
      case '__rsub__': {
        const o = this.#operand(args[0], '-');
        return asSet(new Map([...o].filter(([k]) => !items.has(k))));
      }
      case '__xor__':
      case '__rxor__':
        return asSet(symdiff(this.#operand(args[0], '^')));
      case '__ior__':
        this.#items = union([this.#operand(args[0], '|=')]);
        return this.toSet();
      case '__iand__':
        this.#items = inter([this.#operand(args[0], '&=')]);
        return this.toSet();
      case '__isub__':
        this.#items = diff([this.#operand(args[0], '-=')]);
        return this.toSet();
      case '__ixor__':
        this.#items = symdiff(this.#operand(args[0], '^='));
        return this.toSet();
      case '__le__':
        return subset(items, this.#operand(args[0], '<='));
      case '__lt__': {
        const o = this.#operand(args[0], '<');
        return items.size < o.size && subset(items, o);
      }
      case '__ge__':
        return subset(this.#operand(args[0], '>='), items);
      case '__gt__': {
        const o = this.#operand(args[0], '>');
        return o.size < items.size && subset(o, items);
      }
      case 'add':
        if (!items.has(pyKey(args[0]))) items.set(pyKey(args[0]), args[0]);
        return null;
      case 'clear':
        items.clear();
        return null;
      case 'copy':
        return this.toSet();
      case 'discard':
        items.delete(pyKey(args[0]));
        return null;
      case 'remove':
        if (!items.delete(pyKey(args[0]))) throw pyError('KeyError', args[0]);
        return null;
      case 'pop': {
        noArgs('pop', args);
        const first = items.entries().next();
        if (first.done) throw pyError('KeyError', 'pop from an empty set');
        items.delete(first.value[0]);
        return first.value[1];
      }
      case 'union':
        return asSet(union(all()));
      case 'update':
        this.#items = union(all());
        return null;
      case 'intersection':
        return asSet(inter(all()));
      case 'intersection_update':
        this.#items = inter(all());
        return null;
      case 'difference':
        return asSet(diff(all()));
      case 'difference_update':
        this.#items = diff(all());
        return null;
      case 'symmetric_difference':
        return asSet(symdiff(setOf(arg(args, kwargs, 0, 'other'))));
      case 'symmetric_difference_update':
        this.#items = symdiff(setOf(arg(args, kwargs, 0, 'other')));
        return null;
      case 'isdisjoint': {
        const o = setOf(arg(args, kwargs, 0, 'other'));
        return ![...o.keys()].some((k) => items.has(k));
      }
      case 'issubset':
        return subset(items, setOf(arg(args, kwargs, 0, 'other')));
      case 'issuperset':
        return subset(setOf(arg(args, kwargs, 0, 'other')), items);
      default:
        return unknownMethod(this, method);
    }
  }
  /** What `#GETVALUE` sends: a Set of the items (a Python `set`). */
  [getValue](): unknown {
    return this.toSet();
  }
  pyRepr(): string {
    return this.#items.size ? pyRepr(this.toSet()) : 'set()';
  }
}

// ------------------------------------------------------------------ Iterator

/**
 * The `Iterator` typeid (results of `dict.__iter__`).
 * @example
 * ```ts
 * const it = new PyIterator([1, 2, 3]); // served as the 'Iterator' typeid; Python calls next()
 * ```
 */
export class PyIterator implements ServedObject {
  #i = 0;
  /** @param items The items it yields, in order. */
  constructor(readonly items: unknown[]) {}
  /** `__next__`/`next`/`send` return the next item (`StopIteration` at the end); `close` and `throw` end the iteration. */
  [serveCall](method: string): unknown {
    switch (method) {
      case '__next__':
      case 'next':
      case 'send':
        if (this.#i >= this.items.length) throw pyError('StopIteration');
        return this.items[this.#i++];
      case 'close':
        this.#i = this.items.length;
        return null;
      case 'throw':
        this.#i = this.items.length;
        throw pyError('StopIteration');
      default:
        return unknownMethod(this, method);
    }
  }
  pyRepr(): string {
    return '<iterator object>';
  }
}

// ------------------------------------------------------------------ Queue

/**
 * `queue.Queue` (also JoinableQueue): `get`/`put` wait asynchronously, with Python's timeouts.
 * @example
 * ```ts
 * const jobs = new PyQueue([100]); // maxsize 100, like queue.Queue(100)
 * await serveManager({ authkey: 'abc', registry: { get_jobs: () => jobs } });
 * ```
 */
export class PyQueue implements ServedObject {
  /** The queued items, oldest first. */
  readonly items: unknown[] = [];
  /** Largest number of items; `0` (the default) means unbounded, as in `queue.Queue`. */
  readonly maxsize: number;
  #unfinished = 0;
  readonly #changed = new Set<Wake>();
  readonly #allDone = new Set<Wake>();

  constructor(args: unknown[] = [], kwargs: Record<string, unknown> = {}) {
    this.maxsize = pyIndex(arg(args, kwargs, 0, 'maxsize', 0), 'maxsize');
  }

  #full(): boolean {
    return this.maxsize > 0 && this.items.length >= this.maxsize;
  }

  async #wait(cond: () => boolean, block: unknown, timeout: unknown, ctx: CallContext): Promise<boolean> {
    if (!pyTruthy(block)) return cond();
    const t = pySeconds(timeout);
    if (t !== null && t < 0) throw pyError('ValueError', "'timeout' must be a non-negative number");
    return waitUntil(cond, this.#changed, t, ctx.signal);
  }

  /** `q.get(block, timeout)`: takes the oldest item, waiting up to `timeout` seconds (`null`: forever) when `block` is truthy; throws `queue.Empty`. */
  async get(block: unknown, timeout: unknown, ctx: CallContext): Promise<unknown> {
    let item: unknown;
    const take = (): boolean => {
      if (this.items.length === 0) return false;
      item = this.items.shift();
      return true;
    };
    const ok = await this.#wait(take, block, timeout, ctx);
    if (!ok) throw new PyException('queue', 'Empty', []);
    wakeAll(this.#changed);
    return item;
  }

  /** `q.put(item, block, timeout)`: appends `item`, waiting for room as `get` waits for an item; throws `queue.Full`. */
  async put(item: unknown, block: unknown, timeout: unknown, ctx: CallContext): Promise<null> {
    const put = (): boolean => {
      if (this.#full()) return false;
      this.items.push(item);
      this.#unfinished++;
      return true;
    };
    const ok = await this.#wait(put, block, timeout, ctx);
    if (!ok) throw new PyException('queue', 'Full', []);
    wakeAll(this.#changed);
    return null;
  }

  /** Serves one `queue.Queue` method (`get`, `put`, `task_done`, `join`, …) called through a proxy. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown {
    switch (method) {
      case 'get':
        return this.get(arg(args, kwargs, 0, 'block', true), arg(args, kwargs, 1, 'timeout', null), ctx);
      case 'get_nowait':
        return this.get(false, null, ctx);
      case 'put':
        return this.put(arg(args, kwargs, 0, 'item'), arg(args, kwargs, 1, 'block', true), arg(args, kwargs, 2, 'timeout', null), ctx);
      case 'put_nowait':
        return this.put(arg(args, kwargs, 0, 'item'), false, null, ctx);
      case 'qsize':
        return this.items.length;
      case 'empty':
        return this.items.length === 0;
      case 'full':
        return this.#full();
      case 'task_done':
        if (this.#unfinished <= 0) throw pyError('ValueError', 'task_done() called too many times');
        if (--this.#unfinished === 0) wakeAll(this.#allDone);
        return null;
      case 'join':
        return waitUntil(() => this.#unfinished === 0, this.#allDone, null, ctx.signal).then(() => null);
      default:
        return unknownMethod(this, method);
    }
  }
  /** Throws the `TypeError` CPython's `_getvalue()` raises for a queue (a lock cannot be pickled). */
  [getValue](): unknown {
    throw pyError('TypeError', "cannot pickle '_thread.lock' object");
  }
  pyRepr(): string {
    return '<queue.Queue object>';
  }
}

// ------------------------------------------------------------------ Namespace, Value, Array

/**
 * `multiprocessing.managers.Namespace`.
 * @example
 * ```ts
 * const ns = new PyNamespace([], { ready: false }); // Python sees ns.ready == False
 * ```
 */
export class PyNamespace implements ServedObject {
  /** The namespace's attributes, by name. */
  readonly attrs = new Map<string, unknown>();
  constructor(_args: unknown[] = [], kwargs: Record<string, unknown> = {}) {
    for (const [k, v] of Object.entries(kwargs)) this.attrs.set(k, v);
  }
  /** Serves `__getattribute__`, `__setattr__` and `__delattr__` called through a NamespaceProxy. */
  [serveCall](method: string, args: unknown[]): unknown {
    const name = String(args[0]);
    switch (method) {
      case '__getattribute__':
        if (name === '__dict__') return new Map(this.attrs);
        if (!this.attrs.has(name)) throw pyError('AttributeError', `'Namespace' object has no attribute '${name}'`);
        return this.attrs.get(name);
      case '__setattr__':
        this.attrs.set(name, args[1]);
        return null;
      case '__delattr__':
        if (!this.attrs.delete(name)) throw pyError('AttributeError', name);
        return null;
      default:
        return unknownMethod(this, method);
    }
  }
  /** What `#GETVALUE` sends: a `multiprocessing.managers.Namespace` with these attributes. */
  [getValue](): unknown {
    return new Reduced({ module: MANAGERS_MODULE, name: 'Namespace', args: [], via: 'newobj', state: new Map(this.attrs) });
  }
  pyRepr(): string {
    const parts: string[] = [];
    let size = 0;
    for (const [k, v] of this.attrs) {
      if (k.startsWith('_')) continue;
      // Each pyRepr is capped alone: cap their sum too (many attributes holding one huge value).
      const text = size > REPR_MAX_LENGTH ? '...' : pyRepr(v);
      size += text.length;
      parts.push(`${k}=${text}`);
    }
    return `Namespace(${parts.sort().join(', ')})`;
  }
}

/**
 * `multiprocessing.managers.Value` (the typecode is stored, not enforced, as in CPython).
 * @example
 * ```ts
 * const counter = new PyValue(['i', 0]); // Value('i', 0)
 * ```
 */
export class PyValue implements ServedObject {
  /** The typecode given at creation (stored, not checked). */
  typecode: unknown;
  /** The current value. */
  value: unknown;
  constructor(args: unknown[] = [], kwargs: Record<string, unknown> = {}) {
    this.typecode = arg(args, kwargs, 0, 'typecode');
    this.value = arg(args, kwargs, 1, 'value');
  }
  /** Serves `get()` and `set(value)` called through a ValueProxy. */
  [serveCall](method: string, args: unknown[]): unknown {
    switch (method) {
      case 'get':
        return this.value;
      case 'set':
        this.value = args[0];
        return null;
      default:
        return unknownMethod(this, method);
    }
  }
  /** What `#GETVALUE` sends: a `multiprocessing.managers.Value` with this typecode and value. */
  [getValue](): unknown {
    const state = new Map<string, unknown>([
      ['_typecode', this.typecode],
      ['_value', this.value],
    ]);
    return new Reduced({ module: MANAGERS_MODULE, name: 'Value', args: [], via: 'newobj', state });
  }
  pyRepr(): string {
    return `Value(${pyRepr(this.typecode)}, ${pyRepr(this.value)})`;
  }
}

/**
 * `array.array` (SyncManager's `Array`).
 * @example
 * ```ts
 * const samples = new PyArray(['d', [0.5, 1.5]]); // Array('d', [0.5, 1.5])
 * ```
 */
export class PyArray implements ServedObject {
  /** The `array` typecode, e.g. `'d'` (stored, not checked). */
  readonly typecode: string;
  /** The array's items. */
  readonly items: unknown[];
  constructor(args: unknown[] = [], kwargs: Record<string, unknown> = {}) {
    this.typecode = String(arg(args, kwargs, 0, 'typecode'));
    const seq = arg(args, kwargs, 1, 'sequence', []);
    // An int is a size, n zeros as `[0] * n` gives (errors included): mpwire's extension, since
    // CPython's SyncManager.Array takes only a sequence (TypeError: 'int' object is not iterable).
    const size = typeof seq === 'bigint' || (typeof seq === 'number' && Number.isInteger(seq));
    this.items = size ? repeat([0], repeatCount(seq)) : iterate(seq);
  }
  #array(items: unknown[]): unknown {
    const typecode = this.typecode;
    return new Reduced({ module: 'array', name: 'array', args: [typecode, items] });
  }
  /** Serves `__len__` and item/slice get and set called through an ArrayProxy. */
  [serveCall](method: string, args: unknown[]): unknown {
    switch (method) {
      case '__getslice__':
      case '__setslice__':
        return this[serveCall](`__${method.slice(2, 5)}item__`, [new PySlice(args[0], args[1], null), ...args.slice(2)]);
      case '__len__':
        return this.items.length;
      case '__getitem__': {
        const i = args[0];
        if (i instanceof PySlice) return this.#array(sliceRange(i, this.items.length).map((j) => this.items[j]));
        return this.items[normIndex(i, this.items.length, 'array')];
      }
      case '__setitem__': {
        const [i, v] = args;
        if (i instanceof PySlice) {
          const idx = sliceRange(i, this.items.length);
          const values = iterate(v);
          if (idx.length !== values.length) throw pyError('ValueError', 'attempt to assign array of different size to extended slice');
          for (const [n, j] of idx.entries()) this.items[j] = values[n];
        } else this.items[normIndex(i, this.items.length, 'array assignment')] = v;
        return null;
      }
      default:
        return unknownMethod(this, method);
    }
  }
  /** What `#GETVALUE` sends: a copy that pickles as `array.array(typecode, items)`. */
  [getValue](): unknown {
    return this.#array(this.items.slice());
  }
  pyRepr(): string {
    return `array(${pyRepr(this.typecode)}, ${pyRepr(this.items)})`;
  }
}

// ------------------------------------------------------------------ locks

/** A lock a Condition can be built on. */
interface ConditionLock extends ServedObject {
  acquireFor(ctx: CallContext, timeout: number | null): Promise<boolean>;
  ownedBy(ctx: CallContext): boolean;
  /** Release completely; returns what `restore` needs. */
  releaseAll(ctx: CallContext): number;
  restore(ctx: CallContext, saved: number): Promise<void>;
}

/** Python's `acquire(blocking=True, timeout=-1)` → seconds (null = forever, 0 = try once). */
function lockTimeout(args: unknown[], kwargs: Record<string, unknown>): number | null {
  const blocking = pyTruthy(arg(args, kwargs, 0, 'blocking', true));
  const raw = arg(args, kwargs, 1, 'timeout', -1);
  const t = raw === null ? -1 : (pySeconds(raw) as number);
  if (!blocking) {
    if (t !== -1) throw pyError('ValueError', "can't specify a timeout for a non-blocking call");
    return 0;
  }
  if (t < 0 && t !== -1) throw pyError('ValueError', 'timeout value must be a non-negative number');
  return t === -1 ? null : t;
}

/**
 * `threading.Lock`.
 * @example
 * ```ts
 * const lock = new PyLock();
 * await serveManager({ authkey: 'abc', registry: { get_lock: () => lock } }); // Python: with m.get_lock(): …
 * ```
 */
export class PyLock implements ConditionLock {
  /** True while the lock is held. */
  locked = false;
  readonly #waiters = new Set<Wake>();
  /** Acquire, waiting up to `timeout` seconds (`null`: forever, `0`: try once); resolves false on timeout. */
  async acquireFor(ctx: CallContext, timeout: number | null): Promise<boolean> {
    const take = (): boolean => {
      if (this.locked) return false;
      this.locked = true;
      return true;
    };
    return waitUntil(take, this.#waiters, timeout, ctx.signal);
  }
  /** Release and wake waiters; throws a Python `RuntimeError` when not locked. */
  release(): void {
    if (!this.locked) throw pyError('RuntimeError', 'release unlocked lock');
    this.locked = false;
    wakeAll(this.#waiters);
  }
  /** Whether the lock is held (a Lock has no owner, so held by anyone counts). */
  ownedBy(): boolean {
    return this.locked;
  }
  releaseAll(): number {
    this.release();
    return 1;
  }
  /** Re-acquire after a `Condition.wait`, waiting as long as it takes. */
  async restore(ctx: CallContext): Promise<void> {
    await this.acquireFor(ctx, null);
  }
  /** Serves `acquire(blocking, timeout)`, `release()` and `locked()` called through an AcquirerProxy. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown {
    switch (method) {
      case 'acquire':
        return this.acquireFor(ctx, lockTimeout(args, kwargs));
      case 'release':
        this.release();
        return null;
      case 'locked':
        return this.locked;
      default:
        return unknownMethod(this, method);
    }
  }
  pyRepr(): string {
    return `<${this.locked ? 'locked' : 'unlocked'} _thread.lock object>`;
  }
}

/**
 * `threading.RLock`: owned by the object-call connection (CPython: the server thread) that acquired it.
 * @example
 * ```ts
 * const rlock = new PyRLock(); // re-entrant for the server thread (connection) that holds it
 * ```
 */
export class PyRLock implements ConditionLock {
  /** The `CallContext.channel` that holds the lock, or `undefined` when it is free. */
  owner: number | undefined;
  /** Recursion level: acquires by the owner not yet released (`0`: free). */
  count = 0;
  readonly #waiters = new Set<Wake>();
  /** Acquire for `ctx.channel`: at once when it already owns the lock, else wait up to `timeout` seconds (`null`: forever, `0`: try once); resolves false on timeout. */
  async acquireFor(ctx: CallContext, timeout: number | null): Promise<boolean> {
    if (this.owner === ctx.channel) {
      this.count++;
      return true;
    }
    const take = (): boolean => {
      if (this.count !== 0) return false;
      this.owner = ctx.channel;
      this.count = 1;
      return true;
    };
    return waitUntil(take, this.#waiters, timeout, ctx.signal);
  }
  /** Release one level, waking waiters when free; throws a Python `RuntimeError` unless `ctx.channel` owns it. */
  release(ctx: CallContext): void {
    if (this.owner !== ctx.channel || this.count === 0) throw pyError('RuntimeError', 'cannot release un-acquired lock');
    if (--this.count === 0) {
      this.owner = undefined;
      wakeAll(this.#waiters);
    }
  }
  /** Whether `ctx.channel` holds the lock. */
  ownedBy(ctx: CallContext): boolean {
    return this.count > 0 && this.owner === ctx.channel;
  }
  releaseAll(): number {
    const n = this.count;
    this.count = 0;
    this.owner = undefined;
    wakeAll(this.#waiters);
    return n;
  }
  /** Re-acquire after a `Condition.wait` and set the recursion level back to `saved`. */
  async restore(ctx: CallContext, saved: number): Promise<void> {
    await this.acquireFor(ctx, null);
    this.count = saved;
  }
  /** Serves `acquire(blocking, timeout)` and `release()` called through an AcquirerProxy. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown {
    switch (method) {
      case 'acquire':
        return this.acquireFor(ctx, lockTimeout(args, kwargs));
      case 'release':
        this.release(ctx);
        return null;
      default:
        return unknownMethod(this, method);
    }
  }
  pyRepr(): string {
    return `<${this.count ? 'locked' : 'unlocked'} _thread.RLock object owner=${this.owner ?? 0} count=${this.count}>`;
  }
}

/**
 * `threading.Semaphore` / `BoundedSemaphore`.
 * @example
 * ```ts
 * const slots = new PySemaphore([3]);                 // Semaphore(3)
 * const bounded = new PySemaphore([3], {}, true);      // BoundedSemaphore(3)
 * ```
 */
export class PySemaphore implements ServedObject {
  /** The counter: how many acquires succeed before one has to wait. */
  value: number;
  readonly #initial: number;
  readonly #waiters = new Set<Wake>();
  constructor(
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    /** True for a BoundedSemaphore: a release above the initial value throws `ValueError`. */
    readonly bounded = false,
  ) {
    this.value = pyIndex(arg(args, kwargs, 0, 'value', 1), 'value');
    if (this.value < 0) throw pyError('ValueError', 'semaphore initial value must be >= 0');
    this.#initial = this.value;
  }
  /** `s.acquire(blocking=True, timeout=None)`: decrements the counter, waiting while it is 0; resolves false on timeout or a failed non-blocking try. */
  async acquire(args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): Promise<boolean> {
    const blocking = pyTruthy(arg(args, kwargs, 0, 'blocking', true));
    const t = pySeconds(arg(args, kwargs, 1, 'timeout', null));
    if (!blocking && t !== null) throw pyError('ValueError', "can't specify timeout for non-blocking acquire");
    const take = (): boolean => {
      if (this.value <= 0) return false;
      this.value--;
      return true;
    };
    return waitUntil(take, this.#waiters, blocking ? t : 0, ctx.signal);
  }
  /** `s.release(n)`: adds `n` and wakes waiters; throws `ValueError` when `n < 1` or a bounded semaphore would exceed its initial value. */
  release(n: number): void {
    if (n < 1) throw pyError('ValueError', 'n must be one or more');
    if (this.bounded && this.value + n > this.#initial) throw pyError('ValueError', 'Semaphore released too many times');
    this.value += n;
    wakeAll(this.#waiters);
  }
  /** Serves `acquire(blocking, timeout)` and `release(n)` called through an AcquirerProxy. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown {
    switch (method) {
      case 'acquire':
        return this.acquire(args, kwargs, ctx);
      case 'release':
        this.release(pyIndex(arg(args, kwargs, 0, 'n', 1), 'n'));
        return null;
      default:
        return unknownMethod(this, method);
    }
  }
  pyRepr(): string {
    return `<threading.${this.bounded ? 'BoundedSemaphore' : 'Semaphore'} value=${this.value}>`;
  }
}

/**
 * `threading.Condition` (over an RLock unless a served Lock/RLock is given).
 * @example
 * ```ts
 * const cond = new PyCondition(new PyLock()); // Condition(Lock())
 * ```
 */
export class PyCondition implements ServedObject {
  /** The underlying lock: the served Lock/RLock given, else a new PyRLock. */
  readonly lock: ConditionLock;
  readonly #waiters: Array<{ wake(): void }> = [];
  constructor(lock?: unknown) {
    // A proxy sent back to its own server arrives as a local reference to the referent.
    const l = lock && typeof lock === 'object' && 'referent' in lock ? (lock as { referent: unknown }).referent : lock;
    this.lock = l instanceof PyLock || l instanceof PyRLock ? l : new PyRLock();
  }
  /**
   * `c.wait(timeout)`: release the lock fully, wait for a notify or `timeout` seconds (`null`: forever),
   * then re-acquire; resolves true when notified. Throws `RuntimeError` unless the caller holds the lock.
   */
  async wait(timeout: number | null, ctx: CallContext): Promise<boolean> {
    if (!this.lock.ownedBy(ctx)) throw pyError('RuntimeError', 'cannot wait on un-acquired lock');
    const saved = this.lock.releaseAll(ctx);
    let notified = false;
    const entry = { wake: (): void => undefined };
    try {
      notified = await new Promise<boolean>((resolve, reject) => {
        let cancelTimer: (() => void) | undefined;
        const cleanup = (): void => {
          const i = this.#waiters.indexOf(entry);
          if (i >= 0) this.#waiters.splice(i, 1);
          cancelTimer?.();
          ctx.signal.removeEventListener('abort', onAbort);
        };
        const onAbort = (): void => {
          cleanup();
          reject(new CallAborted('client went away'));
        };
        entry.wake = () => {
          cleanup();
          resolve(true);
        };
        this.#waiters.push(entry);
        ctx.signal.addEventListener('abort', onAbort);
        if (timeout !== null) {
          cancelTimer = startTimer(timeout * 1000, () => {
            cleanup();
            resolve(false);
          });
        }
      });
    } finally {
      if (!ctx.signal.aborted) await this.lock.restore(ctx, saved);
    }
    return notified;
  }
  /** `c.notify(n)`: wake up to `n` waiters, oldest first; throws `RuntimeError` unless the caller holds the lock. */
  notify(n: number, ctx: CallContext): void {
    if (!this.lock.ownedBy(ctx)) throw pyError('RuntimeError', 'cannot notify on un-acquired lock');
    for (const w of this.#waiters.slice(0, n)) w.wake();
  }
  /** Serves `acquire`, `release`, `wait`, `notify` and `notify_all` called through a ConditionProxy. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown {
    switch (method) {
      case 'acquire':
        return this.lock.acquireFor(ctx, lockTimeout(args, kwargs));
      case 'release':
        return this.lock[serveCall]('release', [], {}, ctx);
      case 'wait':
        return this.wait(pySeconds(arg(args, kwargs, 0, 'timeout', null)), ctx);
      case 'notify':
        this.notify(pyIndex(arg(args, kwargs, 0, 'n', 1), 'n'), ctx);
        return null;
      case 'notify_all':
      case 'notifyAll':
        this.notify(this.#waiters.length, ctx);
        return null;
      default:
        return unknownMethod(this, method);
    }
  }
  pyRepr(): string {
    return `<Condition(${this.lock.pyRepr()}, ${this.#waiters.length})>`;
  }
}

/**
 * `threading.Event`.
 * @example
 * ```ts
 * const stop = new PyEvent(); // Python: m.get_stop().wait(5)
 * ```
 */
export class PyEvent implements ServedObject {
  /** The internal flag: true once set, until cleared. */
  flag = false;
  readonly #waiters = new Set<Wake>();
  /** Serves `is_set`, `set`, `clear` and `wait(timeout)` called through an EventProxy. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown {
    switch (method) {
      case 'is_set':
      case 'isSet':
        return this.flag;
      case 'set':
        this.flag = true;
        wakeAll(this.#waiters);
        return null;
      case 'clear':
        this.flag = false;
        return null;
      case 'wait':
        return waitUntil(() => this.flag, this.#waiters, pySeconds(arg(args, kwargs, 0, 'timeout', null)), ctx.signal);
      default:
        return unknownMethod(this, method);
    }
  }
  pyRepr(): string {
    return `<threading.Event: ${this.flag ? 'set' : 'unset'}>`;
  }
}

/** One round of a {@link PyBarrier}: its waiters share it, and see it broken. */
interface BarrierRound {
  broken: boolean;
}

function brokenBarrier(): PyException {
  return new PyException('threading', 'BrokenBarrierError', []);
}

/**
 * `threading.Barrier` (the `action` argument is not supported: a callable cannot be sent).
 * @example
 * ```ts
 * const start = new PyBarrier([4]); // Barrier(4): four Python clients wait() together
 * ```
 */
export class PyBarrier implements ServedObject {
  /** Number of parties that must call `wait` to pass the barrier. */
  readonly parties: number;
  /** Default `wait` timeout in seconds (`null`: none). */
  readonly timeout: number | null;
  /** Parties waiting now (Python's `n_waiting`). */
  count = 0;
  /** True once the barrier is broken (abort, timeout, a waiter gone), until `reset`. */
  broken = false;
  /** The current round of waiters; a pass or a reset starts a new one, so no history of rounds is kept. */
  #round: BarrierRound = { broken: false };
  readonly #waiters = new Set<Wake>();
  constructor(args: unknown[] = [], kwargs: Record<string, unknown> = {}) {
    this.parties = pyIndex(arg(args, kwargs, 0, 'parties'), 'parties');
    if (this.parties < 1) throw pyError('ValueError', 'parties must be > 0');
    const action = arg(args, kwargs, 1, 'action', null);
    if (action !== null) throw pyError('TypeError', 'Barrier(action=…) cannot be served by mpwire');
    this.timeout = pySeconds(arg(args, kwargs, 2, 'timeout', null));
  }
  #break(): void {
    this.broken = true;
    this.#round.broken = true;
    wakeAll(this.#waiters);
  }
  /**
   * `b.wait(timeout)` (seconds; `null`: the barrier's default): resolves with this caller's arrival index
   * once all parties arrived; throws `threading.BrokenBarrierError` when the barrier is or becomes broken, a timeout included.
   */
  async wait(timeout: number | null, ctx: CallContext): Promise<number> {
    if (this.broken) throw brokenBarrier();
    // A waiter holds its round: broken, or replaced by the next one (passed or reset), it is done.
    const round = this.#round;
    const index = this.count++;
    if (this.count === this.parties) {
      this.count = 0;
      this.#round = { broken: false };
      wakeAll(this.#waiters);
      return index;
    }
    const done = (): boolean => this.#round !== round || round.broken;
    let ok: boolean;
    try {
      ok = await waitUntil(done, this.#waiters, timeout ?? this.timeout, ctx.signal);
    } catch (e) {
      if (this.#round === round) this.#break();
      throw e;
    }
    if (!ok) {
      this.#break();
      throw brokenBarrier();
    }
    if (round.broken) throw brokenBarrier();
    return index;
  }
  /** Serves `wait`, `abort`, `reset` and reads of `parties`, `n_waiting` and `broken` called through a BarrierProxy. */
  [serveCall](method: string, args: unknown[], kwargs: Record<string, unknown>, ctx: CallContext): unknown {
    switch (method) {
      case 'wait':
        return this.wait(pySeconds(arg(args, kwargs, 0, 'timeout', null)), ctx);
      case 'abort':
        this.#break();
        return null;
      case 'reset':
        if (this.count > 0) this.#break();
        this.count = 0;
        this.#round = { broken: false };
        this.broken = false;
        return null;
      case '__getattribute__': {
        const name = String(args[0]);
        if (name === 'parties') return this.parties;
        if (name === 'n_waiting') return this.count;
        if (name === 'broken') return this.broken;
        throw pyError('AttributeError', `'Barrier' object has no attribute '${name}'`);
      }
      default:
        return unknownMethod(this, method);
    }
  }
  pyRepr(): string {
    return `<threading.Barrier: waiters=${this.count}/${this.parties}>`;
  }
}

// ------------------------------------------------------------------ registry

/**
 * The public methods of `queue.Queue` (what CPython's server computes for Queue/JoinableQueue).
 * @example
 * ```ts
 * await serveManager({ authkey: 'abc', registry: { get_q: { callable: () => q, exposed: QUEUE_METHODS } } });
 * ```
 */
export const QUEUE_METHODS = ['empty', 'full', 'get', 'get_nowait', 'join', 'put', 'put_nowait', 'qsize', 'task_done'] as const;

/**
 * A factory of a built-in typeid: Python's `(args, kwargs)` → the served object.
 * @example
 * ```ts
 * const makeDict: BuiltinFactory = (args, kwargs) => new PyDict(args, kwargs);
 * ```
 */
export type BuiltinFactory = (args: unknown[], kwargs: Record<string, unknown>) => ServedObject;

/**
 * Factories of SyncManager's typeids (the exposed lists come from `SYNC_MANAGER_REGISTRY`).
 * @example
 * ```ts
 * const d = BUILTIN_FACTORIES['dict']?.([], { a: 1 }); // a PyDict, as m.dict(a=1) makes
 * ```
 */
export const BUILTIN_FACTORIES: Readonly<Record<string, BuiltinFactory>> = {
  dict: (a, k) => new PyDict(a, k),
  set: (a) => new PySet(a),
  list: (a) => new PyList(a),
  Queue: (a, k) => new PyQueue(a, k),
  JoinableQueue: (a, k) => new PyQueue(a, k),
  Namespace: (a, k) => new PyNamespace(a, k),
  Value: (a, k) => new PyValue(a, k),
  Array: (a, k) => new PyArray(a, k),
  Lock: () => new PyLock(),
  RLock: () => new PyRLock(),
  Semaphore: (a, k) => new PySemaphore(a, k),
  BoundedSemaphore: (a, k) => new PySemaphore(a, k, true),
  Condition: (a, k) => new PyCondition(arg(a, k, 0, 'lock', null)),
  Event: () => new PyEvent(),
  Barrier: (a, k) => new PyBarrier(a, k),
};

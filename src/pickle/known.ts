/**
 * The closed table of Python globals mpwire understands, and Python 2 ↔ 3 name mapping.
 * Resolving a name never imports or runs anything: it picks a JS model or returns undefined
 * (the caller then makes an inert {@link PyObject}).
 * @module
 */
import {
  BUILTIN_EXCEPTIONS,
  ByteArray,
  Counter,
  DefaultDict,
  Deque,
  FrozenSet,
  OrderedDict,
  PyComplex,
  PyDate,
  PyDatetime,
  PyDecimal,
  PyException,
  PyFloat,
  PyFraction,
  PyGlobal,
  PyRange,
  PySlice,
  PyTime,
  PyTimedelta,
  PyTimezone,
  PyUUID,
  Tuple,
} from './model.js';
import { chargeCopies } from './budget.js';
import { NUMPY_GLOBALS, resolveNumpy } from './numpy.js';
import { pyKey } from './py-key.js';

/**
 * How an object is being constructed.
 * @example
 * ```ts
 * const hook: PyClassHook = {
 *   create: (args, { via }: { via: ConstructKind }) => (via === 'reduce' ? new Point(...(args as [number, number])) : Object.create(Point.prototype)),
 * };
 * ```
 */
export type ConstructKind = 'reduce' | 'newobj' | 'newobj_ex' | 'inst' | 'obj';

const PY2_MODULES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  exceptions: 'builtins',
  Queue: 'queue',
  cPickle: 'pickle',
  _abcoll: 'collections.abc',
  UserDict: 'collections',
  UserList: 'collections',
  UserString: 'collections',
};

const PY2_NAMES: Record<string, readonly [string, string]> = {
  '__builtin__.xrange': ['builtins', 'range'],
  '__builtin__.unicode': ['builtins', 'str'],
  '__builtin__.long': ['builtins', 'int'],
  '__builtin__.basestring': ['builtins', 'str'],
  '__builtin__.reduce': ['functools', 'reduce'],
  '__builtin__.intern': ['sys', 'intern'],
  '__builtin__.unichr': ['builtins', 'chr'],
  'exceptions.StandardError': ['builtins', 'Exception'],
  'UserDict.IterableUserDict': ['collections', 'UserDict'],
  'whichdb.whichdb': ['dbm', 'whichdb'],
};

/** Python 2 module/name → Python 3 (what Python 3's `fix_imports` does when unpickling). */
export function mapPy2Global(module: string, name: string): [string, string] {
  // Own properties only: a hostile GLOBAL such as `__proto__` or `constructor` must not pick up
  // Object.prototype members (it gave the placeholder Object.prototype as its module).
  const key = `${module}.${name}`;
  const full = Object.hasOwn(PY2_NAMES, key) ? PY2_NAMES[key] : undefined;
  if (full) return [full[0], full[1]];
  const m = Object.hasOwn(PY2_MODULES, module) ? PY2_MODULES[module] : undefined;
  return [m ?? module, name];
}

/** Python 3 module/name → Python 2 (for protocols 0–2, as CPython's pickler does with `fix_imports`). */
export function mapPy3Global(module: string, name: string): [string, string] {
  if (module === 'builtins') {
    if (BUILTIN_EXCEPTIONS.has(name) && name !== 'StandardError') return ['exceptions', name];
    if (name === 'range') return ['__builtin__', 'xrange'];
    if (name === 'str') return ['__builtin__', 'unicode'];
    if (name === 'int') return ['__builtin__', 'long'];
    return ['__builtin__', name];
  }
  if (module === 'copyreg') return ['copy_reg', name];
  if (module === 'queue') return ['Queue', name];
  return [module, name];
}

function num(x: unknown): number {
  if (typeof x === 'number') return x;
  if (x instanceof PyFloat) return x.value;
  if (typeof x === 'bigint') return Number(x);
  if (typeof x === 'boolean') return x ? 1 : 0;
  throw new TypeError('expected a number');
}

function intLike(x: unknown): number | bigint {
  if (typeof x === 'number' || typeof x === 'bigint') return x;
  if (typeof x === 'boolean') return x ? 1 : 0;
  if (x == null) return 0;
  throw new TypeError('expected an int');
}

function latin1(x: unknown): Buffer {
  if (typeof x !== 'string') throw new TypeError('expected str');
  chargeCopies(x.length);
  for (let i = 0; i < x.length; i++) if (x.charCodeAt(i) > 255) throw new TypeError('not latin-1');
  return Buffer.from(x, 'latin1');
}

/** A str argument; Python 2 str arrives as bytes when `encoding: 'bytes'` and is read as latin-1. */
function text(x: unknown): string | undefined {
  if (typeof x === 'string') return x;
  if (x instanceof Uint8Array) {
    chargeCopies(x.byteLength);
    return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1');
  }
  return undefined;
}

/**
 * The number of items (or bytes) a handler is about to copy or walk out of `x`, charged to the
 * copy budget of the running decode (budget.ts): handlers copy a value the pickle already holds,
 * and a memoized one can be handed to them any number of times.
 */
function charge(x: string | { readonly length: number } | { readonly size: number }): void {
  chargeCopies(typeof x === 'string' ? x.length : 'length' in x ? x.length : x.size);
}

/**
 * The name of an encoding argument, or '' for anything that cannot be one. Never String(x): of a
 * decoded tuple that joins it recursively, exponential in the depth of a DAG of shared tuples.
 */
function encodingName(x: unknown): string {
  if (typeof x === 'string') return x.length <= 32 ? x : '';
  return x instanceof Uint8Array && x.byteLength <= 32 ? (text(x) as string) : '';
}

/** The items of an iterable argument, charged to the copy budget: every caller copies them. */
function items(x: unknown): unknown[] {
  if (x == null) return [];
  if (Array.isArray(x)) {
    charge(x);
    return x;
  }
  if (x instanceof Set || x instanceof Uint8Array || typeof x === 'string') {
    charge(x);
    return [...x];
  }
  throw new TypeError('expected an iterable');
}

/**
 * The pairs of a `dict(x)`-like argument: a dict (Map or plain object) or a list/tuple of 2-item
 * pairs; undefined for anything else (bytes, str, placeholders, …), which then stays a placeholder.
 * Not `Object.entries` of any object: over a Buffer that made one entry per byte.
 */
function entries(x: unknown): Array<[unknown, unknown]> | undefined {
  if (x instanceof Map) {
    charge(x);
    return [...x];
  }
  if (isPlainObject(x)) {
    const e = Object.entries(x);
    charge(e);
    return e;
  }
  if (!Array.isArray(x)) return undefined;
  charge(x);
  if (!x.every((p) => Array.isArray(p) && p.length === 2)) return undefined;
  return x.map((p) => [(p as unknown[])[0], (p as unknown[])[1]]);
}

/**
 * `Counter(iterable)`: how many times each element occurs, elements equal in Python (`1`, `1.0`,
 * `True`) counted as one (the first one seen is the key). str counts characters, bytes counts
 * byte values, as Python iterates them; undefined for other arguments (a placeholder then).
 */
function counts(x: unknown): Array<[unknown, number]> | undefined {
  if (x instanceof Uint8Array || typeof x === 'string' || Array.isArray(x) || x instanceof Set) charge(x);
  if (x instanceof Uint8Array) {
    // Byte values: a table, in first-seen order (pyKey per byte is ~10× slower).
    const n = new Float64Array(256);
    const order: number[] = [];
    for (const c of x) if ((n[c] = (n[c] as number) + 1) === 1) order.push(c);
    return order.map((c) => [c, n[c] as number]);
  }
  let elems: Iterable<unknown>;
  if (typeof x === 'string' || Array.isArray(x) || x instanceof Set) elems = x;
  else return undefined;
  const byKey = new Map<string, [unknown, number]>();
  for (const e of elems) {
    const k = pyKey(e);
    const c = byKey.get(k);
    if (c) c[1]++;
    else byKey.set(k, [e, 1]);
  }
  return [...byKey.values()];
}

type Handler = (args: unknown[], kind: ConstructKind, exact: boolean, kw: Map<string, unknown> | undefined) => unknown;

const H = new Map<string, Handler>();
const reg = (names: string[], h: Handler): void => {
  for (const n of names) H.set(n, h);
};

/**
 * The items of a plain container argument of `list(x)` / `tuple(x)`, in Python's iteration order:
 * a list or tuple (any `Array`), a set, or a dict (its keys). Anything else (strings, bytes,
 * placeholders, …) gives undefined and the reduction stays a placeholder.
 */
function iterableItems(x: unknown): unknown[] | undefined {
  let out: unknown[];
  if (Array.isArray(x) || x instanceof Set) out = Array.from(x);
  else if (x instanceof Map) out = Array.from(x.keys());
  else if (isPlainObject(x)) out = Object.keys(x);
  else return undefined;
  charge(out);
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

/** A new dict from `pairs`: a plain object when every key is a str (default mode), else a `Map`. */
function newDict(pairs: Array<readonly [unknown, unknown]>, exact: boolean): unknown {
  if (!exact && pairs.every((p) => typeof p[0] === 'string')) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of pairs) {
      // Same rule as the decoder: `__proto__` is an own property, never the prototype.
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
      else o[k as string] = v;
    }
    return o;
  }
  return new Map(pairs);
}

// `list(x)`, `tuple(x)`, `dict(x)` called by REDUCE with a plain container: what multiprocessing
// sends for dict views (`rebuild_as_list`: `builtins.list((list(view),))`). The result is a new
// object, as in Python (`list(x) is not x`); other shapes (kwargs, NEWOBJ, odd arguments) stay placeholders.
reg(['builtins.list'], (a, kind) => {
  if (kind !== 'reduce' || a.length > 1) return undefined;
  return a.length === 0 ? [] : iterableItems(a[0]);
});
reg(['builtins.tuple'], (a, kind, exact) => {
  if (kind !== 'reduce' || a.length > 1) return undefined;
  const it = a.length === 0 ? [] : iterableItems(a[0]);
  if (it === undefined || !exact) return it;
  const t = new Tuple<unknown>(it.length);
  for (let i = 0; i < it.length; i++) t[i] = it[i];
  return t;
});
reg(['builtins.dict'], (a, kind, exact) => {
  if (kind !== 'reduce' || a.length > 1) return undefined;
  if (a.length === 0) return newDict([], exact);
  const x = a[0];
  if (x instanceof Map || isPlainObject(x)) return newDict(entries(x) as Array<[unknown, unknown]>, exact);
  if (!Array.isArray(x)) return undefined;
  charge(x);
  const pairs: Array<readonly [unknown, unknown]> = [];
  for (const p of x) {
    // dict(iterable): every item a 2-item list or tuple.
    if (!Array.isArray(p) || p.length !== 2) return undefined;
    pairs.push([p[0], p[1]]);
  }
  return newDict(pairs, exact);
});
reg(['builtins.set'], (a) => new Set(items(a[0])));
reg(['builtins.frozenset'], (a, _k, exact) => (exact ? new FrozenSet(items(a[0])) : new Set(items(a[0]))));
reg(['builtins.bytearray'], (a, _k, exact) => {
  let b: Uint8Array;
  if (a.length === 0) b = Buffer.alloc(0);
  else if (a[0] instanceof Uint8Array) b = a[0];
  else if (typeof a[0] === 'string' && a.length >= 2) b = latin1(a[0]);
  else if (Array.isArray(a[0])) b = Buffer.from(items(a[0]).map((v) => num(v)));
  else return undefined;
  charge(b);
  return exact ? ByteArray.fromBytes(b) : Buffer.from(b);
});
reg(['builtins.bytes'], (a) => {
  if (a.length === 0) return Buffer.alloc(0);
  if (a[0] instanceof Uint8Array) {
    charge(a[0]);
    return Buffer.from(a[0]);
  }
  if (Array.isArray(a[0])) return Buffer.from(items(a[0]).map((v) => num(v)));
  if (typeof a[0] === 'string' && a.length >= 2 && /^latin-?1$/i.test(encodingName(a[1]))) return latin1(a[0]);
  return undefined;
});
reg(['_codecs.encode', 'codecs.encode'], (a) => {
  if (a.length === 2 && typeof a[0] === 'string' && /^(latin-?1|iso-?8859-?1)$/i.test(encodingName(a[1]))) return latin1(a[0]);
  return undefined;
});
reg(['builtins.complex'], (a) => new PyComplex(a.length > 0 ? num(a[0]) : 0, a.length > 1 ? num(a[1]) : 0));
reg(['builtins.range'], (a) => {
  if (a.length === 1) return new PyRange(0, intLike(a[0]), 1);
  return new PyRange(intLike(a[0]), intLike(a[1]), a.length > 2 ? intLike(a[2]) : 1);
});
reg(['builtins.slice'], (a) => new PySlice(a[0] ?? null, a[1] ?? null, a[2] ?? null));
for (const e of BUILTIN_EXCEPTIONS) {
  reg([`builtins.${e}`], (a, kind) => (kind === 'reduce' || kind === 'newobj' ? new PyException('builtins', e, a) : undefined));
}
reg(['datetime.datetime'], (a) => {
  if (a.length === 0 || a.length > 2 || (typeof a[0] !== 'string' && !(a[0] instanceof Uint8Array))) return undefined;
  return PyDatetime.fromState(a[0], a[1]);
});
reg(['datetime.date'], (a) => {
  if (a.length !== 1 || (typeof a[0] !== 'string' && !(a[0] instanceof Uint8Array))) return undefined;
  return PyDate.fromState(a[0]);
});
reg(['datetime.time'], (a) => {
  if (a.length === 0 || a.length > 2 || (typeof a[0] !== 'string' && !(a[0] instanceof Uint8Array))) return undefined;
  return PyTime.fromState(a[0], a[1]);
});
reg(['datetime.timedelta'], (a) => new PyTimedelta(num(a[0] ?? 0), num(a[1] ?? 0), num(a[2] ?? 0)));
reg(['datetime.timezone'], (a) => {
  if (!(a[0] instanceof PyTimedelta)) return undefined;
  return new PyTimezone(a[0], typeof a[1] === 'string' ? a[1] : undefined);
});
reg(['decimal.Decimal', '_decimal.Decimal', '_pydecimal.Decimal'], (a) => {
  const s = a.length === 1 ? text(a[0]) : undefined;
  return s === undefined ? undefined : new PyDecimal(s);
});
reg(['fractions.Fraction'], (a) => {
  if (a.length === 2 && (typeof a[0] === 'number' || typeof a[0] === 'bigint') && (typeof a[1] === 'number' || typeof a[1] === 'bigint'))
    return new PyFraction(BigInt(a[0]), BigInt(a[1]));
  const s = a.length === 1 ? text(a[0]) : undefined;
  if (s === undefined) return undefined;
  charge(s);
  return PyFraction.parse(s);
});
reg(['copyreg._reconstructor'], (a, _k, exact) => {
  // copyreg._reconstructor(cls, object, None) is object.__new__(cls): a known class gets its model.
  const [cls, base, st] = a;
  if (a.length !== 3 || st !== null || !(cls instanceof PyGlobal) || !(base instanceof PyGlobal)) return undefined;
  if (base.module !== 'builtins' || base.name !== 'object') return undefined;
  return resolveConstruct(cls.module, cls.name, 'newobj', [], undefined, exact);
});
reg(['uuid.UUID'], (a, kind) => (kind === 'newobj' && a.length === 0 ? new PyUUID(0n) : undefined));
reg(['collections.OrderedDict'], (a) => {
  const e = a.length > 0 ? entries(a[0]) : [];
  return e === undefined ? undefined : new OrderedDict(e);
});
reg(['collections.defaultdict'], (a) => {
  const e = a.length > 1 ? entries(a[1]) : [];
  if (e === undefined) return undefined;
  const d = new DefaultDict(e);
  d.defaultFactory = a[0] ?? null;
  return d;
});
reg(['collections.Counter'], (a) => {
  // A mapping gives its counts; any other iterable is counted (Counter(b'xx') is {120: 2}).
  const x = a[0];
  const e = a.length === 0 || x == null ? [] : x instanceof Map || isPlainObject(x) ? entries(x) : counts(x);
  return e === undefined ? undefined : new Counter<unknown>(e);
});
reg(['collections.deque'], (a) => {
  const d = new Deque();
  for (const x of items(a[0])) d.push(x);
  if (a.length > 1 && a[1] != null) d.maxlen = num(a[1]);
  return d;
});

// NumPy arrays, dtypes and scalars (numpy.ts): both the 1.x (`numpy.core`) and 2.x (`numpy._core`) names.
for (const n of NUMPY_GLOBALS) reg([n], (a, kind, exact) => resolveNumpy(n, a, kind, exact));

/**
 * Build a known model for `module.name` called with `args`, or return undefined when the name
 * (or this argument shape) is not one mpwire models.
 */
export function resolveConstruct(
  module: string,
  name: string,
  kind: ConstructKind,
  args: unknown[],
  kw: Map<string, unknown> | undefined,
  exact: boolean,
): unknown {
  if (kw !== undefined) return undefined;
  const h = H.get(`${module}.${name}`);
  if (!h) return undefined;
  if (kind === 'inst' || kind === 'obj') return undefined;
  return h(args, kind, exact, kw);
}

/**
 * Python value semantics over mpwire's exact-mode pickle values, for the objects the manager server
 * holds: hashing (dict keys, `1 == 1.0 == True`), equality, ordering, `repr`, and raising builtin
 * exceptions. Nothing here does I/O.
 * @module
 */
import { ByteArray, FrozenSet, PyException, PyFloat, PyGlobal, PyObject, PySlice, Tuple, pyFloatRepr } from '../pickle/index.js';
import { pyKey } from '../pickle/py-key.js';

// pyKey belongs to the codec, whose declared enums key their values with it too; re-exported here.
export { pyKey };

/**
 * A builtin Python exception to throw from served methods (reaches Python as the real class).
 * @example
 * ```ts
 * registry: { get_store: () => ({ get: (k: string) => { throw pyError('KeyError', k); } }) }
 * // Python: store.get('x') raises KeyError('x')
 * ```
 */
export function pyError(type: string, ...args: unknown[]): PyException {
  return new PyException('builtins', type, args);
}

function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !(v instanceof Tuple);
}

/**
 * Python's type name of a value, for messages (`'list'`, `'int'`, …).
 * @example
 * ```ts
 * pyTypeName([1]); // 'list'
 * pyTypeName(1.5); // 'float'
 * ```
 */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyFloat) return 'float';
  if (v instanceof ByteArray) return 'bytearray';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Tuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof FrozenSet) return 'frozenset';
  if (v instanceof Set) return 'set';
  if (v instanceof Map) return 'dict';
  if (v instanceof PyException) return v.type;
  if (v instanceof PyObject) return v.name.split('.').pop() ?? v.name;
  if (v instanceof PySlice) return 'slice';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** Numeric value of bool/int/float, or undefined. */
export function pyNumber(v: unknown): number | bigint | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

/** An int index (`bool`/`int`), else `TypeError` like Python's. */
export function pyIndex(v: unknown, what = 'indices'): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  throw pyError('TypeError', `${what} must be integers or slices, not ${pyTypeName(v)}`);
}

/**
 * Python `==`.
 * @example
 * ```ts
 * pyEquals(1, 1.0);       // true
 * pyEquals([1, 2], [1, 2]); // true
 * ```
 */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isList(a) || isList(b)) {
    if (!isList(a) || !isList(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i]));
  }
  if (a instanceof Tuple || b instanceof Tuple) {
    if (!(a instanceof Tuple) || !(b instanceof Tuple) || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i]));
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false;
    const bk = new Map<string, unknown>();
    for (const [k, v] of b) bk.set(pyKey(k), v);
    for (const [k, v] of a) {
      const kk = pyKey(k);
      if (!bk.has(kk) || !pyEquals(v, bk.get(kk))) return false;
    }
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    const bk = new Set([...b].map(pyKey));
    return [...a].every((x) => bk.has(pyKey(x)));
  }
  try {
    return pyKey(a) === pyKey(b);
  } catch {
    return false;
  }
}

/**
 * Python `<`-ordering (`sort`); `TypeError` for values Python cannot order.
 * @example
 * ```ts
 * ['b', 'a'].sort(pyCompare); // ['a', 'b']
 * ```
 */
export function pyCompare(a: unknown, b: unknown): number {
  const na = pyNumber(a);
  const nb = pyNumber(b);
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if ((isList(a) && isList(b)) || (a instanceof Tuple && b instanceof Tuple)) {
    const x = a as unknown[];
    const y = b as unknown[];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (!pyEquals(x[i], y[i])) return pyCompare(x[i], y[i]);
    }
    return x.length - y.length;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  throw pyError('TypeError', `'<' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

function reprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

function reprBytes(b: Uint8Array): string {
  let out = "b'";
  for (const c of b) {
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x27) out += "\\'";
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return `${out}'`;
}

/** Containers nested deeper than this (the outermost is at 0) print as `...`: any value must print without overflowing the stack. */
const REPR_MAX_DEPTH = 50;

/**
 * Length (UTF-16 units) past which `pyRepr` stops and ends the text with `...`. CPython has no such
 * cap; mpwire differs on purpose: a list holding one sub-list twice, 50 levels deep, is a 50-node
 * value whose repr has 2^50 items, and the server is one thread, so `str(proxy)` must stay bounded.
 * 4 Mi characters still print a list of half a million ints in full.
 */
export const REPR_MAX_LENGTH = 4 * 1024 * 1024;

/** A `pyRepr` in progress. Served objects' own `pyRepr()` (a PyList's) call back into `pyRepr`, and share it. */
interface ReprState {
  /** Containers being printed (CPython's `Py_ReprEnter`): met again inside themselves, they print as `[...]`. */
  readonly open: Set<object>;
  /** Characters written so far, against {@link REPR_MAX_LENGTH}. */
  written: number;
  /** Containers entered, against {@link REPR_MAX_DEPTH}. */
  depth: number;
}

/** The `pyRepr` in progress, if any (it runs synchronously, so one at a time). */
let current: ReprState | undefined;

/**
 * Python `repr()` of a value (close to CPython's for the builtin types). A container met again inside
 * itself prints as `[...]` (`{...}`, `(...)`, `set(...)`) as in CPython; containers more than 50 levels
 * deep (`depth`: levels already printed) print as `...`; a text over 4 Mi characters (`REPR_MAX_LENGTH`) is cut and ends with `...`.
 * @example
 * ```ts
 * pyRepr({ a: [1, 'x'] }); // "{'a': [1, 'x']}"
 * const x: unknown[] = [];
 * x.push(x, x);
 * pyRepr(x); // '[[...], [...]]'
 * ```
 */
export function pyRepr(v: unknown, depth = 0): string {
  const outer = current;
  const state = outer ?? { open: new Set<object>(), written: 0, depth: 0 };
  const savedDepth = state.depth;
  state.depth += depth;
  current = state;
  const out: string[] = [];
  try {
    writeRepr(v, out, state);
  } finally {
    current = outer;
    state.depth = savedDepth;
  }
  const text = out.join('');
  // A nested call leaves the cut to the outermost one.
  if (outer || state.written <= REPR_MAX_LENGTH) return text;
  // Never cut between the halves of a surrogate pair.
  const end = REPR_MAX_LENGTH - (isHighSurrogate(text.charCodeAt(REPR_MAX_LENGTH - 1)) ? 1 : 0);
  return `${text.slice(0, end)}...`;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function put(s: string, out: string[], state: ReprState): void {
  out.push(s);
  state.written += s.length;
}

/** repr of a value that holds no other values, or undefined for a container. */
function leafRepr(v: unknown): string | undefined {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return reprStr(v);
  if (typeof v !== 'object') return String(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (v instanceof ByteArray) return `bytearray(${reprBytes(v)})`;
  if (v instanceof Uint8Array) return reprBytes(v);
  if (v instanceof PyGlobal) return `<${v.module}.${v.name}>`;
  if (Array.isArray(v) || v instanceof Map || v instanceof Set || v instanceof PyException) return undefined;
  if (typeof (v as { pyRepr?: unknown }).pyRepr === 'function') return undefined;
  if (v instanceof PyObject) return `<${v.module}.${v.name} object>`;
  if (v.constructor === Object) return undefined;
  return String(v);
}

/** What a container prints as when met again inside itself (CPython's list, dict, tuple and set reprs). */
function recursionRepr(v: object): string {
  if (v instanceof Tuple) return '(...)';
  if (Array.isArray(v)) return '[...]';
  if (v instanceof FrozenSet) return 'frozenset(...)';
  if (v instanceof Set) return 'set(...)';
  if (v instanceof PyException) return `${v.type}(...)`;
  if (typeof (v as { pyRepr?: unknown }).pyRepr === 'function') return '...';
  return '{...}';
}

function writeRepr(v: unknown, out: string[], state: ReprState): void {
  const leaf = leafRepr(v);
  if (leaf !== undefined) return put(leaf, out, state);
  const obj = v as object;
  if (state.depth > REPR_MAX_DEPTH) return put('...', out, state);
  if (state.open.has(obj)) return put(recursionRepr(obj), out, state);
  state.open.add(obj);
  state.depth++;
  try {
    writeContainer(obj, out, state);
  } finally {
    state.depth--;
    state.open.delete(obj);
  }
}

/** `items` separated by `, `, stopping once the text is over {@link REPR_MAX_LENGTH}. */
function writeItems<T>(items: Iterable<T>, out: string[], state: ReprState, write: (x: T) => void): void {
  let first = true;
  for (const x of items) {
    if (state.written > REPR_MAX_LENGTH) return;
    if (!first) put(', ', out, state);
    first = false;
    write(x);
  }
}

function writeContainer(v: object, out: string[], state: ReprState): void {
  const item = (x: unknown): void => writeRepr(x, out, state);
  if (v instanceof Tuple) {
    put('(', out, state);
    writeItems(v, out, state, item);
    return put(v.length === 1 ? ',)' : ')', out, state);
  }
  if (Array.isArray(v)) {
    put('[', out, state);
    writeItems(v, out, state, item);
    return put(']', out, state);
  }
  if (v instanceof Map) {
    put('{', out, state);
    writeItems(v, out, state, ([k, x]) => {
      writeRepr(k, out, state);
      put(': ', out, state);
      writeRepr(x, out, state);
    });
    return put('}', out, state);
  }
  if (v instanceof Set) {
    if (v.size === 0 && !(v instanceof FrozenSet)) return put('set()', out, state);
    put(v instanceof FrozenSet ? 'frozenset({' : '{', out, state);
    writeItems(v, out, state, item);
    return put(v instanceof FrozenSet ? '})' : '}', out, state);
  }
  if (v instanceof PyException) {
    put(`${v.type}(`, out, state);
    writeItems(v.args, out, state, item);
    return put(')', out, state);
  }
  if (typeof (v as { pyRepr?: unknown }).pyRepr === 'function') {
    // Its pyRepr() may call back into pyRepr (sharing `state`, which counts what that writes) or not.
    const before = state.written;
    const text = (v as { pyRepr(): string }).pyRepr();
    out.push(text);
    state.written = before + Math.max(text.length, state.written - before);
    return;
  }
  put('{', out, state);
  writeItems(Object.entries(v), out, state, ([k, x]) => {
    put(`${reprStr(k)}: `, out, state);
    writeRepr(x, out, state);
  });
  put('}', out, state);
}

/**
 * Python `str()`.
 * @example
 * ```ts
 * pyStr('x'); // 'x' (repr would give "'x'")
 * ```
 */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** Seconds from a Python timeout argument (`None` → null). */
export function pySeconds(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = pyNumber(v);
  if (n === undefined) throw pyError('TypeError', `'${pyTypeName(v)}' object cannot be interpreted as a number`);
  return Number(n);
}

/** Python truthiness. */
export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return false;
  const n = pyNumber(v);
  if (n !== undefined) return n !== 0 && n !== 0n;
  if (typeof v === 'string' || Array.isArray(v) || v instanceof Uint8Array) return (v as { length: number }).length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  return true;
}

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

/**
 * Python `repr()` of a value (close to CPython's for the builtin types).
 * @example
 * ```ts
 * pyRepr({ a: [1, 'x'] }); // "{'a': [1, 'x']}"
 * ```
 */
export function pyRepr(v: unknown, depth = 0): string {
  if (depth > 50) return '...';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return reprStr(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (v instanceof ByteArray) return `bytearray(${reprBytes(v)})`;
  if (v instanceof Uint8Array) return reprBytes(v);
  if (v instanceof Tuple) return v.length === 1 ? `(${pyRepr(v[0], depth + 1)},)` : `(${v.map((x) => pyRepr(x, depth + 1)).join(', ')})`;
  if (Array.isArray(v)) return `[${v.map((x) => pyRepr(x, depth + 1)).join(', ')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${pyRepr(k, depth + 1)}: ${pyRepr(x, depth + 1)}`).join(', ')}}`;
  if (v instanceof Set) {
    const items = [...v].map((x) => pyRepr(x, depth + 1)).join(', ');
    if (v instanceof FrozenSet) return `frozenset({${items}})`;
    return v.size ? `{${items}}` : 'set()';
  }
  if (v instanceof PyException) return `${v.type}(${v.args.map((x) => pyRepr(x, depth + 1)).join(', ')})`;
  if (v instanceof PyGlobal) return `<${v.module}.${v.name}>`;
  if (typeof (v as { pyRepr?: unknown }).pyRepr === 'function') return (v as { pyRepr(): string }).pyRepr();
  if (v instanceof PyObject) return `<${v.module}.${v.name} object>`;
  if (typeof v === 'object' && v.constructor === Object) {
    return `{${Object.entries(v).map(([k, x]) => `${reprStr(k)}: ${pyRepr(x, depth + 1)}`).join(', ')}}`;
  }
  return String(v);
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

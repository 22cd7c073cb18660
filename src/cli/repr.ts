/**
 * Python-style `repr()` of decoded values (exact-mode pickle values print as Python prints them:
 * `1.0` vs `1`, tuples, bytes, sets, dicts with any keys).
 * @module
 */
import {
  ByteArray,
  FrozenSet,
  NDArray,
  NDScalar,
  PyException,
  PyFloat,
  PyGlobal,
  PyObject,
  Tuple,
  isReducible,
  pyFloatRepr,
  pyReduce,
} from '../pickle/index.js';

/** Python `repr()` of a str. */
export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/** Python `repr()` of bytes. */
export function bytesRepr(b: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = `b${quote}`;
  for (const c of b) {
    if (c === quote.charCodeAt(0) || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return out + quote;
}

function floatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  return pyFloatRepr(x);
}

/**
 * Deepest container nesting rendered; deeper ones print as `[...]`, `(...)`, `{...}` or `...`
 * (reprlib's abbreviations). `loads` accepts far deeper pickles (100,000 nested lists fit in
 * 200 KB), and rendering them whole would overflow the stack and drop the message. 200 levels is
 * more than anyone reads yet a small fraction of Node's stack.
 */
const MAX_DEPTH = 200;

/** reprlib-style stand-in for a container nested deeper than {@link MAX_DEPTH}; `undefined` for leaves. */
function abbreviated(v: object): string | undefined {
  if (v instanceof PyFloat || v instanceof NDArray || v instanceof NDScalar || v instanceof Uint8Array) return undefined;
  if (v instanceof PyGlobal || v instanceof Date || v instanceof Error) return undefined;
  if (v instanceof Tuple) return '(...)';
  if (Array.isArray(v)) return '[...]';
  if (v instanceof FrozenSet) return 'frozenset({...})';
  if (v instanceof PyException || v instanceof PyObject || isReducible(v)) return '...';
  return '{...}';
}

/**
 * Python-style repr of a value decoded by mpwire (either pickle mode, xmlrpc or JSON). Containers
 * nested deeper than 200 levels print abbreviated (`[...]`, `{...}`).
 * @example
 * ```ts
 * pyRepr(tuple(1, 'a', null)); // "(1, 'a', None)"
 * ```
 */
export function pyRepr(value: unknown, seen: Set<object> = new Set()): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isInteger(value) && !Object.is(value, -0) ? String(value) : floatRepr(value);
  if (typeof value === 'string') return strRepr(value);
  if (typeof value !== 'object' && typeof value !== 'function') return String(value);
  const obj = value as object;
  if (seen.has(obj)) return Array.isArray(obj) ? '[...]' : '{...}';
  // `seen` holds exactly the enclosing containers, so its size is the depth.
  const short = seen.size >= MAX_DEPTH ? abbreviated(obj) : undefined;
  if (short !== undefined) return short;
  seen.add(obj);
  try {
    return reprObject(obj, seen);
  } finally {
    seen.delete(obj);
  }
}

function reprObject(v: object, seen: Set<object>): string {
  const r = (x: unknown): string => pyRepr(x, seen);
  if (v instanceof PyFloat) return floatRepr(v.value);
  if (v instanceof NDArray) return v.toString();
  if (v instanceof NDScalar) return `numpy.${v.typeName}(${v.descr.kind === 'f' ? v.toString() : r(v.value)})`;
  if (v instanceof ByteArray) return `bytearray(${bytesRepr(v)})`;
  if (v instanceof Uint8Array) return bytesRepr(v);
  if (v instanceof Tuple) return v.length === 1 ? `(${r(v[0])},)` : `(${v.map(r).join(', ')})`;
  if (Array.isArray(v)) return `[${v.map(r).join(', ')}]`;
  if (v instanceof FrozenSet) return v.size ? `frozenset({${[...v].map(r).join(', ')}})` : 'frozenset()';
  if (v instanceof Set) return v.size ? `{${[...v].map(r).join(', ')}}` : 'set()';
  if (v instanceof Map && v.constructor === Map) return `{${[...v].map(([k, x]) => `${r(k)}: ${r(x)}`).join(', ')}}`;
  if (v instanceof PyGlobal) return `<class '${v.module}.${v.name}'>`;
  if (v instanceof PyException) return `${v.type}(${v.args.map(r).join(', ')})`;
  if (v instanceof PyObject) {
    const name = v.module ? `${v.module}.${v.name}` : 'object';
    const parts = [...v.args.map(r)];
    if (v.state !== undefined) parts.push(`state=${r(v.state)}`);
    return `<${name}(${parts.join(', ')})>`;
  }
  if (v instanceof Date) return `datetime.datetime.fromisoformat(${strRepr(v.toISOString())})`;
  if (isReducible(v)) {
    const red = v[pyReduce]();
    const own = (v as { toString(): string }).toString();
    const inner = own !== '[object Object]' ? strRepr(own) : (red.args ?? []).map(r).join(', ');
    return `${red.module}.${red.name}(${inner})`;
  }
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${r(k)}: ${r(x)}`).join(', ')}}`;
  if (v instanceof Error) return `${v.name}(${strRepr(v.message)})`;
  return `{${Object.entries(v).map(([k, x]) => `${strRepr(k)}: ${r(x)}`).join(', ')}}`;
}

/**
 * A JSON-ready copy: bytes become `{"$bytes": "<hex>"}`, ints beyond 2^53 strings, unknown objects
 * tagged, containers nested deeper than 200 levels the string `"..."`.
 */
export function jsonable(v: unknown, seen: Set<object> = new Set()): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return '<cycle>';
  // Cut here, not in JSON.stringify: it would overflow on the deep copy just the same.
  if (seen.size >= MAX_DEPTH && abbreviated(v) !== undefined) return '...';
  seen.add(v);
  try {
    const j = (x: unknown): unknown => jsonable(x, seen);
    if (v instanceof PyFloat) return j(v.value);
    if (v instanceof NDArray) return { $ndarray: v.dtype, shape: v.shape, order: v.order, values: j(v.toList()) };
    if (v instanceof NDScalar) return { $scalar: v.dtype, value: j(v.value) };
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
    if (Array.isArray(v)) return v.map(j);
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [typeof k === 'string' ? k : pyRepr(k), j(x)]));
    if (v instanceof Set) return [...v].map(j);
    if (v instanceof PyGlobal) return { $global: `${v.module}.${v.name}` };
    if (v instanceof PyObject) return { $object: v.module ? `${v.module}.${v.name}` : 'object', args: j(v.args), state: j(v.state) };
    if (v instanceof PyException) return { $exception: v.type, args: j(v.args) };
    if (isReducible(v)) return { $repr: pyRepr(v) };
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, j(x)]));
  } finally {
    seen.delete(v);
  }
}

/** One-line JSON of a decoded value. */
export function toJson(value: unknown): string {
  return JSON.stringify(jsonable(value));
}

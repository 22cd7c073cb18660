/**
 * NumPy arrays, dtypes and scalars as pickle models. Nothing from NumPy runs: the globals NumPy
 * pickles name (`numpy.core.multiarray._reconstruct`, `numpy._core.numeric._frombuffer`,
 * `…multiarray.scalar`, `numpy.dtype`) are resolved to the models here, and the models reduce
 * to what both NumPy 1.x and 2.x load (see the README's NumPy section).
 * @module
 */
import { chargeCopies } from './budget.js';
import { PyComplex, PyGlobal, Tuple, pyReduce, pySetState, type Reducible, type Reduction } from './model.js';

/**
 * The TypedArrays an {@link NDArray} of a native little-endian numeric dtype uses as `data`.
 * @example
 * ```ts
 * const a = loads(frame) as NDArray<NDTypedArray>;
 * if (a.data instanceof Float64Array) sum(a.data);
 * ```
 */
export type NDTypedArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/**
 * What an {@link NDArray} holds: the TypedArray of its dtype (native little-endian bool, int,
 * uint and float32/64), the raw bytes (`Uint8Array`) for every other dtype (big-endian,
 * complex, float16, datetime64, bytes/str, void and structured), or the items of an object array.
 * @example
 * ```ts
 * const d: NDData = (loads(frame) as NDArray).data;
 * ```
 */
export type NDData = NDTypedArray | Uint8Array | unknown[];

/**
 * Array order: `'C'` (row-major) or `'F'` (column-major), as NumPy names them.
 * @example
 * ```ts
 * new NDArray('<i4', [2, 2], new Int32Array([1, 3, 2, 4]), 'F'); // [[1, 2], [3, 4]]
 * ```
 */
export type NDOrder = 'C' | 'F';

/**
 * The constructor of an {@link NDTypedArray} (what `DType.typedArray` gives).
 * @example
 * ```ts
 * const C = DType.parse('<f8').typedArray;   // Float64Array
 * ```
 */
export type NDTypedArrayConstructor = {
  new (n: number): NDTypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NDTypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** dtype code (kind + itemsize) → native TypedArray constructor (little-endian hosts). */
const NATIVE: Record<string, NDTypedArrayConstructor> = {
  b1: Uint8Array,
  i1: Int8Array,
  u1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
  f4: Float32Array,
  f8: Float64Array,
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A field of a structured {@link DType}.
 * @example
 * ```ts
 * const f = (loads(frame) as NDArray).descr.fields?.get('x'); // { dtype, offset }
 * ```
 */
export interface DTypeField {
  /** The field's dtype. */
  readonly dtype: DType;
  /** Byte offset of the field within an item. */
  readonly offset: number;
  /** The field's title, when it has one (`undefined` otherwise). */
  readonly title?: unknown;
}

function items(x: unknown): unknown[] {
  if (Array.isArray(x)) return x;
  throw new TypeError('expected a tuple');
}

/**
 * The items of a tuple the caller copies (a shape, field names, an object array's data), charged
 * to the copy budget of the running decode: a memoized one may be handed over any number of times.
 */
function copied(x: unknown): unknown[] {
  const a = items(x);
  chargeCopies(a.length);
  return a;
}

function int(x: unknown, what: string): number {
  if (typeof x === 'number' && Number.isInteger(x)) return x;
  if (typeof x === 'bigint') return Number(x);
  if (typeof x === 'boolean') return x ? 1 : 0;
  throw new TypeError(`bad ${what}`);
}

function str(x: unknown): string {
  if (typeof x === 'string') return x;
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('latin1');
  throw new TypeError('expected a str');
}

function entriesOf(x: unknown): Array<[unknown, unknown]> {
  let e: Array<[unknown, unknown]>;
  if (x instanceof Map) e = [...(x as Map<unknown, unknown>)];
  else if (x !== null && typeof x === 'object' && !Array.isArray(x)) e = Object.entries(x);
  else throw new TypeError('expected a dict');
  chargeCopies(e.length);
  return e;
}

/**
 * A NumPy `dtype`: kind, byte order, size, and for structured dtypes the fields, for subarray
 * dtypes the base and shape, for datetime64/timedelta64 the unit. `str` is NumPy's `dtype.str`.
 * @example
 * ```ts
 * DType.parse('<M8[ms]').unit;             // 'ms'
 * (loads(frame) as NDArray).descr.names;   // ['a', 'b'] for a structured array
 * ```
 */
export class DType implements Reducible {
  /** NumPy's kind character: `b i u f c m M O S U V`. */
  kind: string;
  /** `'<'`, `'>'`, or `'|'` (byte order not applicable). */
  byteorder: string;
  /** Bytes per item. */
  itemsize: number;
  /** Field names in order (structured dtypes). */
  names: string[] | undefined = undefined;
  /** Fields by name (and by title when fields have titles). */
  fields: Map<string, DTypeField> | undefined = undefined;
  /** Subarray dtypes: the item dtype and the subarray shape. */
  subarray: { readonly base: DType; readonly shape: number[] } | undefined = undefined;
  /** datetime64/timedelta64 unit (`'s'`, `'ms'`, `'ns'`, … or `'generic'`). */
  unit: string | undefined = undefined;
  /** datetime64/timedelta64 unit multiplier (`<M8[10s]` has 10). */
  step = 1;
  /** `dtype.alignment` as pickled (-1 for fixed-size kinds). */
  alignment = -1;
  /** NumPy's internal dtype flags as pickled. */
  flags = 0;
  /** Pickle state version (3, or 4 when metadata is present). */
  version = 3;
  /** `dtype.metadata` as pickled (structured dtypes); datetime metadata is `unit`/`step`. */
  metadata: unknown = undefined;
  /** The type code NumPy passes to `dtype()` when unpickling (`'f8'`, `'M8'`, `'U3'`, `'V20'`). */
  code: string;
  /** Values and arrays one item of this dtype expands to (see {@link itemCost}); kept by `pySetState`. */
  #cost = 1;
  /** Set once the BUILD state was read or the dtype became part of another one: it is final then. */
  #sealed = false;

  constructor(code: string, byteorder = '|') {
    const m = /^([a-zA-Z?])(\d*)$/.exec(code);
    if (!m) throw new TypeError(`unsupported dtype code ${JSON.stringify(code)}`);
    this.code = code;
    this.kind = m[1] === '?' ? 'b' : (m[1] as string);
    const n = m[2] ? Number(m[2]) : 0;
    this.itemsize = this.kind === 'U' ? n * 4 : this.kind === 'O' ? 8 : this.kind === 'b' ? 1 : this.kind === 'M' || this.kind === 'm' ? 8 : n;
    this.byteorder = byteorder;
    if (this.kind === 'O') this.flags = 63;
    if (this.kind === 'U') this.flags = 8;
    if (this.kind === 'M' || this.kind === 'm') {
      this.unit = 'generic';
      this.version = 4;
    }
  }

  /**
   * Parse NumPy's `dtype.str` (`'<f8'`, `'|b1'`, `'>i4'`, `'<M8[ms]'`, `'|S5'`, `'<U3'`, `'|V8'`, `'|O'`).
   * Structured dtypes have no such string form: they come from unpickling.
   */
  static parse(s: string): DType {
    const m = /^([<>|=]?)([a-zA-Z?])(\d*)(?:\[(\d*)([a-zA-Z]+)\])?$/.exec(s);
    if (!m) throw new TypeError(`unsupported dtype ${JSON.stringify(s)}`);
    const kind = m[2] === '?' ? 'b' : (m[2] as string);
    let size = m[3] ?? '';
    if (kind === 'b' && size === '') size = '1';
    if (kind === 'O' && size === '') size = '8';
    if ((kind === 'M' || kind === 'm') && size === '') size = '8';
    const code = kind === 'U' ? `U${size}` : `${kind}${size}`;
    let order = m[1] || '=';
    if (order === '=') order = LITTLE_ENDIAN_HOST ? '<' : '>';
    const d = new DType(code, order);
    if (d.itemsize <= 1 || kind === 'S' || kind === 'V' || kind === 'O' || kind === 'b') d.byteorder = '|';
    if (kind === 'S' || kind === 'V' || kind === 'U') d.alignment = kind === 'U' ? 4 : 1;
    if (m[5]) {
      d.unit = m[5];
      d.step = m[4] ? Number(m[4]) : 1;
    }
    return d;
  }

  /** NumPy's `dtype.str`: `'<f8'`, `'|b1'`, `'<M8[ms]'`, `'<U3'`, `'|V20'`, `'|O'`. */
  get str(): string {
    const k = this.kind;
    if (k === 'O') return '|O';
    if (k === 'U') return `${this.byteorder}U${this.itemsize / 4}`;
    if (k === 'M' || k === 'm') {
      const u = this.unit && this.unit !== 'generic' ? `[${this.step !== 1 ? this.step : ''}${this.unit}]` : '';
      return `${this.byteorder}${k}8${u}`;
    }
    return `${this.byteorder}${k}${this.itemsize}`;
  }

  /** True for bool, int, uint and float32/64 in the host byte order: `data` is then a TypedArray. */
  get native(): boolean {
    return this.typedArray !== undefined;
  }

  /** The TypedArray constructor of `data`, when the dtype has one. */
  get typedArray(): NDTypedArrayConstructor | undefined {
    if (this.fields || this.subarray) return undefined;
    const c = NATIVE[`${this.kind}${this.itemsize}`];
    if (!c) return undefined;
    if (this.itemsize > 1 && this.byteorder !== (LITTLE_ENDIAN_HOST ? '<' : '>')) return undefined;
    return c;
  }

  /** The type string (`'<f8'`), or the fields as NumPy lists them for a structured dtype: `[('x', '<i4'), ('y', '<f8')]`. */
  toString(): string {
    return this.fields ? `[${(this.names ?? []).map((n) => `('${n}', '${this.fields?.get(n)?.dtype.str ?? '?'}')`).join(', ')}]` : this.str;
  }

  /** Reads the BUILD state NumPy pickles a dtype with (byte order, subarray, fields, sizes, flags, datetime unit); `TypeError` when malformed. */
  [pySetState](state: unknown): void {
    // A second BUILD, or one on a dtype already inside another, could make that one's checked
    // size and cost stale or form a cycle; NumPy pickles never do either (deliberate difference).
    if (this.#sealed) throw new TypeError('dtype state is already set');
    this.#sealed = true;
    const s = items(state);
    if (s.length < 8) {
      // Old states (versions 0–2): byte order first after the version, sizes at the end.
      if (s.length >= 2 && typeof s[1] === 'string') this.byteorder = s[1];
      return;
    }
    this.version = int(s[0], 'dtype state');
    this.byteorder = str(s[1]);
    if (s[2] != null) {
      const sub = items(s[2]);
      const base = sub[0];
      if (!(base instanceof DType)) throw new TypeError('bad subarray dtype');
      const shp = sub[1];
      this.subarray = { base, shape: typeof shp === 'number' ? [shp] : copied(shp).map((x) => int(x, 'subarray shape')) };
    }
    if (s[3] != null) this.names = copied(s[3]).map(str);
    if (s[4] != null) {
      const f = new Map<string, DTypeField>();
      for (const [k, v] of entriesOf(s[4])) {
        const t = items(v);
        const dt = t[0];
        if (!(dt instanceof DType)) throw new TypeError('bad field dtype');
        f.set(str(k), t.length > 2 ? { dtype: dt, offset: int(t[1], 'field offset'), title: t[2] } : { dtype: dt, offset: int(t[1], 'field offset') });
      }
      this.fields = f;
    }
    const elsize = int(s[5], 'dtype size');
    if (elsize >= 0) this.itemsize = elsize;
    this.alignment = int(s[6], 'dtype alignment');
    this.flags = int(s[7], 'dtype flags');
    this.validate();
    if (s.length > 8) {
      if (this.kind === 'M' || this.kind === 'm') {
        const meta = items(s[8]);
        const u = items(meta[1]);
        this.unit = str(u[0]);
        this.step = int(u[1], 'datetime step');
        if (meta[0] != null && entriesOf(meta[0]).length > 0) this.metadata = meta[0];
      } else this.metadata = s[8];
    }
  }

  /**
   * The checks NumPy makes when it builds such a dtype (subarray size = shape product × base
   * size, fields within the item, no dtype containing itself), plus a bound on how many values
   * one item expands to, so that reading an item costs time linear in its bytes: a 98-byte
   * pickle could otherwise describe a scalar of a million zero-size items. `TypeError`/`RangeError`.
   */
  private validate(): void {
    const child = (d: DType): DType => {
      if (d === this) throw new TypeError('dtype contains itself');
      d.#sealed = true;
      return d;
    };
    const size = this.itemsize;
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad dtype size ${size}`);
    let cost = 1;
    if (this.subarray) {
      const { base, shape } = this.subarray;
      child(base);
      if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new RangeError('bad subarray shape');
      const n = product(shape);
      if (n * base.itemsize !== size) throw new RangeError(`subarray of ${n} × ${base.itemsize} bytes in a dtype of ${size} bytes`);
      // nest() builds one array per prefix of the shape, then the items.
      let arrays = 0;
      let prefix = 1;
      for (const d of shape) arrays += prefix *= d;
      cost = arrays + n * base.#cost;
    } else if (this.fields) {
      for (const f of this.fields.values()) {
        child(f.dtype);
        if (!Number.isSafeInteger(f.offset) || f.offset < 0 || f.offset + f.dtype.itemsize > size) {
          throw new RangeError(`field at offset ${f.offset} of ${f.dtype.itemsize} bytes outside a dtype of ${size} bytes`);
        }
      }
      for (const name of this.names ?? []) {
        const f = this.fields.get(name);
        if (f) cost += f.dtype.#cost;
      }
    }
    // Generous for real dtypes (they have a byte or more per value); not in NumPy.
    if (cost > 16 * size + 4096) throw new RangeError(`dtype of ${size} bytes expands to ${cost} values`);
    this.#cost = cost;
  }

  /** How the pickler writes this value: `numpy.dtype(code, False, True)`, then BUILD with the state tuple NumPy writes. */
  [pyReduce](): Reduction {
    const st: unknown[] = [
      this.version,
      this.byteorder,
      this.subarray ? tuple2(this.subarray.base, Tuple.from(this.subarray.shape) as Tuple<number>) : null,
      this.names ? (Tuple.from(this.names) as Tuple<string>) : null,
      null,
      this.fields || this.subarray || this.kind === 'S' || this.kind === 'U' || this.kind === 'V' ? this.itemsize : -1,
      this.alignment,
      // NumPy 2 pickles the flags as unsigned (144), NumPy 1 as a signed char (-112) and refuses
      // values above 127 ("incorrect value for flags variable"): write the signed form, both read it.
      this.flags > 127 ? this.flags - 256 : this.flags,
    ];
    if (this.fields) {
      const f = new Map<string, unknown>();
      for (const [k, v] of this.fields) f.set(k, 'title' in v ? tuple3(v.dtype, v.offset, v.title) : tuple2(v.dtype, v.offset));
      st[4] = f;
    }
    if (this.kind === 'M' || this.kind === 'm') {
      st[0] = 4;
      // NumPy 1.x writes `{}` and 2.x `None` for no metadata; both read either.
      st.push(tuple2(this.metadata ?? null, Tuple.from([Buffer.from(this.unit ?? 'generic', 'latin1'), this.step, 1, 1])));
    } else if (this.metadata !== undefined) {
      st[0] = 4;
      st.push(this.metadata);
    }
    const code = this.kind === 'U' ? `U${this.itemsize / 4}` : this.kind === 'O' ? 'O8' : this.fields || this.subarray ? `V${this.itemsize}` : this.code;
    return { module: 'numpy', name: 'dtype', args: [code, false, true], state: Tuple.from(st) };
  }
}

function tuple2(a: unknown, b: unknown): Tuple<unknown> {
  const t = new Tuple<unknown>(2);
  t[0] = a;
  t[1] = b;
  return t;
}

function tuple3(a: unknown, b: unknown, c: unknown): Tuple<unknown> {
  const t = new Tuple<unknown>(3);
  t[0] = a;
  t[1] = b;
  t[2] = c;
  return t;
}

/** Bytes as a Uint8Array of the expected length (Python 2 pickles carry them as latin-1 str). */
function rawBytes(x: unknown): Uint8Array {
  if (x instanceof Uint8Array) return x;
  if (typeof x === 'string') {
    chargeCopies(x.length);
    return Buffer.from(x, 'latin1');
  }
  throw new TypeError('array data must be bytes');
}

/**
 * `data` for `count` items of `dt` from raw bytes: a TypedArray view on `bytes` when the dtype
 * is native and the offset is aligned, a copy when it is not, the bytes themselves otherwise.
 */
function dataOf(dt: DType, bytes: Uint8Array, count: number): NDTypedArray | Uint8Array {
  const expected = count * dt.itemsize;
  if (bytes.byteLength !== expected) throw new TypeError(`array data has ${bytes.byteLength} bytes, expected ${expected}`);
  const C = dt.typedArray;
  // A plain Uint8Array (not the Buffer subclass loads gives bytes), like every other `data`.
  if (!C || C === Uint8Array) return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteOffset % C.BYTES_PER_ELEMENT === 0) return new C(bytes.buffer, bytes.byteOffset, count);
  chargeCopies(expected);
  // Misaligned: one copy into fresh memory that is not zeroed first (allocUnsafeSlow: own
  // ArrayBuffer, offset 0), which saves a pass over the data (bench/numpy: 32 MiB).
  const own = Buffer.allocUnsafeSlow(expected);
  own.set(bytes);
  return new C(own.buffer, own.byteOffset, count);
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const NAT = -(2n ** 63n);
const UNIT_MS: Record<string, number> = { W: 604_800_000, D: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6, ps: 1e-9, fs: 1e-12, as: 1e-15 };

function intValue(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** One item of `dt` at byte `off` of `dv`, as a JS value (the conversions of {@link NDArray.toList}). */
function itemAt(dt: DType, dv: DataView, off: number): unknown {
  if (dt.subarray) {
    const n = product(dt.subarray.shape);
    const flat: unknown[] = [];
    for (let i = 0; i < n; i++) flat.push(itemAt(dt.subarray.base, dv, off + i * dt.subarray.base.itemsize));
    return nest(flat, dt.subarray.shape);
  }
  if (dt.fields) {
    const o: Record<string, unknown> = {};
    for (const name of dt.names ?? []) {
      const f = dt.fields.get(name);
      if (f) Object.defineProperty(o, name, { value: itemAt(f.dtype, dv, off + f.offset), enumerable: true, writable: true, configurable: true });
    }
    return o;
  }
  const le = dt.byteorder !== '>';
  const size = dt.itemsize;
  switch (dt.kind) {
    case 'b':
      return dv.getUint8(off) !== 0;
    case 'i':
    case 'u':
      if (size === 1) return dt.kind === 'i' ? dv.getInt8(off) : dv.getUint8(off);
      if (size === 2) return dt.kind === 'i' ? dv.getInt16(off, le) : dv.getUint16(off, le);
      if (size === 4) return dt.kind === 'i' ? dv.getInt32(off, le) : dv.getUint32(off, le);
      if (size === 8) return intValue(dt.kind === 'i' ? dv.getBigInt64(off, le) : dv.getBigUint64(off, le));
      break;
    case 'f':
      if (size === 2) return half(dv.getUint16(off, le));
      if (size === 4) return dv.getFloat32(off, le);
      if (size === 8) return dv.getFloat64(off, le);
      break;
    case 'c':
      if (size === 8) return new PyComplex(dv.getFloat32(off, le), dv.getFloat32(off + 4, le));
      if (size === 16) return new PyComplex(dv.getFloat64(off, le), dv.getFloat64(off + 8, le));
      break;
    case 'M': {
      const v = dv.getBigInt64(off, le);
      return v === NAT ? null : datetimeToDate(v, dt.unit ?? 'generic', dt.step);
    }
    case 'm': {
      const v = dv.getBigInt64(off, le);
      return v === NAT ? null : intValue(v);
    }
    case 'S': {
      let end = size;
      while (end > 0 && dv.getUint8(off + end - 1) === 0) end--;
      return Buffer.from(dv.buffer, dv.byteOffset + off, end);
    }
    case 'U': {
      let s = '';
      for (let i = 0; i < size; i += 4) {
        const c = dv.getUint32(off + i, le);
        if (c === 0) break;
        s += String.fromCodePoint(c);
      }
      return s;
    }
  }
  return Buffer.from(dv.buffer, dv.byteOffset + off, size);
}

function datetimeToDate(v: bigint, unit: string, step: number): Date {
  const n = Number(v) * step;
  if (unit === 'Y') return new Date(Date.UTC(1970 + n, 0, 1));
  if (unit === 'M') return new Date(Date.UTC(1970, n, 1));
  const ms = UNIT_MS[unit];
  if (ms === undefined) return new Date(NaN);
  if (ms >= 1) return new Date(n * ms);
  // Sub-millisecond units: divide in bigint so large nanosecond counts keep their milliseconds.
  const per = BigInt(Math.round(1 / ms));
  return new Date(Number((v * BigInt(step)) / per));
}

function nest(flat: unknown[], shape: readonly number[], order: NDOrder = 'C'): unknown {
  if (shape.length === 0) return flat[0];
  const strides: number[] = new Array<number>(shape.length);
  let acc = 1;
  if (order === 'C') {
    for (let d = shape.length - 1; d >= 0; d--) {
      strides[d] = acc;
      acc *= shape[d] as number;
    }
  } else {
    for (let d = 0; d < shape.length; d++) {
      strides[d] = acc;
      acc *= shape[d] as number;
    }
  }
  const build = (d: number, base: number): unknown[] => {
    const out: unknown[] = [];
    const n = shape[d] as number;
    const st = strides[d] as number;
    for (let i = 0; i < n; i++) out.push(d === shape.length - 1 ? flat[base + i * st] : build(d + 1, base + i * st));
    return out;
  };
  return build(0, 0);
}

const MULTIARRAY_1X = 'numpy.core.multiarray';

/**
 * A NumPy `ndarray`: `dtype` (NumPy's `dtype.str`, e.g. `'<f8'`), `shape`, `order` and `data`.
 * `data` is a TypedArray for native bool/int/uint/float32/float64 dtypes — a view on the pickle's
 * bytes when their offset is aligned, a copy otherwise — and the raw bytes for every other dtype
 * (see {@link DType} in `descr` and the helpers `toList()`, `toTypedArray()`).
 * @example
 * ```ts
 * const a = (await conn.recv()) as NDArray<Float64Array>;   // np.random.rand(2048, 2048)
 * a.dtype; a.shape; a.data[0];                               // '<f8', [2048, 2048], 0.41…
 * await conn.send(new NDArray('<i4', [2, 3], new Int32Array(6)));
 * ```
 */
export class NDArray<T extends NDData = NDData> implements Reducible {
  /** Full dtype description (fields, unit, byte order). */
  descr: DType;
  /** The array's shape; `[]` for a 0-d array. */
  shape: number[];
  /** Memory order of `data`. */
  order: NDOrder;
  /** The items, in `order` (see the class description). */
  data: T;

  constructor(dtype: DType | string, shape: readonly number[], data: T, order: NDOrder = 'C') {
    this.descr = typeof dtype === 'string' ? DType.parse(dtype) : dtype;
    this.shape = [...shape];
    this.order = order;
    this.data = data;
    this.check();
  }

  /** A 1-d array of a TypedArray (`Uint8Array` as `uint8`); `shape` and `order` reshape it. */
  static from(data: NDTypedArray | Uint8ClampedArray, shape?: readonly number[], order: NDOrder = 'C'): NDArray {
    const code = typedArrayDtype(data);
    if (code === undefined) throw new TypeError('unsupported TypedArray');
    const d = data instanceof Uint8ClampedArray ? new Uint8Array(data.buffer, data.byteOffset, data.length) : data;
    return new NDArray(code, shape ?? [data.length], d, order);
  }

  private check(): void {
    const n = this.size;
    for (const s of this.shape) if (!Number.isInteger(s) || s < 0) throw new TypeError(`bad array shape (${this.shape.join(', ')})`);
    const d = this.data as NDData;
    if (Array.isArray(d)) {
      if (this.descr.kind !== 'O') throw new TypeError('only object arrays hold a list');
      if (d.length !== n) throw new TypeError(`array of ${n} items has ${d.length} values`);
    } else if (d.byteLength !== n * this.descr.itemsize) throw new TypeError(`array data has ${d.byteLength} bytes, expected ${n * this.descr.itemsize}`);
  }

  /** NumPy's `dtype.str`, e.g. `'<f8'`. */
  get dtype(): string {
    return this.descr.str;
  }
  /** Number of items. */
  get size(): number {
    return product(this.shape);
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Bytes per item. */
  get itemsize(): number {
    return this.descr.itemsize;
  }
  /** The raw bytes of the items in `order` (a view; empty for object arrays). */
  get bytes(): Uint8Array {
    const d = this.data as NDData;
    if (Array.isArray(d)) return new Uint8Array(0);
    return d instanceof Uint8Array ? d : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }

  /**
   * The items as a native TypedArray when JS has one: `data` itself for native dtypes; a
   * byte-swapped copy for big-endian ints/floats; `Float32Array` for float16;
   * interleaved real/imaginary `Float32Array`/`Float64Array` for complex64/128; `BigInt64Array`
   * of counts for datetime64/timedelta64 (NaT is -2⁶³). Undefined for other dtypes.
   */
  toTypedArray(): NDTypedArray | undefined {
    const d = this.data as NDData;
    if (Array.isArray(d)) return undefined;
    const dt = this.descr;
    if (dt.fields || dt.subarray) return undefined;
    if (dt.typedArray) return d as NDTypedArray;
    const bytes = this.bytes;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = dt.byteorder !== '>';
    const n = this.size;
    if (dt.kind === 'f' && dt.itemsize === 2) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = half(dv.getUint16(i * 2, le));
      return out;
    }
    let C: NDTypedArrayConstructor | undefined = NATIVE[`${dt.kind}${dt.itemsize}`];
    let count = n;
    if (dt.kind === 'c' && (dt.itemsize === 8 || dt.itemsize === 16)) {
      C = dt.itemsize === 8 ? Float32Array : Float64Array;
      count = 2 * n;
    } else if (dt.kind === 'M' || dt.kind === 'm') C = BigInt64Array;
    if (!C) return undefined;
    const w = C.BYTES_PER_ELEMENT;
    const out = new C(count);
    const ob = new Uint8Array(out.buffer, out.byteOffset, count * w);
    ob.set(bytes);
    if (le !== LITTLE_ENDIAN_HOST && w > 1) for (let i = 0; i < ob.length; i += w) ob.subarray(i, i + w).reverse();
    return out;
  }

  /** Item `i` in memory order, as {@link toList} converts it. */
  item(i: number): unknown {
    const d = this.data as NDData;
    if (Array.isArray(d)) return d[i];
    const b = this.bytes;
    return itemAt(this.descr, new DataView(b.buffer, b.byteOffset, b.byteLength), i * this.descr.itemsize);
  }

  /** All items in memory order (see {@link toList}). */
  values(): unknown[] {
    const d = this.data as NDData;
    if (Array.isArray(d)) return [...d];
    const n = this.size;
    const out = new Array<unknown>(n);
    const b = this.bytes;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const w = this.descr.itemsize;
    for (let i = 0; i < n; i++) out[i] = itemAt(this.descr, dv, i * w);
    return out;
  }

  /**
   * Nested arrays like NumPy's `tolist()` (logical order whatever `order` is): bool → boolean,
   * ints → number (bigint beyond 2⁵³), floats (16/32/64) → number, complex → `PyComplex`,
   * datetime64 → `Date` (NaT → null), timedelta64 → count of units, `S` → Buffer (trailing NULs
   * dropped, as NumPy does), `U` → string, structured → object by field name, other → Buffer.
   */
  toList(): unknown {
    return nest(this.values(), this.shape, this.order);
  }

  /** Python-style repr: `array([0.0, 1.5, …], dtype='<f8', shape=(2, 3))` (the first 6 items, in memory order). */
  toString(): string {
    return `array([${firstItems(this, 6)}], dtype='${this.dtype}', shape=${shapeRepr(this.shape)}${this.order === 'F' ? ", order='F'" : ''})`;
  }

  /** How the pickler writes this value: `numpy.core.multiarray._reconstruct`, then BUILD with `(1, shape, dtype, fortran, data)`, readable by NumPy 1.x and 2.x. */
  [pyReduce](): Reduction {
    const d = this.data as NDData;
    // `_reconstruct` under its NumPy 1.x name: NumPy 1.x reads nothing else, 2.x maps it to
    // numpy._core without a warning (unlike `numpy.core.numeric._frombuffer`, which warns).
    const raw: unknown = Array.isArray(d) ? [...d] : asBuffer(this.bytes);
    return {
      module: MULTIARRAY_1X,
      name: '_reconstruct',
      args: [new PyGlobal('numpy', 'ndarray'), Tuple.from([0]), Buffer.from('b', 'latin1')],
      state: Tuple.from([1, Tuple.from(this.shape), this.descr, this.order === 'F', raw]),
    };
  }

  /** Reads the BUILD state of an ndarray (`(version, shape, dtype, fortran, data)` or the 4-tuple without version); `TypeError` when malformed. */
  [pySetState](state: unknown): void {
    const s = items(state);
    const off = s.length === 5 ? 1 : 0;
    if (s.length !== 5 && s.length !== 4) throw new TypeError('bad ndarray state');
    const shp = s[off];
    const dt = s[off + 1];
    if (!(dt instanceof DType)) throw new TypeError('ndarray state without a dtype');
    const shape = typeof shp === 'number' ? [shp] : copied(shp).map((x) => int(x, 'array shape'));
    const raw = s[off + 3];
    const count = product(shape);
    pending.delete(this);
    this.descr = dt;
    this.shape = shape;
    this.order = s[off + 2] === true || s[off + 2] === 1 ? 'F' : 'C';
    if (dt.kind === 'O') {
      if (!Array.isArray(raw)) throw new TypeError('object array state must be a list');
      this.data = [...copied(raw)] as unknown[] as T;
    } else this.data = dataOf(dt, rawBytes(raw), count) as T;
    this.check();
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function shapeRepr(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

function firstItems(a: NDArray, max: number): string {
  const n = a.size;
  const shown = Math.min(n, max);
  const vals: string[] = [];
  const float = a.descr.kind === 'f';
  const budget = showBudget();
  for (let i = 0; i < shown; i++) {
    const v = a.item(i);
    vals.push(float && typeof v === 'number' ? floatRepr(v) : show(v, budget));
  }
  return vals.join(', ') + (n > shown ? ', …' : '');
}

/** Python-like repr of a float (`1.0`, `nan`, `-inf`, `1e-07`). */
function floatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return Object.is(v, -0) ? '-0.0' : `${v}.0`;
  return String(v).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** One line for listings: `ndarray dtype='<f8' shape=(2, 3) order=C [0.0, 1.5, …]` (the first 8 items). */
export function arraySummary(a: NDArray): string {
  return `ndarray dtype='${a.dtype}' shape=${shapeRepr(a.shape)} order=${a.order} [${firstItems(a, 8)}]`;
}

/** The arrays inside a decoded value (lists, tuples, dicts, sets, object state), at most `max`. */
export function findArrays(v: unknown, max = 50): NDArray[] {
  const out: NDArray[] = [];
  const seen = new Set<object>();
  const todo: unknown[] = [v];
  while (todo.length > 0 && out.length < max && seen.size < 100_000) {
    const x = todo.pop();
    if (typeof x !== 'object' || x === null || seen.has(x)) continue;
    seen.add(x);
    // Children pushed in reverse so that they pop in order (one at a time: spreading a big list
    // into push() overflowed the stack).
    const pushAll = (xs: readonly unknown[]): void => {
      for (let i = xs.length - 1; i >= 0; i--) todo.push(xs[i]);
    };
    if (x instanceof NDArray) {
      out.push(x);
      if (Array.isArray(x.data)) pushAll(x.data);
    } else if (Array.isArray(x)) pushAll(x);
    else if (x instanceof Map) for (const [k, y] of [...x].reverse()) todo.push(y, k);
    else if (x instanceof Set) pushAll([...x]);
    else if (!ArrayBuffer.isView(x)) pushAll(Object.values(x));
  }
  return out;
}

/** What one listing may still print (see show()). */
interface ShowBudget {
  values: number;
  chars: number;
}

/** Values and characters one listing prints at most (an object array can hold any decoded value). */
const showBudget = (): ShowBudget => ({ values: 1000, chars: 4000 });

/**
 * A short Python-like repr of an item. Bounded: past the budget, and for a container already
 * printed (shared or cyclic), it prints `…`, so that an object array holding a tuple DAG (each
 * level the previous one twice, two pickle bytes a level) cannot make the text exponential.
 */
function show(v: unknown, budget: ShowBudget = showBudget(), seen = new Set<object>()): string {
  if (--budget.values < 0 || budget.chars < 0) return '…';
  let out: string;
  if (typeof v === 'number') out = Number.isInteger(v) ? String(v) : floatRepr(v);
  else if (typeof v === 'bigint') out = String(v);
  else if (typeof v === 'boolean') out = v ? 'True' : 'False';
  else if (typeof v === 'string') out = JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);
  else if (v instanceof PyComplex) out = `(${v.real}${v.imag < 0 || Object.is(v.imag, -0) ? '-' : '+'}${Math.abs(v.imag)}j)`;
  else if (v instanceof Date) out = Number.isNaN(v.getTime()) ? 'NaT' : v.toISOString();
  else if (v === null) out = 'NaT';
  else if (v instanceof Uint8Array) out = `b'${Buffer.from(v.buffer, v.byteOffset, Math.min(v.byteLength, 200)).toString('latin1')}${v.byteLength > 200 ? '…' : ''}'`;
  else if (typeof v === 'object') {
    if (seen.has(v)) return '…';
    seen.add(v);
    const parts: string[] = [];
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      if (budget.values <= 0 || budget.chars < 0) {
        parts.push('…');
        break;
      }
      parts.push(show(x, budget, seen));
    }
    // The items' characters are already counted.
    budget.chars -= 2 * parts.length + 2;
    return Array.isArray(v) ? `[${parts.join(', ')}]` : `(${parts.join(', ')})`;
  } else out = String(v);
  budget.chars -= out.length;
  return out;
}

/**
 * A NumPy scalar (`np.float64(1.5)`, `np.int64(3)`, `np.bool_(True)`, `np.datetime64(…)`, …):
 * exact mode gives these for every scalar; default mode only for dtypes without a natural JS
 * value (datetime64, timedelta64, void, long double). `value` is the JS value.
 * @example
 * ```ts
 * const s = loads(pickled, { exact: true }) as NDScalar;   // np.float32(1.5)
 * s.dtype; s.value;                                        // '<f4', 1.5
 * ```
 */
export class NDScalar implements Reducible {
  constructor(
    /** The scalar's dtype. */
    readonly descr: DType,
    /** Its raw bytes (`itemsize` of them). */
    readonly raw: Uint8Array,
  ) {
    if (raw.byteLength !== descr.itemsize) throw new TypeError(`scalar of ${descr.str} needs ${descr.itemsize} bytes, got ${raw.byteLength}`);
  }
  /** NumPy's `dtype.str` of the scalar, e.g. `'<f8'`. */
  get dtype(): string {
    return this.descr.str;
  }
  /** The JS value (conversions of {@link NDArray.toList}; `U` → string, `S` → Buffer). */
  get value(): unknown {
    return itemAt(this.descr, new DataView(this.raw.buffer, this.raw.byteOffset, this.raw.byteLength), 0);
  }
  /** The primitive `value` for arithmetic and comparisons (`+scalar`, `scalar > 1`); the scalar itself when `value` is an object (bytes, a structured record, …). */
  valueOf(): unknown {
    const v = this.value;
    return typeof v === 'object' && v !== null ? this : v;
  }
  /** NumPy's type name of the scalar: `'float64'`, `'int8'`, `'bool'`, `'datetime64'`, `'str_'`, … */
  get typeName(): string {
    const d = this.descr;
    const bits = d.itemsize * 8;
    switch (d.kind) {
      case 'b':
        return 'bool';
      case 'i':
        return `int${bits}`;
      case 'u':
        return `uint${bits}`;
      case 'f':
        return `float${bits}`;
      case 'c':
        return `complex${bits}`;
      case 'M':
        return 'datetime64';
      case 'm':
        return 'timedelta64';
      case 'S':
        return 'bytes_';
      case 'U':
        return 'str_';
      default:
        return 'void';
    }
  }
  /** The value as Python prints it (floats in `repr` form: `'1.0'`). */
  toString(): string {
    const v = this.value;
    return this.descr.kind === 'f' && typeof v === 'number' ? floatRepr(v) : show(v);
  }
  /** How the pickler writes this value: `numpy.core.multiarray.scalar(dtype, raw bytes)`. */
  [pyReduce](): Reduction {
    return { module: MULTIARRAY_1X, name: 'scalar', args: [this.descr, asBuffer(this.raw)] };
  }
}

/**
 * Make a scalar of a `DType.str` from a JS number, bigint or boolean.
 * @example
 * ```ts
 * dumps(npScalar('<f4', 1.5));   // Python: numpy.float32(1.5)
 * ```
 */
export function npScalar(dtype: string | DType, value: number | bigint | boolean): NDScalar {
  const dt = typeof dtype === 'string' ? DType.parse(dtype) : dtype;
  const b = Buffer.alloc(dt.itemsize);
  const le = dt.byteorder !== '>';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const k = `${dt.kind}${dt.itemsize}`;
  const n = typeof value === 'bigint' ? value : BigInt(typeof value === 'boolean' ? Number(value) : Math.trunc(value));
  switch (k) {
    case 'b1':
      dv.setUint8(0, value ? 1 : 0);
      break;
    case 'i1':
      dv.setInt8(0, Number(n));
      break;
    case 'u1':
      dv.setUint8(0, Number(n));
      break;
    case 'i2':
      dv.setInt16(0, Number(n), le);
      break;
    case 'u2':
      dv.setUint16(0, Number(n), le);
      break;
    case 'i4':
      dv.setInt32(0, Number(n), le);
      break;
    case 'u4':
      dv.setUint32(0, Number(n), le);
      break;
    case 'i8':
    case 'M8':
    case 'm8':
      dv.setBigInt64(0, n, le);
      break;
    case 'u8':
      dv.setBigUint64(0, n, le);
      break;
    case 'f4':
      dv.setFloat32(0, Number(value), le);
      break;
    case 'f8':
      dv.setFloat64(0, Number(value), le);
      break;
    default:
      throw new TypeError(`npScalar does not make ${dt.str} scalars`);
  }
  return new NDScalar(dt, b);
}

/**
 * NumPy `dtype.str` of a TypedArray, or undefined for other views.
 * @example
 * ```ts
 * typedArrayDtype(new Float64Array(2)); // '<f8'
 * ```
 */
export function typedArrayDtype(v: ArrayBufferView): string | undefined {
  const e = LITTLE_ENDIAN_HOST ? '<' : '>';
  if (v instanceof Float64Array) return `${e}f8`;
  if (v instanceof Float32Array) return `${e}f4`;
  if (v instanceof Int32Array) return `${e}i4`;
  if (v instanceof Uint32Array) return `${e}u4`;
  if (v instanceof Int16Array) return `${e}i2`;
  if (v instanceof Uint16Array) return `${e}u2`;
  if (v instanceof Int8Array) return '|i1';
  if (v instanceof Uint8Array || v instanceof Uint8ClampedArray) return '|u1';
  if (v instanceof BigInt64Array) return `${e}i8`;
  if (v instanceof BigUint64Array) return `${e}u8`;
  return undefined;
}

/**
 * The reduction `dumps` writes for a TypedArray other than `Uint8Array` (which stays `bytes`):
 * a 1-d ndarray of the matching dtype. Undefined for other views (DataView stays `bytes`).
 */
export function typedArrayReduction(v: ArrayBufferView): Reduction | undefined {
  if (v instanceof Uint8Array) return undefined;
  if (typedArrayDtype(v) === undefined) return undefined;
  return NDArray.from(v as NDTypedArray | Uint8ClampedArray)[pyReduce]();
}

// ---- resolving NumPy globals while unpickling ------------------------------------------------

const RECONSTRUCT = new Set(['numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct']);
const FROMBUFFER = new Set(['numpy.core.numeric._frombuffer', 'numpy._core.numeric._frombuffer']);
const SCALAR = new Set(['numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar']);

/** The NumPy globals this module resolves (module.name). */
export const NUMPY_GLOBALS: readonly string[] = ['numpy.dtype', ...RECONSTRUCT, ...FROMBUFFER, ...SCALAR];

/** Per unpickler input: where the last array payload viewed in place ends (nothing before it may move). */
const viewedUpTo = new WeakMap<Buffer, number>();

/**
 * The bytes of an array payload at `pos`..`pos + n` of the unpickler's input, as a view (never a
 * copy). With `inPlace` (the input belongs to the decoder), a payload that is not 8-aligned is
 * first moved back by up to 7 bytes, over input the unpickler has already executed (its own
 * opcode header and the opcodes before it, never over an earlier array's data), so that every
 * TypedArray can view it: a memmove instead of a copy into fresh memory, which costs page faults
 * (bench/numpy, 32 MiB: ~3 ms instead of ~20–30 ms on this machine).
 */
export function arrayPayload(buf: Buffer, pos: number, n: number, inPlace: boolean): Buffer {
  const k = (buf.byteOffset + pos) % 8;
  if (inPlace && k !== 0 && pos - k >= (viewedUpTo.get(buf) ?? 0)) {
    buf.copyWithin(pos - k, pos, pos + n);
    viewedUpTo.set(buf, pos - k + n);
    return buf.subarray(pos - k, pos - k + n);
  }
  if (inPlace) viewedUpTo.set(buf, pos + n);
  return buf.subarray(pos, pos + n);
}

/** An array made by `_reconstruct` that has not received its BUILD state yet. */
const pending = new WeakSet<object>();

/**
 * True when a bytes payload pushed now is the data of an array, so the unpickler may push a
 * view on its input instead of a copy: `below` is the stack item just below the innermost MARK
 * (the array waiting for its `_reconstruct` state, or the `_frombuffer` global).
 */
export function takesArrayView(below: unknown): boolean {
  if (typeof below !== 'object' || below === null) return false;
  if (below instanceof NDArray) return pending.has(below);
  return below instanceof PyGlobal && FROMBUFFER.has(`${below.module}.${below.name}`);
}

function isNdarrayClass(x: unknown): boolean {
  return x instanceof PyGlobal && x.module === 'numpy' && x.name === 'ndarray';
}

/** The default-mode value of a scalar: number, bigint, boolean, PyComplex, string or Buffer, or the model. */
function scalarValue(s: NDScalar): unknown {
  const k = s.descr.kind;
  if (k === 'b' || k === 'i' || k === 'u' || k === 'U' || k === 'S') return s.value;
  if ((k === 'f' && s.descr.itemsize <= 8) || (k === 'c' && s.descr.itemsize <= 16)) return s.value;
  return s;
}

/**
 * Build the model of a NumPy global called with `args` (`known.ts` routes the names in
 * {@link NUMPY_GLOBALS} here), or undefined when the arguments are not NumPy's shape.
 */
export function resolveNumpy(qualname: string, args: unknown[], kind: string, exact: boolean): unknown {
  if (qualname === 'numpy.dtype') {
    if (kind !== 'reduce' || args.length < 1 || typeof args[0] !== 'string') return undefined;
    return new DType(args[0]);
  }
  if (kind !== 'reduce') return undefined;
  if (RECONSTRUCT.has(qualname)) {
    if (!isNdarrayClass(args[0])) return undefined; // subclasses (matrix, masked arrays) stay placeholders
    const a = new NDArray(new DType('u1'), [0], new Uint8Array(0));
    pending.add(a);
    return a;
  }
  if (FROMBUFFER.has(qualname)) {
    const [buf, dt, shp, order] = args;
    if (!(dt instanceof DType) || !(buf instanceof Uint8Array)) return undefined;
    const shape = typeof shp === 'number' ? [shp] : copied(shp).map((x) => int(x, 'array shape'));
    const o: NDOrder = order === 'F' ? 'F' : 'C';
    return new NDArray(dt, shape, dataOf(dt, buf, product(shape)), o);
  }
  if (SCALAR.has(qualname)) {
    const [dt, raw] = args;
    if (!(dt instanceof DType) || args.length > 2) return undefined;
    if (dt.kind === 'O') return raw;
    const b = rawBytes(raw);
    chargeCopies(b.byteLength);
    // Own the bytes: the scalar outlives the pickle's buffer.
    const s = new NDScalar(dt, Buffer.from(b));
    return exact ? s : scalarValue(s);
  }
  return undefined;
}

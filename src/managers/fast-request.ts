/**
 * A fast path for encoding manager requests `(ident, method, args, kwds)` at pickle protocol 4/5,
 * byte-identical to CPython's C pickler (and to `mpwire/pickle`'s `dumps`) for plain data: None,
 * booleans, int32 integers, floats, strings, plain arrays (lists) and plain objects (dicts with str
 * keys) without shared references. Anything else — and payloads that would need more than one
 * pickle frame — returns `undefined`, and the caller uses `dumps`.
 *
 * Why: building `Tuple` values and pickling them through the general encoder costs ~9 µs per
 * request, a sixth of a whole round trip on loopback (`bench/managers/dict.mjs`).
 * @module
 */

const MARK = 0x28;
const STOP = 0x2e;
const NONE = 0x4e;
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const BININT = 0x4a;
const BININT1 = 0x4b;
const BININT2 = 0x4d;
const BINFLOAT = 0x47;
const SHORT_BINUNICODE = 0x8c;
const BINUNICODE = 0x58;
const MEMOIZE = 0x94;
const BINGET = 0x68;
const LONG_BINGET = 0x6a;
const EMPTY_TUPLE = 0x29;
const TUPLE = 0x74;
const TUPLE1 = 0x85;
const TUPLE2 = 0x86;
const TUPLE3 = 0x87;
const EMPTY_LIST = 0x5d;
const APPEND = 0x61;
const APPENDS = 0x65;
const EMPTY_DICT = 0x7d;
const SETITEM = 0x73;
const SETITEMS = 0x75;
const PROTO = 0x80;
const FRAME = 0x95;

const BATCH = 1000;
/** Stay well inside one 64 KiB pickle frame (CPython's `_FRAME_SIZE_TARGET`). */
const MAX_PAYLOAD = 60_000;
const OBJ_PROTO = Object.prototype;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const p = Object.getPrototypeOf(v) as unknown;
  return p === OBJ_PROTO || p === null;
}

class Fallback extends Error {}
const FALLBACK = new Fallback();

class Writer {
  buf = Buffer.allocUnsafe(512);
  pos = 11; // PROTO + FRAME header, filled in at the end
  memo = 0;
  readonly strings = new Map<string, number>();
  readonly seen = new Set<object>();

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos + n > MAX_PAYLOAD) throw FALLBACK;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  op(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  memoize(): void {
    this.op(MEMOIZE);
    this.memo++;
  }

  str(s: string): void {
    const idx = this.strings.get(s);
    if (idx !== undefined) {
      if (idx < 256) {
        this.ensure(2);
        this.buf[this.pos++] = BINGET;
        this.buf[this.pos++] = idx;
      } else {
        this.ensure(5);
        this.buf[this.pos++] = LONG_BINGET;
        this.buf.writeUInt32LE(idx, this.pos);
        this.pos += 4;
      }
      return;
    }
    // Lone surrogates need surrogatepass: leave them to the general encoder.
    if (LONE_SURROGATE.test(s)) throw FALLBACK;
    const n = Buffer.byteLength(s, 'utf8');
    if (n < 256) {
      this.ensure(2 + n);
      this.buf[this.pos++] = SHORT_BINUNICODE;
      this.buf[this.pos++] = n;
    } else {
      this.ensure(5 + n);
      this.buf[this.pos++] = BINUNICODE;
      this.buf.writeUInt32LE(n, this.pos);
      this.pos += 4;
    }
    this.pos += this.buf.write(s, this.pos, 'utf8');
    this.strings.set(s, this.memo);
    this.memoize();
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        return this.str(v);
      case 'number':
        return this.num(v);
      case 'boolean':
        return this.op(v ? NEWTRUE : NEWFALSE);
      case 'undefined':
        return this.op(NONE);
      case 'object':
        if (v === null) return this.op(NONE);
        if (Array.isArray(v)) {
          if (Object.getPrototypeOf(v) !== Array.prototype) throw FALLBACK;
          return this.list(v);
        }
        if (isPlainObject(v)) return this.dict(v as Record<string, unknown>);
        throw FALLBACK;
      default:
        throw FALLBACK;
    }
  }

  num(v: number): void {
    if (Object.is(v, -0)) throw FALLBACK; // whatever the general encoder does with -0
    if (Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
      if (v >= 0 && v < 256) {
        this.ensure(2);
        this.buf[this.pos++] = BININT1;
        this.buf[this.pos++] = v;
      } else if (v >= 0 && v < 65536) {
        this.ensure(3);
        this.buf[this.pos++] = BININT2;
        this.buf.writeUInt16LE(v, this.pos);
        this.pos += 2;
      } else if (v >= -0x80000000 && v <= 0x7fffffff) {
        this.ensure(5);
        this.buf[this.pos++] = BININT;
        this.buf.writeInt32LE(v, this.pos);
        this.pos += 4;
      } else {
        throw FALLBACK; // LONG1: leave to the general encoder
      }
      return;
    }
    if (Number.isInteger(v) && !Object.is(v, -0)) throw FALLBACK; // integers beyond 2^53
    this.ensure(9);
    this.buf[this.pos++] = BINFLOAT;
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  track(o: object): void {
    if (this.seen.has(o)) throw FALLBACK; // shared references: memo by identity
    this.seen.add(o);
  }

  list(a: unknown[]): void {
    this.track(a);
    this.op(EMPTY_LIST);
    this.memoize();
    const n = a.length;
    for (let start = 0; start < n; start += BATCH) {
      const end = Math.min(n, start + BATCH);
      if (end - start === 1) {
        this.value(a[start]);
        this.op(APPEND);
      } else {
        this.op(MARK);
        for (let i = start; i < end; i++) this.value(a[i]);
        this.op(APPENDS);
      }
    }
  }

  dict(o: Record<string, unknown>): void {
    this.track(o);
    this.op(EMPTY_DICT);
    this.memoize();
    const keys = Object.keys(o);
    const n = keys.length;
    for (let start = 0; start < n; start += BATCH) {
      const end = Math.min(n, start + BATCH);
      if (end - start === 1) {
        const k = keys[start] as string;
        this.str(k);
        this.value(o[k]);
        this.op(SETITEM);
      } else {
        this.op(MARK);
        for (let i = start; i < end; i++) {
          const k = keys[i] as string;
          this.str(k);
          this.value(o[k]);
        }
        this.op(SETITEMS);
      }
    }
  }

  tuple(items: readonly unknown[]): void {
    const n = items.length;
    if (n === 0) return this.op(EMPTY_TUPLE);
    if (n > 3) this.op(MARK);
    for (let i = 0; i < n; i++) this.value(items[i]);
    this.op(n === 1 ? TUPLE1 : n === 2 ? TUPLE2 : n === 3 ? TUPLE3 : TUPLE);
    this.memoize();
  }
}

/**
 * Encode `(ident, method, tuple(args), kwds)` at protocol 4 or 5, or return `undefined` when the
 * values need the general encoder.
 */
export function fastRequest(protocol: number, ident: string | null, method: string, args: readonly unknown[], kwds: unknown): Buffer | undefined {
  if (protocol < 4) return undefined;
  if (kwds !== undefined && kwds !== null && !isPlainObject(kwds)) return undefined;
  const w = new Writer();
  try {
    w.op(MARK);
    if (ident === null) w.op(NONE);
    else w.str(ident);
    w.str(method);
    w.tuple(args);
    w.dict((kwds ?? {}) as Record<string, unknown>);
    w.op(TUPLE);
    w.memoize();
    w.op(STOP);
  } catch (e) {
    if (e instanceof Fallback) return undefined;
    throw e;
  }
  const buf = w.buf;
  buf[0] = PROTO;
  buf[1] = protocol;
  buf[2] = FRAME;
  buf.writeBigUInt64LE(BigInt(w.pos - 11), 3);
  return buf.subarray(0, w.pos);
}

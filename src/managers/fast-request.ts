/**
 * A fast path for encoding manager requests `(ident, method, args, kwds)` (and replies
 * `(kind, value)`, {@link fastReply}) at pickle protocol 4/5,
 * byte-identical to CPython's C pickler (and to `mpwire/pickle`'s `dumps`) for plain data: None,
 * booleans, int32 integers, floats, strings, plain arrays (lists) and plain objects (dicts with str
 * keys) without shared references. Anything else — and payloads that would need more than one
 * pickle frame — returns `undefined`, and the caller uses `dumps`.
 *
 * Why: building `Tuple` values and pickling them through the general encoder costs ~9 µs per
 * request, a sixth of a whole round trip on loopback (`bench/managers/dict.mjs`).
 * @module
 */
import { OP, PyFloat } from '../pickle/index.js';

// Opcode values from the one opcode table (src/pickle/opcodes.ts).
const { MARK, STOP, NONE, NEWTRUE, NEWFALSE, BININT, BININT1, BININT2, BINFLOAT, SHORT_BINUNICODE, BINUNICODE, MEMOIZE, BINGET, LONG_BINGET, EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3, EMPTY_LIST, APPEND, APPENDS, EMPTY_DICT, SETITEM, SETITEMS, PROTO, FRAME } = OP;

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

/**
 * Deepest list/dict nesting written here; deeper values go to the general encoder, which applies
 * its own `maxDepth`.
 */
const MAX_DEPTH = 32;
/** Distinct strings (and containers) looked up linearly before a Map (Set) takes over. */
const LINEAR_STRINGS = 16;
/** Strings up to this length are tried as ASCII first (idents, method names, keys). */
const SHORT_ASCII = 64;

/** Bytes copied out of the scratch buffer by a loop (shorter than `set` on a subarray). */
const LOOP_COPY = 256;

class Writer {
  /** Scratch space of the largest pickle written here; {@link Writer.finish} copies the pickle out. */
  buf = Buffer.allocUnsafe(MAX_PAYLOAD);
  pos = 11; // PROTO + FRAME header, filled in at the end
  /** The shared writer is in use (a getter of a value being written could start another request). */
  busy = false;
  memo = 0;
  depth = 0;
  /** Memoized strings and their memo indexes; a Map once there are many. */
  readonly strs: string[] = [];
  readonly strIdx: number[] = [];
  strings: Map<string, number> | undefined;
  /** Lists and dicts written so far (a Set once there are many). */
  readonly seenList: object[] = [];
  seen: Set<object> | undefined;

  /** Ready for a new pickle. */
  reset(): void {
    this.pos = 11;
    this.memo = 0;
    this.depth = 0;
    // pop(): setting `length` is a runtime call.
    while (this.strs.length > 0) this.strs.pop();
    while (this.strIdx.length > 0) this.strIdx.pop();
    while (this.seenList.length > 0) this.seenList.pop();
    this.strings = undefined;
    this.seen = undefined;
  }

  memoOf(s: string): number | undefined {
    if (this.strings !== undefined) return this.strings.get(s);
    const strs = this.strs;
    for (let i = 0; i < strs.length; i++) if (strs[i] === s) return this.strIdx[i];
    return undefined;
  }

  remember(s: string, idx: number): void {
    if (this.strings !== undefined) {
      this.strings.set(s, idx);
      return;
    }
    this.strs.push(s);
    this.strIdx.push(idx);
    if (this.strs.length > LINEAR_STRINGS) this.strings = new Map(this.strs.map((x, i) => [x, this.strIdx[i] as number]));
  }

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
    const idx = this.memoOf(s);
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
    if (s.length <= SHORT_ASCII && this.ascii(s)) {
      this.remember(s, this.memo);
      this.memoize();
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
    this.remember(s, this.memo);
    this.memoize();
  }

  /**
   * Write a short string as SHORT_BINUNICODE when it is ASCII (byte stores instead of the UTF-8
   * length and write calls); false, with nothing written, otherwise.
   */
  ascii(s: string): boolean {
    const n = s.length;
    this.ensure(2 + n);
    const buf = this.buf;
    const start = this.pos + 2;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return false;
      buf[start + i] = c;
    }
    buf[this.pos] = SHORT_BINUNICODE;
    buf[this.pos + 1] = n;
    this.pos = start + n;
    return true;
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
        if (v instanceof PyFloat) return this.float(v.value);
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
        this.buf[this.pos] = v & 0xff;
        this.buf[this.pos + 1] = v >>> 8;
        this.pos += 2;
      } else if (v >= -0x80000000 && v <= 0x7fffffff) {
        this.ensure(5);
        this.buf[this.pos++] = BININT;
        this.u32(v >>> 0);
        this.pos += 4;
      } else {
        throw FALLBACK; // LONG1: leave to the general encoder
      }
      return;
    }
    if (Number.isInteger(v) && !Object.is(v, -0)) throw FALLBACK; // integers beyond 2^53
    this.float(v);
  }

  float(v: number): void {
    this.ensure(9);
    this.buf[this.pos++] = BINFLOAT;
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  track(o: object): void {
    // Shared references need the memo by identity: leave them to the general encoder.
    if (this.seen !== undefined) {
      if (this.seen.has(o)) throw FALLBACK;
      this.seen.add(o);
    } else {
      const seenList = this.seenList;
      if (seenList.includes(o)) throw FALLBACK;
      seenList.push(o);
      if (seenList.length > LINEAR_STRINGS) this.seen = new Set(seenList);
    }
    if (++this.depth > MAX_DEPTH) throw FALLBACK;
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
    this.depth--;
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
    this.depth--;
  }

  /** Write `v` (an unsigned 32-bit value) little-endian at `pos` (room already ensured). */
  u32(v: number): void {
    const buf = this.buf;
    const p = this.pos;
    buf[p] = v & 0xff;
    buf[p + 1] = (v >>> 8) & 0xff;
    buf[p + 2] = (v >>> 16) & 0xff;
    buf[p + 3] = v >>> 24;
  }

  /**
   * Fill in the PROTO and FRAME header; a copy of the pickle, behind the 4-byte big-endian length
   * of a connection frame when `framed` (one buffer for the socket, no second copy).
   */
  finish(protocol: number, framed: boolean): Buffer {
    const buf = this.buf;
    const len = this.pos;
    const n = len - 11;
    buf[0] = PROTO;
    buf[1] = protocol;
    buf[2] = FRAME;
    // Byte stores: Buffer.prototype methods are looked up on a dictionary-mode prototype.
    for (let i = 0; i < 8; i++) buf[3 + i] = i < 4 ? (n >>> (8 * i)) & 0xff : 0;
    const at = framed ? 4 : 0;
    const out = Buffer.allocUnsafe(at + len);
    if (framed) {
      out[0] = len >>> 24;
      out[1] = (len >>> 16) & 0xff;
      out[2] = (len >>> 8) & 0xff;
      out[3] = len & 0xff;
    }
    if (len <= LOOP_COPY) for (let i = 0; i < len; i++) out[at + i] = buf[i] as number;
    else out.set(buf.subarray(0, len), at);
    return out;
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

const shared = new Writer();

/** The shared writer, reset; a fresh one if it is in use. */
function takeWriter(): Writer {
  const w = shared.busy ? new Writer() : shared;
  w.reset();
  w.busy = true;
  return w;
}

/**
 * Encode `(ident, method, tuple(args), kwds)` at protocol 4 or 5, or return `undefined` when the
 * values need the general encoder. `framed`: the pickle follows the 4-byte length header of a
 * connection frame (for `Connection._sendFramedNow`).
 */
export function fastRequest(
  protocol: number,
  ident: string | null,
  method: string,
  args: readonly unknown[],
  kwds: unknown,
  framed = false,
): Buffer | undefined {
  if (protocol < 4) return undefined;
  if (kwds !== undefined && kwds !== null && !isPlainObject(kwds)) return undefined;
  const w = takeWriter();
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
  } finally {
    w.busy = false;
  }
  return w.finish(protocol, framed);
}

/**
 * Encode a manager reply `(kind, value)` at protocol 4 or 5 as `dumps(tuple(kind, value))` would,
 * or return `undefined` when the value needs the general encoder. Accepts what {@link fastRequest}
 * accepts, plus `PyFloat`; `framed` as there.
 * @example
 * ```ts
 * const payload = fastReply(4, '#RETURN', 42) ?? dumps(tuple('#RETURN', 42), { protocol: 4 });
 * ```
 */
export function fastReply(protocol: number, kind: string, value: unknown, framed = false): Buffer | undefined {
  if (protocol < 4) return undefined;
  const w = takeWriter();
  try {
    w.str(kind);
    w.value(value);
    w.op(TUPLE2);
    w.memoize();
    w.op(STOP);
  } catch (e) {
    if (e instanceof Fallback) return undefined;
    throw e;
  } finally {
    w.busy = false;
  }
  return w.finish(protocol, framed);
}

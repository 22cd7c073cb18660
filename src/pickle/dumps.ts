/**
 * The pickler. For plain data (None, bool, int, float, str, bytes, bytearray, list, tuple, dict,
 * set, frozenset, nested and shared) it writes the same bytes as CPython's C pickler at
 * protocols 2–5: the same short opcodes, memo indexes, 1000-item batches and 64 KiB frames.
 * @module
 */
import { PicklingError } from '../errors.js';
import { mapPy3Global } from './known.js';
import {
  ByteArray,
  FrozenSet,
  PyDatetime,
  PyFloat,
  PyGlobal,
  PyPersistentId,
  Tuple,
  isReducible,
  pyReduce,
  type Reduction,
} from './model.js';
import { typedArrayReduction } from './numpy.js';
import { DEFAULT_PROTOCOL, OP } from './opcodes.js';
import { MAX_HASHED, StrMemo } from './str-memo.js';
import { encodeLong, encodeUtf8Surrogatepass, isWellFormed, rawUnicodeEscapeEncode } from './text.js';

/**
 * Options of {@link dumps}.
 * @example
 * ```ts
 * const data = dumps(value, {
 *   protocol: 2,
 *   reduce: (v) => (v instanceof URL ? { module: 'urllib.parse', name: 'urlparse', args: [v.href] } : undefined),
 * });
 * ```
 */
export interface DumpsOptions {
  /** Pickle protocol 0–5 (default 4, what CPython 3.8–3.13 send). */
  protocol?: number;
  /** Maximum nesting depth (default 2000); deeper values raise PicklingError. */
  maxDepth?: number;
  /** Map your own JS values to a Python reduction; return undefined for the default behaviour. */
  reduce?: (value: unknown) => Reduction | undefined;
  /** Persistent ids: return a pid to write instead of the value, or undefined. */
  persistentId?: (value: unknown) => unknown;
}

const PYFLOAT_PROTO: unknown = PyFloat.prototype;
const TUPLE_PROTO: unknown = Tuple.prototype;

/** Marks a value hashable() is converting (a value that contains itself is left as it is). */
const IN_PROGRESS: unique symbol = Symbol('in progress');

/** Frame size target of CPython's pickler (`_FRAME_SIZE_TARGET`). */
const FRAME_SIZE_TARGET = 64 * 1024;
const FRAME_SIZE_MIN = 4;
const FRAME_HEADER = 9;
/** CPython's `_BATCHSIZE` for APPENDS/SETITEMS/ADDITEMS. */
const BATCHSIZE = 1000;

class PathError extends Error {
  readonly segments: string[] = [];
  constructor(
    message: string,
    readonly causeErr?: unknown,
  ) {
    super(message);
  }
}

/**
 * Add the path segment `s` to an error leaving a container. Anything other than a PicklingError
 * (a getter, a Proxy trap or a hook that throws, a stack overflow) becomes one, with the original
 * as its `cause`, at the innermost container it left; a PicklingError (from a `dumps` a hook ran)
 * goes on as it is.
 */
function seg(e: unknown, s: string): never {
  if (e instanceof PicklingError) throw e;
  const pe = e instanceof PathError ? e : new PathError(failureMessage(e), e);
  pe.segments.unshift(s);
  throw pe;
}

/** The message of a PicklingError made from an error that is not one. */
function failureMessage(e: unknown): string {
  if (e instanceof RangeError) return `value too deep or too large: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return typeof e === 'string' ? e : `${typeof e} thrown`;
}

/**
 * The path segment of a dict key. An object key prints as `[<object>]`: String() of a DAG of arrays
 * joins exponentially, and reading anything of a Proxy key could throw again.
 */
const keySeg = (k: unknown): string => {
  if (typeof k === 'string') return /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  return `[${typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k == null ? String(k) : `<${typeof k}>`}]`;
};

const utf8Write = (b: Buffer, s: string, off: number): number =>
  (b as unknown as { utf8Write(s: string, o: number, l?: number): number }).utf8Write(s, off);

/**
 * Encode a value as a pickle.
 * @example
 * ```ts
 * dumps({ a: 1 });                 // protocol 4, same bytes as Python's pickle.dumps({'a': 1})
 * dumps(tuple(1, 'x'), { protocol: 2 });
 * ```
 */
export function dumps(value: unknown, options: DumpsOptions = {}): Buffer {
  const protocol = options.protocol ?? DEFAULT_PROTOCOL;
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 5) throw new RangeError(`pickle protocol must be 0..5, not ${protocol}`);
  // One scratch per call: a hook (reduce, persistentId, a class's reduction) may call dumps
  // again while this call runs, and that call then works in fresh memory of its own.
  const scratch = freeScratch ?? new Scratch();
  freeScratch = undefined;
  const p = new Pickler(protocol, options, scratch);
  try {
    return p.dump(value);
  } catch (e) {
    if (e instanceof PathError) throw new PicklingError(e.message, '$' + e.segments.join(''), { cause: e.causeErr });
    if (e instanceof PicklingError) throw e;
    throw new PicklingError(failureMessage(e), '$', { cause: e });
  } finally {
    scratch.release(p.outBuffer());
    freeScratch = scratch;
  }
}

/** Output buffers up to this size are kept for the next call. */
const KEEP_BUFFER = 1 << 20;
/**
 * Bigger output buffers, up to this size, are held weakly for the next big call (the GC may take
 * them), and results are copied out of them at their exact size. A buffer grown past this is
 * handed out as it is: copying it would double the peak memory.
 */
const KEEP_BIG_BUFFER = 64 << 20;

/**
 * The last big output buffer, if the GC has not taken it and no pickler holds it. A big pickle
 * written into fresh memory pays a page fault per 4 KiB for every buffer it grows through
 * (1.7 µs each on this VM: bench/pickle ints_1m dumps wrote 4.8 MB through 2, 4 and 8 MB
 * buffers); written into this one, only the copied-out result is fresh.
 */
let bigBuffer: WeakRef<Buffer> | undefined;

/** Take the kept big buffer if it holds at least `size` bytes. */
function takeBigBuffer(size: number): Buffer | undefined {
  const b = bigBuffer?.deref();
  if (b === undefined || b.length < size) return undefined;
  bigBuffer = undefined;
  return b;
}

/**
 * Memory one pickler after another reuses: the output buffer (written, then copied out at its
 * exact size) and the short-string memo. Fresh memory costs page faults on every first touch,
 * and those were a fifth of `dumps` on records (bench/pickle dicts_10k: ~400 faults per call).
 */
class Scratch {
  buf: Buffer = Buffer.allocUnsafe(64 * 1024);
  readonly strs = new StrMemo();

  /**
   * Take back the buffer the pickler ended with and empty the memo. Up to KEEP_BUFFER it becomes
   * this scratch's buffer; up to KEEP_BIG_BUFFER it is held weakly (unless a bigger one already
   * is); a bigger one was handed out by dump() and is never reused.
   */
  release(buf: Buffer): void {
    const n = buf.length;
    if (n <= KEEP_BUFFER) {
      if (n > this.buf.length) this.buf = buf;
    } else if (n <= KEEP_BIG_BUFFER && (bigBuffer?.deref()?.length ?? 0) < n) bigBuffer = new WeakRef(buf);
    this.strs.reset();
  }
}

let freeScratch: Scratch | undefined;

class Pickler {
  private buf: Buffer;
  private pos = 0;
  private readonly framing: boolean;
  private frameStart = -1;
  private memoCount = 0;
  /** Memo indexes of objects, by identity. */
  private readonly objMemo = new Map<object, number>();
  /** Memo indexes of strings, by value: short ones in the reused table, long ones in a Map. */
  private readonly strMemo: StrMemo;
  private longStrMemo: Map<string, number> | undefined;
  private smallBytesMemoMap: Map<string, number> | undefined;
  private globalMemoMap: Map<string, number> | undefined;
  private depth = 0;
  private readonly maxDepth: number;
  // The options object has the caller's shape: read its hooks once, not per object.
  private readonly hasPersistentId: boolean;
  private readonly noReduceHook: boolean;

  constructor(
    private readonly proto: number,
    private readonly opts: DumpsOptions,
    scratch: Scratch,
  ) {
    this.buf = scratch.buf;
    this.strMemo = scratch.strs;
    this.framing = proto >= 4;
    this.maxDepth = opts.maxDepth ?? 2000;
    this.hasPersistentId = !!opts.persistentId;
    this.noReduceHook = opts.reduce === undefined;
  }

  dump(v: unknown): Buffer {
    if (this.proto >= 2) {
      this.ensure(2);
      this.buf[this.pos++] = OP.PROTO;
      this.buf[this.pos++] = this.proto;
    }
    if (this.framing) this.openFrame();
    this.save(v);
    this.ensure(1);
    this.buf[this.pos++] = OP.STOP;
    if (this.framing) this.closeFrame();
    const n = this.pos;
    // A buffer too big to keep is handed out as it is; otherwise the bytes are copied out at
    // their exact size (small results come from Node's shared pool).
    if (this.buf.length > KEEP_BIG_BUFFER) return this.buf.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    const b = this.buf;
    // Small results byte by byte: Buffer#copy's argument handling costs more than the copy.
    if (n <= 256) for (let i = 0; i < n; i++) out[i] = b[i] as number;
    else b.copy(out, 0, 0, n);
    return out;
  }

  /** The output buffer, for the scratch to keep once the call is over. */
  outBuffer(): Buffer {
    return this.buf;
  }

  private get smallBytesMemo(): Map<string, number> {
    return (this.smallBytesMemoMap ??= new Map());
  }

  private get globalMemo(): Map<string, number> {
    return (this.globalMemoMap ??= new Map());
  }

  // ---- output buffer and framing ------------------------------------------------------------

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = (size > KEEP_BUFFER && size <= KEEP_BIG_BUFFER ? takeBigBuffer(size) : undefined) ?? Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  private openFrame(): void {
    this.ensure(FRAME_HEADER);
    this.frameStart = this.pos;
    this.pos += FRAME_HEADER;
  }

  private closeFrame(): void {
    const start = this.frameStart;
    if (start < 0) return;
    const len = this.pos - start - FRAME_HEADER;
    if (len >= FRAME_SIZE_MIN) {
      const b = this.buf;
      b[start] = OP.FRAME;
      // Byte stores: writeUInt32LE's checks cost more than the stores on small messages.
      b[start + 1] = len & 255;
      b[start + 2] = (len >>> 8) & 255;
      b[start + 3] = (len >>> 16) & 255;
      b[start + 4] = (len >>> 24) & 255;
      const hi = Math.floor(len / 2 ** 32);
      b[start + 5] = hi & 255;
      b[start + 6] = (hi >>> 8) & 255;
      b[start + 7] = (hi >>> 16) & 255;
      b[start + 8] = (hi >>> 24) & 255;
    } else {
      this.buf.copy(this.buf, start, start + FRAME_HEADER, this.pos);
      this.pos -= FRAME_HEADER;
    }
    this.frameStart = -1;
  }

  private boundary(): void {
    if (this.frameStart >= 0 && this.pos - this.frameStart - FRAME_HEADER >= FRAME_SIZE_TARGET) {
      this.closeFrame();
      this.openFrame();
    }
  }

  private byte(b: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  private raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private ascii(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  private u32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4;
  }

  private u64(n: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(n / 2 ** 32), this.pos + 4);
    this.pos += 8;
  }

  /** Write an opcode header followed by a payload; payloads of 64 KiB+ go outside frames, as in CPython. */
  private payload(header: () => void, data: Uint8Array): void {
    if (this.framing && data.length >= FRAME_SIZE_TARGET) {
      this.closeFrame();
      header();
      this.raw(data);
      this.openFrame();
    } else {
      header();
      this.raw(data);
    }
  }

  // ---- memo -------------------------------------------------------------------------------

  private memoizeWrite(): number {
    const idx = this.memoCount++;
    if (this.proto >= 4) this.byte(OP.MEMOIZE);
    else if (this.proto >= 1) {
      if (idx < 256) {
        this.byte(OP.BINPUT);
        this.byte(idx);
      } else {
        this.byte(OP.LONG_BINPUT);
        this.u32(idx);
      }
    } else this.ascii(`p${idx}\n`);
    return idx;
  }

  private get(idx: number): void {
    if (this.proto >= 1) {
      if (idx < 256) {
        this.byte(OP.BINGET);
        this.byte(idx);
      } else {
        this.byte(OP.LONG_BINGET);
        this.u32(idx);
      }
    } else this.ascii(`g${idx}\n`);
  }

  // ---- save ---------------------------------------------------------------------------------

  private save(v: unknown): void {
    this.boundary();
    switch (typeof v) {
      case 'string':
        this.saveStr(v, true);
        return;
      case 'number':
        if ((v | 0) === v) {
          // -0 passes the int test but is a float (README): pickle.dumps(-0.0).
          if (v === 0 && 1 / v < 0) return this.saveFloat(v);
          return this.saveInt(v);
        }
        if (Number.isSafeInteger(v)) return this.saveBigInt(BigInt(v));
        return this.saveFloat(v);
      case 'boolean':
        if (this.proto >= 2) this.byte(v ? OP.NEWTRUE : OP.NEWFALSE);
        else this.ascii(v ? 'I01\n' : 'I00\n');
        return;
      case 'bigint':
        return this.saveBigInt(v);
      case 'undefined':
        this.byte(OP.NONE);
        return;
      case 'object':
        if (v === null) {
          this.byte(OP.NONE);
          return;
        }
        break;
      default:
        throw new PathError(`cannot pickle a ${typeof v}`);
    }
    const o = v as object;
    if (this.hasPersistentId) {
      const pid = this.opts.persistentId?.(o);
      if (pid !== undefined && pid !== null) return this.savePid(pid);
    }
    const proto = Object.getPrototypeOf(o) as unknown;
    if (proto === PYFLOAT_PROTO) {
      // Floats are never memoized (as in CPython), so no memo lookup; same depth rule as below.
      if (this.depth + 1 > this.maxDepth) throw new PathError(`maximum nesting depth ${this.maxDepth} exceeded`);
      return this.saveFloat((o as PyFloat).value);
    }
    const m = this.objMemo.get(o);
    if (m !== undefined) return this.get(m);
    if (++this.depth > this.maxDepth) throw new PathError(`maximum nesting depth ${this.maxDepth} exceeded`);
    if (proto === Array.prototype) this.saveList(o as unknown[]);
    else if (proto === TUPLE_PROTO) this.saveTuple(o as unknown[]);
    else if (proto === Object.prototype && this.noReduceHook) this.saveObject(o as Record<string, unknown>);
    else if (Array.isArray(o)) {
      // A reducible Tuple subclass (a namedtuple) is written as its class, not as a tuple.
      if (isReducible(o)) this.saveReduction(o, o[pyReduce]());
      else if (o instanceof Tuple) this.saveTuple(o);
      else this.saveList(o);
    } else if (o instanceof Map) {
      if (isReducible(o)) this.saveReduction(o, o[pyReduce]());
      else this.saveDict(o);
    } else if (o instanceof Uint8Array) {
      if (o instanceof ByteArray) this.saveByteArray(o);
      else this.saveBytes(o, o);
    } else if (o instanceof PyFloat) this.saveFloat(o.value);
    else if (o instanceof Set) {
      if (o instanceof FrozenSet) this.saveFrozenSet(o);
      else this.saveSet(o);
    } else if (o instanceof PyGlobal) this.saveGlobal(o.module, o.name);
    else if (o instanceof PyPersistentId) this.savePid(o.pid);
    else {
      const custom = this.opts.reduce?.(o);
      if (custom) this.saveReduction(o, custom);
      else if (isReducible(o)) this.saveReduction(o, o[pyReduce]());
      else if (proto === Object.prototype || proto === null) this.saveObject(o as Record<string, unknown>);
      else if (o instanceof Date) this.saveReduction(o, dateReduction(o));
      else if (ArrayBuffer.isView(o)) {
        // TypedArrays other than Uint8Array are 1-d NumPy arrays (numpy.ts); DataView stays bytes.
        const r = typedArrayReduction(o);
        if (r) this.saveReduction(o, r);
        else this.saveBytes(new Uint8Array(o.buffer, o.byteOffset, o.byteLength), o);
      }
      else throw new PathError(`cannot pickle ${o.constructor?.name ?? 'object'} instance (no reduction)`);
    }
    // (On an exception the pickler is discarded, so the depth needs no unwinding.)
    this.depth--;
  }

  private savePid(pid: unknown): void {
    if (this.proto >= 1) {
      this.save(pid);
      this.byte(OP.BINPERSID);
    } else {
      if (typeof pid !== 'string' || pid.includes('\n')) throw new PathError('protocol 0 persistent ids must be strings without newlines');
      this.ascii(`P${pid}\n`);
    }
  }

  private saveInt(v: number): void {
    if (this.proto >= 1 && v >= -0x80000000 && v <= 0x7fffffff) {
      if (this.pos + 5 > this.buf.length) this.ensure(5);
      const b = this.buf;
      let p = this.pos;
      if (v >= 0 && v <= 0xff) {
        b[p++] = 0x4b; // BININT1
        b[p++] = v;
      } else if (v >= 0 && v <= 0xffff) {
        b[p++] = 0x4d; // BININT2
        b[p++] = v & 255;
        b[p++] = v >>> 8;
      } else {
        b[p++] = 0x4a; // BININT
        b[p++] = v & 255;
        b[p++] = (v >>> 8) & 255;
        b[p++] = (v >>> 16) & 255;
        b[p++] = (v >>> 24) & 255;
      }
      this.pos = p;
      return;
    }
    if (this.proto === 0 && v >= -0x80000000 && v <= 0x7fffffff) {
      this.ascii(`I${v}\n`);
      return;
    }
    this.saveBigInt(BigInt(v));
  }

  private saveBigInt(v: bigint): void {
    if (v >= -0x80000000n && v <= 0x7fffffffn) return this.saveInt(Number(v));
    if (this.proto >= 2) {
      const b = encodeLong(v);
      if (b.length < 256) {
        this.byte(OP.LONG1);
        this.byte(b.length);
        this.raw(b);
      } else {
        this.payload(() => {
          this.byte(OP.LONG4);
          this.u32(b.length);
        }, b);
      }
      return;
    }
    this.ascii(`L${v.toString()}L\n`);
  }

  private saveFloat(v: number): void {
    if (this.proto >= 1) {
      this.ensure(9);
      this.buf[this.pos++] = OP.BINFLOAT;
      this.buf.writeDoubleBE(v, this.pos);
      this.pos += 8;
    } else this.ascii(`F${pyFloatRepr(v)}\n`);
  }

  /** `register` false: the string is a fresh object in CPython (never shared), so it is written and memoized but not remembered. */
  private saveStr(s: string, register: boolean): number {
    if (register) {
      const m = s.length <= MAX_HASHED ? this.strMemo.get(s) : this.longStrMemo?.get(s);
      if (m !== undefined && m >= 0) {
        this.get(m);
        return m;
      }
    }
    const proto = this.proto;
    if (proto === 0) {
      this.byte(OP.UNICODE);
      this.raw(rawUnicodeEscapeEncode(s));
      this.byte(10);
    } else if (proto >= 4 && s.length < 86) {
      // 85 UTF-16 units are at most 255 UTF-8 bytes: write in place, then pick SHORT_BINUNICODE.
      this.ensure(2 + s.length * 3);
      const at = this.pos;
      const b = this.buf;
      const len = s.length;
      let i = 0;
      // Short ASCII strings: a JS loop beats the native UTF-8 writer (bench/pickle dicts_10k).
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + 2 + i] = c;
      }
      const n = i === len ? len : utf8Write(b, s, at + 2);
      if (n !== s.length && !isWellFormed(s)) this.buf.set(encodeUtf8Surrogatepass(s), at + 2);
      if (n < 256) {
        this.buf[at] = OP.SHORT_BINUNICODE;
        this.buf[at + 1] = n;
        this.pos = at + 2 + n;
      } else {
        this.buf.copyWithin(at + 5, at + 2, at + 2 + n);
        this.buf[at] = OP.BINUNICODE;
        this.buf.writeUInt32LE(n, at + 1);
        this.pos = at + 5 + n;
      }
    } else {
      const b = isWellFormed(s) ? Buffer.from(s, 'utf8') : encodeUtf8Surrogatepass(s);
      const n = b.length;
      this.payload(() => {
        if (n < 256 && proto >= 4) {
          this.byte(OP.SHORT_BINUNICODE);
          this.byte(n);
        } else if (n <= 0xffffffff) {
          this.byte(OP.BINUNICODE);
          this.u32(n);
        } else if (proto >= 4) {
          this.byte(OP.BINUNICODE8);
          this.u64(n);
        } else throw new PathError('cannot serialize a string larger than 4 GiB below protocol 4');
      }, b);
    }
    const idx = this.memoizeWrite();
    if (register) {
      if (s.length <= MAX_HASHED) this.strMemo.insertMissed(s, idx);
      else (this.longStrMemo ??= new Map()).set(s, idx);
    }
    return idx;
  }

  /** bytes; `identity` is the JS object to memoize, or undefined for a fresh temporary. */
  private saveBytes(b: Uint8Array, identity: object | undefined): void {
    // CPython shares the empty and the one-byte bytes objects, so equal ones are memo hits.
    const small = b.length <= 1 ? (b.length === 0 ? '' : String.fromCharCode(b[0] as number)) : undefined;
    if (small !== undefined) {
      const m = this.smallBytesMemo.get(small);
      if (m !== undefined) return this.get(m);
    }
    if (this.proto < 3) {
      if (b.length === 0) this.saveReduceRaw(['builtins', 'bytes'], [], 'reduce');
      else {
        const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
        this.saveGlobal('_codecs', 'encode');
        this.saveTupleItems([() => this.saveStr(s, s.length === 1), () => this.saveStr('latin1', true)]);
        this.byte(OP.REDUCE);
      }
    } else {
      const n = b.length;
      this.payload(() => {
        if (n < 256) {
          this.byte(OP.SHORT_BINBYTES);
          this.byte(n);
        } else if (n <= 0xffffffff) {
          this.byte(OP.BINBYTES);
          this.u32(n);
        } else if (this.proto >= 4) {
          this.byte(OP.BINBYTES8);
          this.u64(n);
        } else throw new PathError('cannot serialize a bytes object larger than 4 GiB below protocol 4');
      }, b);
    }
    const idx = this.memoizeWrite();
    if (small !== undefined) this.smallBytesMemo.set(small, idx);
    else if (identity) this.objMemo.set(identity, idx);
  }

  private saveByteArray(b: ByteArray): void {
    if (this.proto >= 5) {
      this.payload(() => {
        this.byte(OP.BYTEARRAY8);
        this.u64(b.length);
      }, b);
      this.objMemo.set(b, this.memoizeWrite());
      return;
    }
    if (b.length === 0) this.saveReduceRaw(['builtins', 'bytearray'], [], 'reduce');
    else {
      this.saveGlobal('builtins', 'bytearray');
      this.saveTupleItems([() => this.saveBytes(b, undefined)]);
      this.byte(OP.REDUCE);
    }
    this.objMemo.set(b, this.memoizeWrite());
  }

  /** Write a tuple of temporaries (never shared): TUPLEn at protocol 2+, MARK … TUPLE below. */
  private saveTupleItems(items: Array<() => void>): void {
    this.boundary();
    const n = items.length;
    if (n === 0) {
      if (this.proto >= 1) this.byte(OP.EMPTY_TUPLE);
      else this.ascii('(t');
      return;
    }
    if (this.proto >= 2 && n <= 3) {
      for (const f of items) {
        this.boundary();
        f();
      }
      this.byte(OP.TUPLE1 + n - 1);
    } else {
      this.byte(OP.MARK);
      for (const f of items) {
        this.boundary();
        f();
      }
      this.byte(OP.TUPLE);
    }
    this.memoizeWrite();
  }

  private saveTuple(t: unknown[]): void {
    const n = t.length;
    if (n === 0) {
      if (this.proto >= 1) this.byte(OP.EMPTY_TUPLE);
      else this.ascii('(t');
      return;
    }
    const short = this.proto >= 2 && n <= 3;
    if (!short) this.byte(OP.MARK);
    const memoObjects = this.objMemo.size;
    let i = 0;
    try {
      for (; i < n; i++) this.save(t[i]);
    } catch (e) {
      seg(e, `[${i}]`);
    }
    // Only an item that added objects to the memo can have reached (and memoized) the tuple itself.
    const m = this.objMemo.size === memoObjects ? undefined : this.objMemo.get(t);
    if (m !== undefined) {
      // The tuple was reached again through its own items: drop them and fetch it from the memo.
      if (short) for (let k = 0; k < n; k++) this.byte(OP.POP);
      else if (this.proto >= 1) this.byte(OP.POP_MARK);
      else for (let k = 0; k <= n; k++) this.byte(OP.POP);
      this.get(m);
      return;
    }
    this.byte(short ? OP.TUPLE1 + n - 1 : OP.TUPLE);
    this.objMemo.set(t, this.memoizeWrite());
  }

  private saveList(l: unknown[]): void {
    if (this.proto >= 1) this.byte(OP.EMPTY_LIST);
    else this.ascii('(l');
    this.objMemo.set(l, this.memoizeWrite());
    this.batchAppends(l, true);
  }

  /**
   * `exact`: a real list (CPython's batch_list_exact: APPEND only for a one-item list, every batch
   * MARK … APPENDS); otherwise the iterator form, where a trailing one-item batch uses APPEND.
   */
  private batchAppends(l: readonly unknown[], exact: boolean): void {
    const n = l.length;
    let i = 0;
    try {
      if (this.proto === 0) {
        for (; i < n; i++) {
          this.save(l[i]);
          this.byte(OP.APPEND);
        }
        return;
      }
      while (i < n) {
        const end = Math.min(n, i + BATCHSIZE);
        if (end - i === 1 && (!exact || n === 1)) {
          this.save(l[i]);
          this.byte(OP.APPEND);
          i++;
        } else {
          this.byte(OP.MARK);
          for (; i < end; i++) {
            const x = l[i];
            // Runs of small ints in one tight loop (bench/pickle ints_1m); everything else through save().
            if (typeof x === 'number' && (x | 0) === x && x !== 0) i = this.intRun(l, i, end) - 1;
            else this.save(x);
          }
          this.byte(OP.APPENDS);
        }
      }
    } catch (e) {
      seg(e, `[${i}]`);
    }
  }

  /**
   * Write the run of non-zero int32 items `l[i]`, `l[i+1]`, … (up to `end`) as save() would
   * (BININT1/BININT2/BININT, frame boundary checked before each); returns the index of the first
   * item not written. Protocol 1+ only.
   */
  private intRun(l: readonly unknown[], i: number, end: number): number {
    let b = this.buf;
    let p = this.pos;
    // save() closes the frame once it holds FRAME_SIZE_TARGET bytes; `limit` is that position.
    let limit = this.frameStart >= 0 ? this.frameStart + FRAME_HEADER + FRAME_SIZE_TARGET : Infinity;
    let room = p + 5 * (end - i) <= b.length;
    for (; i < end; i++) {
      const x = l[i];
      if (typeof x !== 'number' || (x | 0) !== x || x === 0) break;
      if (p >= limit || !room) {
        this.pos = p;
        this.boundary();
        this.ensure(5 * (end - i));
        b = this.buf;
        p = this.pos;
        limit = this.frameStart >= 0 ? this.frameStart + FRAME_HEADER + FRAME_SIZE_TARGET : Infinity;
        room = true;
      }
      if (x > 0 && x <= 0xff) {
        b[p] = 0x4b; // BININT1
        b[p + 1] = x;
        p += 2;
      } else if (x > 0 && x <= 0xffff) {
        b[p] = 0x4d; // BININT2
        b[p + 1] = x & 255;
        b[p + 2] = x >>> 8;
        p += 3;
      } else {
        b[p] = 0x4a; // BININT
        b[p + 1] = x & 255;
        b[p + 2] = (x >>> 8) & 255;
        b[p + 3] = (x >>> 16) & 255;
        b[p + 4] = (x >>> 24) & 255;
        p += 5;
      }
    }
    this.pos = p;
    return i;
  }

  private saveDict(d: Map<unknown, unknown>): void {
    if (this.proto >= 1) this.byte(OP.EMPTY_DICT);
    else this.ascii('(d');
    this.objMemo.set(d, this.memoizeWrite());
    this.batchSetItems(d.entries(), d.size, true);
  }

  /**
   * Memo indexes of the keys of the last plain object written at each depth: records with the same
   * keys skip the string-memo lookups for their keys (bench/pickle dicts_10k).
   */
  private readonly keyCache: Array<{ keys: string[]; idx: number[] } | undefined> = [];
  private lastKeyCache: { keys: string[]; idx: number[] } | undefined;

  private saveKey(cache: { keys: string[]; idx: number[] }, i: number, k: string): void {
    this.boundary();
    if (cache.keys[i] === k) this.get(cache.idx[i] as number);
    else {
      cache.keys[i] = k;
      cache.idx[i] = this.saveStr(k, true);
    }
  }

  private saveObject(o: Record<string, unknown>): void {
    if (this.proto >= 1) this.byte(OP.EMPTY_DICT);
    else this.ascii('(d');
    this.objMemo.set(o, this.memoizeWrite());
    // Values are read with o[k]: Object.values() cost an extra array per dict (bench/pickle dicts_10k, ~9%).
    const keys = Object.keys(o);
    const n = keys.length;
    // The last cache used serves while the first key matches (records, and nested records with
    // the same keys, at any depth: bench/pickle dicts_10k and nested_200); otherwise this depth's
    // own cache, so that records of two kinds nested in each other each keep theirs. Any cache
    // is correct for any object: an entry is used only when its key is the same string.
    let cache = this.lastKeyCache;
    if (cache === undefined || cache.keys[0] !== keys[0]) {
      cache = this.keyCache[this.depth];
      if (cache === undefined) {
        cache = { keys: [], idx: [] };
        this.keyCache[this.depth] = cache;
      }
      this.lastKeyCache = cache;
    }
    let i = 0;
    let k = '';
    try {
      if (this.proto === 0) {
        for (; i < n; i++) {
          k = keys[i] as string;
          this.saveStr(k, true);
          this.save(o[k]);
          this.byte(OP.SETITEM);
        }
        return;
      }
      while (i < n) {
        const end = Math.min(n, i + BATCHSIZE);
        if (n === 1) {
          k = keys[i] as string;
          this.saveKey(cache, i, k);
          this.save(o[k]);
          this.byte(OP.SETITEM);
          i++;
        } else {
          this.byte(OP.MARK);
          for (; i < end; i++) {
            k = keys[i] as string;
            this.saveKey(cache, i, k);
            const x = o[k];
            // Strings and small ints inline (bench/pickle dicts_10k); the rest through save().
            if (typeof x === 'string') {
              this.boundary();
              this.saveStr(x, true);
            } else if (typeof x === 'number' && (x | 0) === x && x !== 0 && this.proto >= 1) {
              this.boundary();
              this.saveInt(x);
            } else if (typeof x === 'number' && !Number.isInteger(x)) {
              // Non-integral, NaN, ±Infinity: what save() writes for them.
              this.boundary();
              this.saveFloat(x);
            } else this.save(x);
          }
          this.byte(OP.SETITEMS);
        }
      }
      // CPython's batch_dict_exact loops while the last batch was full: a dict whose size is a
      // multiple of 1000 ends with an empty MARK SETITEMS.
      if (n > 1 && n % BATCHSIZE === 0) {
        this.byte(OP.MARK);
        this.byte(OP.SETITEMS);
      }
    } catch (e) {
      seg(e, keySeg(k));
    }
  }

  private batchSetItems(it: Iterator<[unknown, unknown]> | Iterable<readonly [unknown, unknown]>, size: number, exact: boolean): void {
    const iter = Symbol.iterator in it ? (it as Iterable<readonly [unknown, unknown]>)[Symbol.iterator]() : it;
    let key: unknown = '?';
    try {
      if (this.proto === 0) {
        for (let r = iter.next(); !r.done; r = iter.next()) {
          key = r.value[0];
          this.save(typeof key === 'object' && key !== null ? this.hashable(key) : key);
          this.save(r.value[1]);
          this.byte(OP.SETITEM);
        }
        return;
      }
      let left = size;
      while (left > 0) {
        const n = Math.min(left, BATCHSIZE);
        if (exact ? size === 1 : n === 1) {
          const r = iter.next();
          if (r.done) break;
          key = r.value[0];
          this.save(typeof key === 'object' && key !== null ? this.hashable(key) : key);
          this.save(r.value[1]);
          this.byte(OP.SETITEM);
        } else {
          this.byte(OP.MARK);
          for (let j = 0; j < n; j++) {
            const r = iter.next();
            if (r.done) break;
            key = r.value[0];
            this.save(typeof key === 'object' && key !== null ? this.hashable(key) : key);
            this.save(r.value[1]);
          }
          this.byte(OP.SETITEMS);
        }
        left -= n;
      }
      if (exact && size > 1 && size % BATCHSIZE === 0) {
        // See saveObject: the trailing empty batch of a full last batch.
        this.byte(OP.MARK);
        this.byte(OP.SETITEMS);
      }
    } catch (e) {
      seg(e, keySeg(key));
    }
  }

  /** Memo of hashable(): the same array or set, wherever it is a key or member, is written as one tuple or frozenset. */
  private hashables: Map<object, unknown> | undefined;

  /**
   * A dict key or set member in a form Python can hash: a list (a JS array that is not a Tuple)
   * becomes a tuple and a set (not a FrozenSet) a frozenset, recursively through tuples and
   * frozensets, so that `dumps(loads(p))` of a dict with tuple or frozenset keys in default mode
   * (where they decode to arrays and Sets) is a pickle CPython loads. Tuples and FrozenSets that
   * hold nothing to convert are kept as they are (exact mode writes the same bytes as before).
   * A value that contains itself is left as it is.
   */
  private hashable(k: object): unknown {
    if (!(Array.isArray(k) || k instanceof Set) || isReducible(k)) return k;
    const memo = (this.hashables ??= new Map());
    const hit = memo.get(k);
    if (hit !== undefined) return hit === IN_PROGRESS ? k : hit;
    memo.set(k, IN_PROGRESS);
    const src = Array.isArray(k) ? (k as unknown[]) : [...k];
    let changed = !(k instanceof Tuple || k instanceof FrozenSet);
    const items = new Array<unknown>(src.length);
    for (let i = 0; i < src.length; i++) {
      const x = src[i];
      const y = typeof x === 'object' && x !== null ? this.hashable(x) : x;
      if (y !== x) changed = true;
      items[i] = y;
    }
    const out = !changed ? k : Array.isArray(k) ? tupleOf(items) : new FrozenSet(items);
    memo.set(k, out);
    return out;
  }

  /** The members of a set, each as hashable() makes it. */
  private hashableItems(s: Set<unknown>): unknown[] {
    const out: unknown[] = [];
    for (const x of s) out.push(typeof x === 'object' && x !== null ? this.hashable(x) : x);
    return out;
  }

  private saveSet(s: Set<unknown>): void {
    if (this.proto < 4) {
      this.saveReduceRaw(['builtins', 'set'], [this.hashableItems(s)], 'reduce', s);
      return;
    }
    this.byte(OP.EMPTY_SET);
    this.objMemo.set(s, this.memoizeWrite());
    const items = this.hashableItems(s);
    let i = 0;
    try {
      while (i < items.length) {
        const end = Math.min(items.length, i + BATCHSIZE);
        this.byte(OP.MARK);
        for (; i < end; i++) this.save(items[i]);
        this.byte(OP.ADDITEMS);
      }
      // CPython's save_set also loops while the last batch was full.
      if (items.length > 0 && items.length % BATCHSIZE === 0) {
        this.byte(OP.MARK);
        this.byte(OP.ADDITEMS);
      }
    } catch (e) {
      seg(e, `{${i}}`);
    }
  }

  private saveFrozenSet(s: Set<unknown>): void {
    if (this.proto < 4) {
      this.saveReduceRaw(['builtins', 'frozenset'], [this.hashableItems(s)], 'reduce', s);
      return;
    }
    this.byte(OP.MARK);
    let i = 0;
    try {
      for (const x of s) {
        this.save(typeof x === 'object' && x !== null ? this.hashable(x) : x);
        i++;
      }
    } catch (e) {
      seg(e, `{${i}}`);
    }
    const m = this.objMemo.get(s);
    if (m !== undefined) {
      this.byte(OP.POP_MARK);
      this.get(m);
      return;
    }
    this.byte(OP.FROZENSET);
    this.objMemo.set(s, this.memoizeWrite());
  }

  // Every place where CPython's pickler calls save() checks the frame boundary first, so the
  // helpers that write sub-objects directly call boundary() where save() would have run.
  private saveGlobal(module: string, name: string): void {
    this.boundary();
    const key = `${module}\0${name}`;
    const m = this.globalMemo.get(key);
    if (m !== undefined) return this.get(m);
    if (this.proto >= 4) {
      this.boundary();
      this.saveStr(module, true);
      this.boundary();
      this.saveStr(name, true);
      this.byte(OP.STACK_GLOBAL);
    } else {
      const [mm, nn] = this.proto < 3 ? mapPy3Global(module, name) : [module, name];
      if (/\n/.test(mm + nn)) throw new PathError('global names cannot contain newlines');
      this.byte(OP.GLOBAL);
      this.raw(Buffer.from(`${mm}\n${nn}\n`, 'utf8'));
    }
    this.globalMemo.set(key, this.memoizeWrite());
  }

  /** A reduction whose args are a plain (temporary) tuple of values. */
  private saveReduceRaw(fn: [string, string], args: unknown[], via: 'reduce', obj?: object): void {
    this.saveGlobal(fn[0], fn[1]);
    this.saveArgsTuple(args);
    this.byte(OP.REDUCE);
    void via;
    if (obj) this.objMemo.set(obj, this.memoizeWrite());
  }

  private saveArgsTuple(args: readonly unknown[]): void {
    this.boundary();
    this.saveTuple(tupleOf(args));
  }

  private saveReduction(obj: object, r: Reduction): void {
    const via = r.via ?? 'reduce';
    const proto = this.proto;
    const cls = (): void => {
      if (r.module === '' && r.name === '') throw new PathError('cannot pickle a placeholder whose callable is not a global');
      this.saveGlobal(r.module, r.name);
    };
    const callable = (obj as { callable?: unknown }).callable;
    const saveCallable = (): void => {
      if (callable !== undefined && !(callable instanceof PyGlobal)) this.save(callable);
      else cls();
    };
    try {
      if (via === 'inst' || via === 'obj') {
        this.byte(OP.MARK);
        if (proto >= 1) {
          saveCallable();
          for (const a of r.args) this.save(a);
          this.byte(OP.OBJ);
        } else {
          for (const a of r.args) this.save(a);
          const [mm, nn] = mapPy3Global(r.module, r.name);
          this.byte(OP.INST);
          this.raw(Buffer.from(`${mm}\n${nn}\n`, 'utf8'));
        }
      } else if (via === 'newobj' || (via === 'newobj_ex' && !r.kwargs?.size)) {
        if (proto >= 2) {
          saveCallable();
          this.saveArgsTuple(r.args);
          this.byte(OP.NEWOBJ);
        } else {
          this.saveGlobal('copyreg', '__newobj__');
          const t = new Tuple<unknown>();
          t.push(callable instanceof PyGlobal || callable === undefined ? new PyGlobal(r.module, r.name) : callable);
          for (const a of r.args) t.push(a);
          this.saveTuple(t);
          this.byte(OP.REDUCE);
        }
      } else if (via === 'newobj_ex') {
        if (proto >= 4) {
          saveCallable();
          this.saveArgsTuple(r.args);
          this.save(r.kwargs);
          this.byte(OP.NEWOBJ_EX);
        } else {
          this.saveGlobal('copyreg', '__newobj_ex__');
          const inner = new Tuple<unknown>();
          for (const a of r.args) inner.push(a);
          const t = new Tuple<unknown>();
          t.push(callable instanceof PyGlobal || callable === undefined ? new PyGlobal(r.module, r.name) : callable, inner, r.kwargs);
          this.saveTuple(t);
          this.byte(OP.REDUCE);
        }
      } else {
        saveCallable();
        this.saveArgsTuple(r.args);
        this.byte(OP.REDUCE);
      }
    } catch (e) {
      seg(e, '<args>');
    }
    const m = this.objMemo.get(obj);
    if (m !== undefined) {
      this.byte(OP.POP);
      this.get(m);
    } else this.objMemo.set(obj, this.memoizeWrite());
    try {
      if (r.listItems?.length) this.batchAppends(r.listItems, false);
      if (r.dictItems) {
        const entries = [...r.dictItems];
        if (entries.length) this.batchSetItems(entries, entries.length, false);
      }
      if (r.state !== undefined) {
        this.save(r.state);
        this.byte(OP.BUILD);
      }
    } catch (e) {
      seg(e, '<state>');
    }
  }
}

/**
 * A JS `Date` as CPython's pickle of the naive `datetime.datetime` of its UTC wall clock. An
 * invalid Date, or one outside Python's years 1–9999, has no such datetime: its 10 state bytes
 * would be zeros or a wrapped year (a Date in year -5 loaded as year 65531).
 */
function dateReduction(d: Date): Reduction {
  if (Number.isNaN(d.getTime())) throw new PathError('cannot pickle an invalid Date');
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) throw new PathError(`cannot pickle a Date in year ${y}: Python's datetime takes years 1 to 9999`);
  return PyDatetime.fromDate(d)[pyReduce]();
}

/** A {@link Tuple} copy of `items` (sized construction: push() on an Array subclass is slow in V8). */
function tupleOf(items: readonly unknown[]): Tuple<unknown> {
  const n = items.length;
  const t = new Tuple<unknown>(n);
  for (let i = 0; i < n; i++) t[i] = items[i];
  return t;
}

/**
 * Python's `repr(float)`.
 * @example
 * ```ts
 * pyFloatRepr(1);      // '1.0'
 * pyFloatRepr(1e22);   // '1e+22'
 * pyFloatRepr(0.1);    // '0.1'
 * ```
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const e = x.toExponential(); // shortest round-trip digits
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(e);
  if (!m) return String(x);
  const sign = m[1] as string;
  const digits = (m[2] as string) + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp < -4 || exp >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

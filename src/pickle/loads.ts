/**
 * The unpickler: a VM over the opcode stream with a value stack, a mark stack and a memo, like
 * CPython's. Nothing is ever imported or executed: globals resolve to known models, to a user
 * hook, or to inert placeholders.
 * @module
 */
import { UnpicklingError } from '../errors.js';
import { resolveConstruct, mapPy2Global, type ConstructKind } from './known.js';
import { ByteArray, FrozenSet, PyFloat, PyGlobal, PyObject, PyPersistentId, Tuple, pySetState } from './model.js';
import { arrayPayload, takesArrayView } from './numpy.js';
import { OP, OPCODE_BY_CODE } from './opcodes.js';
import { readFloat64BE } from './float64.js';
import { chargeCopies, withCopyBudget } from './budget.js';
import { decodeLong, decodeUtf8Surrogatepass, escapeDecode, normalizeInt, parseFloatText, rawUnicodeEscapeDecode } from './text.js';

/**
 * A user mapping of one Python class to JS (see {@link LoadsOptions.findClass}).
 * @example
 * ```ts
 * class Point { constructor(public x = 0, public y = 0) {} }
 * const value = loads(data, {
 *   findClass: (module, name) => (module === 'app.geometry' && name === 'Point' ? { create: (args) => new Point(...(args as number[])) } : undefined),
 * });
 * ```
 */
export interface PyClassHook {
  /** Create the instance from the pickled arguments. */
  create(args: unknown[], info: { via: ConstructKind; kwargs: Map<string, unknown> | undefined }): unknown;
  /** Apply BUILD state (Python's `__setstate__`); without it the object's `[pySetState]` or a property copy is used. */
  setState?(obj: unknown, state: unknown): void;
}

/**
 * Decoder limits. Every one is checked before the memory it guards is allocated.
 * @example
 * ```ts
 * // Data from an untrusted peer: tighter limits than the defaults.
 * const value = loads(data, { maxDepth: 1_000, maxMemo: 100_000, maxLength: 16 << 20, maxIntDigits: 4_300 });
 * ```
 */
export interface LoadsLimits {
  /** Maximum MARK nesting (default 100,000). */
  maxDepth?: number;
  /** Maximum memo entries (default 10,000,000). */
  maxMemo?: number;
  /** Maximum length of one str/bytes/collection argument in bytes or items (default 2**31 - 1). */
  maxLength?: number;
  /** Maximum decimal digits of a text INT/LONG (default 1,000,000). */
  maxIntDigits?: number;
  /** Maximum bytes of a LONG1/LONG4 (default 16 MiB). */
  maxIntBytes?: number;
}

/**
 * Options of {@link loads}.
 * @example
 * ```ts
 * const value = loads(data, { exact: true, encoding: 'latin1' });
 * ```
 */
export interface LoadsOptions extends LoadsLimits {
  /** Keep every Python type (see the README); default false gives idiomatic JS. */
  exact?: boolean;
  /**
   * How Python 2 `str` (STRING, BINSTRING, SHORT_BINSTRING) is decoded: `'ASCII'` (default, like
   * Python 3's `pickle.loads`), `'latin1'`, `'utf-8'`, or `'bytes'` to keep them as Buffers.
   */
  encoding?: string;
  /** Map a Python class to your own JS class; return undefined for the default behaviour. */
  findClass?: (module: string, name: string) => PyClassHook | undefined;
  /** Resolve persistent ids; by default they become {@link PyPersistentId}. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Out-of-band buffers for NEXT_BUFFER (protocol 5). */
  buffers?: Iterable<Uint8Array>;
  /** The copyreg extension registry for EXT1/EXT2/EXT4: code → [module, name]. */
  extensions?: ReadonlyMap<number, readonly [string, string]>;
  /**
   * The input belongs to the decoder (default false: the input is never written). NumPy array
   * data is a view on the input when aligned, else a copy; with `inPlace` a misaligned payload is
   * moved a few bytes back over opcodes already read instead of being copied out, so it is a view too.
   */
  inPlace?: boolean;
  /**
   * Copy every `bytes` out of the input (default false: a `bytes` of 64 KiB or more is a view on
   * the input, like NumPy array data, so keep the input unmodified while you
   * use it; smaller ones and every `bytearray` are always copies).
   */
  copyBytes?: boolean;
}

/**
 * Work allowed, per input byte (plus a base), for resolving promoted dicts in what hooks receive
 * when such a dict may still be referenced from inside decoded values (see Unpickler.promote()).
 */
const HOOK_WALK_PER_BYTE = 16;
const HOOK_WALK_BASE = 1 << 20;

/**
 * Size from which a `bytes` is a view on the input instead of a copy (64 KiB: CPython writes
 * payloads this large outside frames; bench/pickle bytes_16m).
 */
const BYTES_VIEW_MIN = 64 * 1024;

/** Defaults of {@link LoadsLimits} (SECURITY.md lists them). */
export const DEFAULT_LIMITS: Readonly<Required<LoadsLimits>> = {
  maxDepth: 100_000,
  maxMemo: 10_000_000,
  maxLength: 2 ** 31 - 1,
  maxIntDigits: 1_000_000,
  maxIntBytes: 16 * 1024 * 1024,
};

class Truncated extends Error {}

const TRUNC = 'pickle data was truncated';
/** Slots per memo chunk (see Unpickler.memo). */
const MEMO_CHUNK = 4096;
const UNDERFLOW = 'unpickling stack underflow';

const OBJ_PROTO = Object.prototype;

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/**
 * Per memo index of the first memo chunk, the generation (one per Unpickler) whose string there
 * was replaced by its interned copy. Shared by all unpicklers, so a nested loads (from a hook) can
 * overwrite the outer one's marks: that costs the outer one a second interning, never a wrong value.
 */
const internedAt = new Uint32Array(MEMO_CHUNK);
let internGenLast = 0;

function nextInternGen(): number {
  if (++internGenLast === 0x100000000) {
    internedAt.fill(0);
    internGenLast = 1;
  }
  return internGenLast;
}

/** The internalized copy of `s` (the string V8 keeps once for property names). */
function internString(s: string): string {
  return Object.keys({ [s]: 0 })[0] ?? s;
}

/**
 * `o[k] = v` for the key/value pairs `stack[i…n)`, whose keys are strings other than `__proto__`.
 * The first eight pairs each have a store site of their own: records that share their keys in the
 * same order (a list of dicts) then keep every site on one hidden-class transition, where a single
 * site going over all keys is megamorphic (bench/pickle dicts_10k loads: 3.2 → 2.4 ms, with
 * internHead(); a process that has decoded hundreds of dict shapes before pays about 7% more
 * than the single site did: measured with 200 shapes).
 */
function storePairs(o: Record<string, unknown>, stack: unknown[], i: number, n: number): void {
  if (i < n) o[stack[i] as string] = stack[i + 1];
  if ((i += 2) < n) o[stack[i] as string] = stack[i + 1];
  if ((i += 2) < n) o[stack[i] as string] = stack[i + 1];
  if ((i += 2) < n) o[stack[i] as string] = stack[i + 1];
  if ((i += 2) < n) o[stack[i] as string] = stack[i + 1];
  if ((i += 2) < n) o[stack[i] as string] = stack[i + 1];
  if ((i += 2) < n) o[stack[i] as string] = stack[i + 1];
  if ((i += 2) < n) o[stack[i] as string] = stack[i + 1];
  for (i += 2; i < n; i += 2) o[stack[i] as string] = stack[i + 1];
}

/**
 * Shrink the stack; popping a few items avoids V8 trimming the backing store on every batch, and
 * setting `length` is a runtime call (5% of bench/pickle nested_200 loads when TUPLE2 did it).
 */
function truncate(stack: unknown[], len: number): void {
  while (stack.length > len) stack.pop();
}

function isPlainDict(o: unknown): o is Record<string, unknown> {
  return typeof o === 'object' && o !== null && Object.getPrototypeOf(o) === OBJ_PROTO;
}

/**
 * The capacity to give a list being filled (APPENDS) that needs `need` slots and has `len` items:
 * `factor`× its length (64 when `bytes` is measured, 4 when it is a guess), but no more than it
 * will need if the `rest` of the input holds items as densely as this batch (`items` in `bytes`).
 * A 1M-item list then goes 1k → 64k → 1M slots: every slot
 * of every intermediate array is touched once (filled with holes, then copied), and fresh memory
 * costs a page fault per 4 KiB (1.7 µs each on this VM). With 4× steps it touched ~1.34M slots,
 * with doubling ~2M (bench/pickle ints_1m: 23 → 18 → 10.8 ms). The 64× bound limits what a short
 * list followed by a large payload over-allocates. Never more slots than input bytes left.
 */
function listCapacity(len: number, need: number, items: number, bytes: number, rest: number, factor: number): number {
  const dense = need + Math.ceil((rest * items) / Math.max(1, bytes)) + 16;
  return Math.max(need, Math.min(len * factor, dense, need + rest));
}

/**
 * Push the ints of the complete BININT1/BININT2/BININT opcodes that start at `pos` and return
 * the position of the first other (or incomplete) opcode, which the VM then executes as usual.
 * A list batch of ints is thus one loop rather than one VM dispatch per item
 * (bench/pickle ints_1m).
 */
function intRun(buf: Buffer, pos: number, end: number, stack: unknown[]): number {
  for (;;) {
    const op = buf[pos];
    if (op === 0x4b && pos + 2 <= end) {
      stack.push(buf[pos + 1] as number);
      pos += 2;
    } else if (op === 0x4d && pos + 3 <= end) {
      stack.push((buf[pos + 1] as number) | ((buf[pos + 2] as number) << 8));
      pos += 3;
    } else if (op === 0x4a && pos + 5 <= end) {
      stack.push((buf[pos + 1] as number) | ((buf[pos + 2] as number) << 8) | ((buf[pos + 3] as number) << 16) | ((buf[pos + 4] as number) << 24));
      pos += 5;
    } else return pos;
  }
}

const utf8Slice = (b: Buffer, s: number, e: number): string =>
  (b as unknown as { utf8Slice(s: number, e: number): string }).utf8Slice(s, e);
const latin1Slice = (b: Buffer, s: number, e: number): string =>
  (b as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(s, e);

/**
 * Decode one pickle. Throws {@link UnpicklingError} (with the byte offset, and `truncated` when
 * the input ended early) on malformed input.
 * @example
 * ```ts
 * loads(Buffer.from('80047d942e', 'hex'));             // {}
 * loads(bytes, { exact: true });                       // value model: Tuple, PyFloat, Map, …
 * ```
 */
export function loads(data: Uint8Array, options: LoadsOptions = {}): unknown {
  return new Unpickler(data, options).load();
}

class Unpickler {
  private readonly buf: Buffer;
  private dataView: DataView | undefined;
  private pos = 0;
  private readonly end: number;
  private readonly exact: boolean;
  private readonly maxDepth: number;
  private readonly maxMemo: number;
  private readonly maxLength: number;
  private readonly maxIntDigits: number;
  private readonly maxIntBytes: number;
  /**
   * The memo: indexes 0…denseLen-1 in chunks of MEMO_CHUNK slots, filled in order by
   * MEMOIZE/PUT; any other index (out of order, huge) in `memoSparse`. Chunks instead of one array
   * that grows: the big array was copied at every growth and, once in old space, made each store
   * a remembered-set insert (bench/pickle dicts_10k: 40k memo entries).
   */
  private readonly memo: unknown[][] = [[]];
  /** memo[0], for BINGET and LONG_BINGET below MEMO_CHUNK. */
  private readonly memoHead: unknown[] = this.memo[0] as unknown[];
  /** The chunk being filled. */
  private memoTail: unknown[] = this.memoHead;
  private denseLen = 0;
  private memoSparse: Map<number, unknown> | undefined;
  /** Entries in the memo (dense and sparse). */
  private memoCount = 0;
  /**
   * Dicts turned into Maps (default mode, when a key that is not a str arrived): the plain object
   * → its Map. See promote() for where the old object can still be referenced and how each such
   * reference is replaced.
   */
  private promoted: Map<object, Map<unknown, unknown>> | undefined;
  /** Plain-object dicts fetched from the memo or duplicated with DUP: they may be referenced from several places. */
  private sharedDicts: Set<object> | undefined;
  /**
   * A dict in `sharedDicts` was promoted: some list, tuple, dict, set or placeholder may still hold
   * the plain object, so values are resolved before anything observes them (see promote()).
   */
  private staleRisk = false;
  /** Work left for resolving promoted dicts in values given to hooks (see resolveForHook()). */
  private hookWalkLeft: number;
  /**
   * Objects that hooks made (findClass's `create`, `persistentLoad`) → the hook when it has a
   * `setState`. BUILD may apply state only to these, to placeholders and to models that take state.
   */
  private userObjects: Map<object, PyClassHook | undefined> | undefined;
  /** Unused slots reserved by lists being filled (`growing`), all together; see reserveList(). */
  private slack = 0;
  private buffers: Iterator<Uint8Array> | undefined;
  private readonly copyBytes: boolean;
  /** End of the last payload returned as a view (an inPlace array move must stay after it). */
  private viewedUpTo = 0;

  constructor(
    data: Uint8Array,
    private readonly opts: LoadsOptions,
  ) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.end = this.buf.length;
    this.exact = opts.exact === true;
    this.maxDepth = opts.maxDepth ?? DEFAULT_LIMITS.maxDepth;
    this.maxMemo = opts.maxMemo ?? DEFAULT_LIMITS.maxMemo;
    this.maxLength = opts.maxLength ?? DEFAULT_LIMITS.maxLength;
    this.maxIntDigits = opts.maxIntDigits ?? DEFAULT_LIMITS.maxIntDigits;
    this.maxIntBytes = opts.maxIntBytes ?? DEFAULT_LIMITS.maxIntBytes;
    this.buffers = opts.buffers ? opts.buffers[Symbol.iterator]() : undefined;
    this.copyBytes = opts.copyBytes === true;
    this.hookWalkLeft = HOOK_WALK_PER_BYTE * this.end + HOOK_WALK_BASE;
  }

  /** A DataView of the input, made when a rare opcode first needs one. */
  private get dv(): DataView {
    return (this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new Truncated('pickle data was truncated');
  }

  private length(pos: number, n: number): void {
    if (n > this.maxLength) throw new Error(`length ${n} exceeds the maxLength limit`);
    if (pos + n > this.end) throw new Truncated(TRUNC);
  }

  /**
   * Short str fast path: pure ASCII of at most 12 bytes through `String.fromCharCode` with fixed
   * arity, 2–4× faster than the native slicers for such strings (bench/pickle dicts_10k; the
   * 12-byte bound covers typical dict keys and short values).
   */
  private shortStr(s: number, n: number): string {
    const b = this.buf;
    let or = 0;
    for (let i = s; i < s + n; i++) or |= b[i] as number;
    if (or > 127) return this.strSlow(s, s + n);
    switch (n) {
      case 0:
        return '';
      case 1:
        return String.fromCharCode(b[s] as number);
      case 2:
        return String.fromCharCode(b[s] as number, b[s + 1] as number);
      case 3:
        return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number);
      case 4:
        return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number);
      case 5:
        return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number);
      case 6:
        return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number, b[s + 5] as number);
      case 7:
        return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number, b[s + 5] as number, b[s + 6] as number);
      case 8:
        return String.fromCharCode(b[s] as number, b[s + 1] as number, b[s + 2] as number, b[s + 3] as number, b[s + 4] as number, b[s + 5] as number, b[s + 6] as number, b[s + 7] as number);
      default:
        return latin1Slice(b, s, s + n);
    }
  }

  private readLine(): number {
    const i = this.buf.indexOf(10, this.pos);
    if (i < 0) throw new Truncated('pickle data was truncated (no newline)');
    return i;
  }

  private lineString(): string {
    const nl = this.readLine();
    const s = latin1Slice(this.buf, this.pos, nl);
    this.pos = nl + 1;
    return s;
  }

  private str(start: number, end: number): string {
    // Up to 64 bytes an ASCII scan plus latin1Slice beats utf8Slice (bench/pickle dicts_10k).
    if (end - start <= 64) {
      const b = this.buf;
      let or = 0;
      for (let i = start; i < end; i++) or |= b[i] as number;
      if (or < 128) return latin1Slice(b, start, end);
    }
    return this.strSlow(start, end);
  }

  private strSlow(start: number, end: number): string {
    const s = utf8Slice(this.buf, start, end);
    if (s.indexOf('\ufffd') >= 0) return decodeUtf8Surrogatepass(this.buf, start, end);
    return s;
  }

  private bytes(start: number, end: number): Buffer {
    const b = Buffer.allocUnsafe(end - start);
    this.buf.copy(b, 0, start, end);
    return b;
  }

  /** `opts.encoding` normalized ('latin-1' → 'latin1'), on the first Python 2 str: most pickles hold none. */
  private encodingKey: string | undefined;

  private py2str(b: Buffer): unknown {
    this.encodingKey ??= (this.opts.encoding ?? 'ASCII').toLowerCase().replace(/[-_]/g, '');
    switch (this.encodingKey) {
      case 'bytes':
        return b;
      case 'ascii': {
        for (const c of b) if (c > 127) throw new Error("'ascii' codec can't decode a Python 2 str; pass encoding: 'latin1' or 'bytes'");
        return b.toString('latin1');
      }
      case 'latin1':
      case 'latin':
      case 'iso88591':
        return b.toString('latin1');
      case 'utf8':
        return decodeUtf8Surrogatepass(b, 0, b.length);
      default:
        return new TextDecoder(this.opts.encoding, { fatal: true }).decode(b);
    }
  }

  private memoPut(idx: number, v: unknown): void {
    if (idx < 0 || !Number.isInteger(idx)) throw new Error('negative PUT argument');
    if (idx < this.denseLen) this.memoSet(idx, v);
    else if (idx === this.denseLen && this.memoSparse === undefined) {
      if (++this.memoCount > this.maxMemo) throw new Error('memo exceeds the maxMemo limit');
      this.memoAppend(v);
    } else {
      const sparse = (this.memoSparse ??= new Map());
      if (!sparse.has(idx) && ++this.memoCount > this.maxMemo) throw new Error('memo exceeds the maxMemo limit');
      sparse.set(idx, v);
    }
  }

  /** Append at index denseLen (the caller counted the entry). */
  private memoAppend(v: unknown): void {
    let tail = this.memoTail;
    if (this.denseLen > 0 && (this.denseLen & (MEMO_CHUNK - 1)) === 0) {
      // Chunks after the first are full-sized at once: pickles that get here are big.
      tail = new Array<unknown>(MEMO_CHUNK);
      this.memo.push(tail);
      this.memoTail = tail;
    }
    tail[this.denseLen & (MEMO_CHUNK - 1)] = v;
    this.denseLen++;
  }

  /** Replace an existing entry. */
  private memoSet(idx: number, v: unknown): void {
    if (idx < MEMO_CHUNK) internedAt[idx] = 0;
    if (idx < this.denseLen) (this.memo[Math.floor(idx / MEMO_CHUNK)] as unknown[])[idx % MEMO_CHUNK] = v;
    else this.memoSparse?.set(idx, v);
  }

  /**
   * This unpickler's mark in `internedAt`. A string fetched again from the memo is most often a
   * dict key, and V8 can only give a store site one hidden-class transition when its key is an
   * internalized string; the decoder's own strings are not, so every keyed store took the generic
   * path (bench/pickle dicts_10k loads). Such a string is replaced by its interned copy once.
   */
  private readonly internGen = nextInternGen();

  /** GET: the memo entry `idx`; a string in the first chunk is interned the first time it is fetched. */
  private memoFetch(idx: number): unknown {
    const v = idx < this.denseLen && idx < MEMO_CHUNK ? this.memoHead[idx] : undefined;
    if (v === undefined) return this.memoGet(idx);
    if (typeof v === 'string') {
      if (v.length > 1 && internedAt[idx] !== this.internGen) return this.internHead(idx, v);
      return v;
    }
    if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === OBJ_PROTO) return this.sharedDict(v);
    return v;
  }

  /**
   * A plain-object dict pushed a second time (GET, DUP): its Map if it was promoted since it was
   * memoized (the memo is never rewritten), else the dict, now known to be referenced twice.
   */
  private sharedDict(d: object): object {
    const m = this.promoted?.get(d);
    if (m !== undefined) return m;
    (this.sharedDicts ??= new Set()).add(d);
    return d;
  }

  private internHead(i: number, v: string): string {
    const k = internString(v);
    this.memoHead[i] = k;
    internedAt[i] = this.internGen;
    return k;
  }

  private memoGet(idx: number): unknown {
    const v = idx < this.denseLen ? (this.memo[Math.floor(idx / MEMO_CHUNK)] as unknown[])[idx % MEMO_CHUNK] : this.memoSparse?.get(idx);
    if (v === undefined) throw new Error(`memo key ${idx} missing`);
    return isPlainDict(v) ? this.sharedDict(v) : v;
  }

  private tuple(items: unknown[]): unknown {
    if (!this.exact) return items;
    // Sized construction and index stores: push() on an Array subclass leaves V8's fast path.
    const n = items.length;
    const t = new Tuple<unknown>(n);
    for (let i = 0; i < n; i++) t[i] = items[i];
    return t;
  }

  /**
   * The tuple of the items `stack[m]`, `stack[m+1]`, … (the stack is left as it is). Short
   * tuples are array literals: `stack.slice` was a sixth of bench/pickle tuples_10k loads.
   */
  private tupleFrom(stack: unknown[], m: number): unknown {
    const n = stack.length - m;
    if (this.exact) {
      const t = new Tuple<unknown>(n);
      for (let i = 0; i < n; i++) t[i] = stack[m + i];
      return t;
    }
    switch (n) {
      case 0:
        return [];
      case 1:
        return [stack[m]];
      case 2:
        return [stack[m], stack[m + 1]];
      case 3:
        return [stack[m], stack[m + 1], stack[m + 2]];
      case 4:
        return [stack[m], stack[m + 1], stack[m + 2], stack[m + 3]];
      case 5:
        return [stack[m], stack[m + 1], stack[m + 2], stack[m + 3], stack[m + 4]];
      case 6:
        return [stack[m], stack[m + 1], stack[m + 2], stack[m + 3], stack[m + 4], stack[m + 5]];
      default:
        return stack.slice(m);
    }
  }

  private emptyDict(): unknown {
    return this.exact ? new Map() : {};
  }

  /**
   * Turn the plain-object dict `o` (at `stack[at]`, the target of a SETITEM(S)) into a Map: a key
   * that is not a str arrived. Nothing is scanned here (scanning the stack and memo at every
   * promotion made N promotions under a deep stack quadratic). Instead:
   * - the target slot gets the Map, and the memo, never rewritten, answers a GET of the old dict
   *   with its Map (sharedDict()), so a memo slot that a PUT has since reassigned stays as it is;
   * - a dict that was never pushed a second time (GET, DUP) has no other reference: nothing was
   *   built from it yet. That is every dict CPython writes, except one reachable from its own items
   *   (`d = {}; d['a'] = [d]; d[1] = 2`);
   * - otherwise (`staleRisk`) lists, tuples, dicts, sets or placeholders may still hold the plain
   *   object. Each is fixed before anything can observe it: the value returned at STOP by one walk
   *   over it (fixPromoted(), linear), what the builtins handlers and BUILD read by looking it up
   *   (resolve()), and what a hook receives by a walk over that (resolveForHook()).
   */
  private promote(o: Record<string, unknown>, stack: unknown[], at: number): Map<unknown, unknown> {
    const m = new Map<unknown, unknown>(Object.entries(o));
    (this.promoted ??= new Map()).set(o, m);
    if (this.sharedDicts?.has(o)) this.staleRisk = true;
    stack[at] = m;
    return m;
  }

  /** `v`, or the Map that replaced it when it is a promoted dict. */
  private resolve(v: unknown): unknown {
    return this.promoted !== undefined && typeof v === 'object' && v !== null ? (this.promoted.get(v) ?? v) : v;
  }

  /**
   * `v` as a hook may see it: when some promoted dict may still be referenced from inside
   * decoded values, a walk over `v` replaces it there (in place: the values are the decoder's).
   * The walks are charged to `hookWalkLeft`: hooks that receive the same large values again and
   * again would otherwise make decoding quadratic.
   */
  private resolveForHook(v: unknown): unknown {
    if (!this.staleRisk) return this.resolve(v);
    return this.fixPromoted(v, true);
  }

  /**
   * Replace every promoted dict reachable from `root` by its Map, in place, and return `root`'s
   * replacement. Arrays, plain objects, Maps and Sets are entered wherever they are; other
   * objects (placeholders, models) only when the decoder made them, never those a hook made
   * (their fields are theirs). Each object is visited once: linear in what is reachable.
   */
  private fixPromoted(root: unknown, charged: boolean): unknown {
    const promoted = this.promoted as Map<object, Map<unknown, unknown>>;
    const users = this.userObjects;
    const seen = new Set<object>();
    const todo: object[] = [];
    const visit = (v: unknown): unknown => {
      if (typeof v !== 'object' || v === null) return v;
      const r = promoted.get(v) ?? v;
      if (!seen.has(r)) {
        seen.add(r);
        todo.push(r);
      }
      return r;
    };
    const out = visit(root);
    while (todo.length > 0) {
      const o = todo.pop() as object;
      let n = 1;
      if (Array.isArray(o)) {
        n += o.length;
        for (let i = 0; i < o.length; i++) {
          const x: unknown = o[i];
          if (typeof x === 'object' && x !== null) {
            const y = visit(x);
            if (y !== x) o[i] = y;
          }
        }
      } else if (o instanceof Map) {
        n += o.size;
        let rekey = false;
        for (const [k, x] of o) {
          if (visit(k) !== k) rekey = true;
          if (typeof x === 'object' && x !== null) {
            const y = visit(x);
            if (y !== x) o.set(k, y);
          }
        }
        if (rekey) {
          // A promoted dict as a key (never from Python: dicts are unhashable): rebuild in order.
          const entries = [...o];
          o.clear();
          for (const [k, x] of entries) o.set(visit(k), x);
        }
      } else if (o instanceof Set) {
        n += o.size;
        let change = false;
        for (const x of o) if (visit(x) !== x) change = true;
        if (change) {
          const xs = [...o];
          o.clear();
          for (const x of xs) o.add(visit(x));
        }
      } else if (!ArrayBuffer.isView(o) && (isPlainDict(o) || users === undefined || !users.has(o)) && !Object.isFrozen(o)) {
        const rec = o as Record<string, unknown>;
        const keys = Object.keys(rec);
        n += keys.length;
        for (const k of keys) {
          const x = rec[k];
          if (typeof x === 'object' && x !== null) {
            const y = visit(x);
            if (y !== x) setKey(rec, k, y);
          }
        }
      }
      if (charged && (this.hookWalkLeft -= n) < 0) {
        throw new Error(
          `resolving dicts with non-str keys in values given to hooks took more than ${HOOK_WALK_PER_BYTE} steps per input byte (decode with exact: true, where dicts are Maps from the start)`,
        );
      }
    }
    return out;
  }

  private setItems(stack: unknown[], target: unknown, from: number, targetIndex: number): void {
    const n = stack.length;
    if ((n - from) % 2 !== 0) throw new Error('odd number of items for SETITEMS');
    if (this.promoted !== undefined) {
      // The plain object of a promoted dict, pushed before its promotion: set into its Map.
      const m = this.promoted.get(target as object);
      if (m !== undefined) stack[targetIndex] = target = m;
    }
    if (target instanceof Map) {
      for (let i = from; i < n; i += 2) target.set(stack[i], stack[i + 1]);
    } else if (isPlainDict(target)) {
      let i = from;
      while (i < n && typeof stack[i] === 'string' && stack[i] !== '__proto__') i += 2;
      if (i >= n) {
        storePairs(target, stack, from, n);
        truncate(stack, from);
        return;
      }
      // A key that is not a string, or is __proto__: pair by pair (promote() makes the dict a Map).
      i = from;
      for (; i < n; i += 2) {
        const k = stack[i];
        if (typeof k !== 'string') break;
        setKey(target, k, stack[i + 1]);
      }
      if (i < n) {
        const m = this.promote(target, stack, targetIndex);
        for (; i < n; i += 2) m.set(stack[i], stack[i + 1]);
      }
    } else if (target instanceof PyObject) {
      target.dictItems ??= new Map();
      for (let i = from; i < n; i += 2) target.dictItems.set(stack[i], stack[i + 1]);
    } else throw new Error('SETITEM target is not a dict');
    truncate(stack, from);
  }

  private appends(stack: unknown[], target: unknown, from: number): void {
    const n = stack.length;
    this.settle();
    if (Array.isArray(target) && !(target instanceof Tuple)) {
      for (let i = from; i < n; i++) target.push(stack[i]);
    } else if (target instanceof PyObject) {
      target.listItems ??= [];
      for (let i = from; i < n; i++) target.listItems.push(stack[i]);
    } else throw new Error('APPEND target is not a list');
    truncate(stack, from);
  }

  /**
   * Execute `MARK, BININT*…, APPENDS` (MARK already read, `pos` after it) when `target` is a list and
   * the batch is big: the ints go straight into the list, without the stack (bench/pickle ints_1m:
   * CPython writes a list of ints as such 1000-item batches). Returns the position after APPENDS,
   * or -1 (nothing done) for any other shape, which the VM then runs opcode by opcode.
   * The batch is counted before it is stored, so the list grows once per batch by the whole
   * batch's density; storing in one pass and growing mid-batch from the few items read since the
   * last growth fell short near the end of ints_1m and copied the 8 MB list again (11 → 19 ms).
   */
  private intBatch(target: unknown, pos: number): number {
    if (!Array.isArray(target) || target instanceof Tuple) return -1;
    const buf = this.buf;
    const end = this.end;
    let p = pos;
    let c = 0;
    for (;; c++) {
      const op = buf[p];
      if (op === 0x4b && p + 2 <= end) p += 2;
      else if (op === 0x4d && p + 3 <= end) p += 3;
      else if (op === 0x4a && p + 5 <= end) p += 5;
      else break;
    }
    const gl = this.growing?.get(target);
    // Same rule as APPENDS: small batches keep push() (through the VM), big ones the capacity path.
    if (p >= end || buf[p] !== 0x65 || (gl === undefined && c < 512)) return -1;
    let len = gl ?? target.length;
    const need = len + c;
    const before = target.length - len;
    if (need > target.length) target.length = this.reserveList(need, listCapacity(len, need, c, p + 1 - pos, end - p - 1, 64), before, end - p - 1);
    for (let q = pos; q < p; ) {
      const op = buf[q];
      if (op === 0x4b) {
        target[len++] = buf[q + 1] as number;
        q += 2;
      } else if (op === 0x4d) {
        target[len++] = (buf[q + 1] as number) | ((buf[q + 2] as number) << 8);
        q += 3;
      } else {
        target[len++] = (buf[q + 1] as number) | ((buf[q + 2] as number) << 8) | ((buf[q + 3] as number) << 16) | ((buf[q + 4] as number) << 24);
        q += 5;
      }
    }
    this.slack += target.length - len - before;
    (this.growing ??= new Map()).set(target, len);
    return p + 1;
  }

  /**
   * The capacity to give a list that needs `need` slots and asks for `cap` (listCapacity()),
   * when its unused slots are `before` now and `rest` input bytes are left. Every later item takes
   * at least one byte of input, so unused slots beyond `rest`, counted over all the lists being
   * filled, can never be used: without this bound K lists of two 512-item batches each reserved
   * 64× their length (a 4 MB input took 1 GiB).
   */
  private reserveList(need: number, cap: number, before: number, rest: number): number {
    return Math.min(cap, need + Math.max(0, rest - (this.slack - before)));
  }

  /** Lists whose capacity is ahead of their length while they are being filled: list → real length. */
  private growing: Map<unknown[], number> | undefined;
  /** Lists in `growing` filled by APPENDS: list → input position after its last batch. */
  private appendsAt: Map<unknown[], number> | undefined;

  /** Give every list being filled its real length (before anything can observe the lists). */
  private settle(): void {
    if (this.growing === undefined || this.growing.size === 0) return;
    for (const [list, len] of this.growing) list.length = len;
    this.growing.clear();
    this.appendsAt?.clear();
    this.slack = 0;
  }

  /**
   * REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ. The argument tuple is not copied for placeholders and
   * the builtins handlers (a decoded tuple never changes; `K × (GET GET REDUCE)` of one big
   * memoized tuple used to copy it K times); a hook gets a copy of its own, charged to the copy budget.
   */
  private construct(callable: unknown, args: unknown, kind: ConstructKind, kwargs?: unknown): unknown {
    this.settle();
    if (!Array.isArray(args)) throw new Error(`${kind} arguments must be a tuple`);
    const argv: unknown[] = args;
    if (this.promoted !== undefined) for (let i = 0; i < argv.length; i++) argv[i] = this.resolve(argv[i]);
    let kw: Map<string, unknown> | undefined;
    if (kwargs !== undefined) {
      const k = this.resolve(kwargs);
      if (k instanceof Map) kw = k as Map<string, unknown>;
      else if (isPlainDict(k)) {
        const e = Object.entries(k);
        chargeCopies(e.length);
        kw = new Map(e);
      } else throw new Error('NEWOBJ_EX kwargs must be a dict');
      if (kw.size === 0) kw = undefined;
    }
    if (callable instanceof PyGlobal) {
      const findClass = this.opts.findClass;
      // Protocols 0–1 write instances of classes without __reduce__ as
      // copyreg._reconstructor(cls, base, state): offer the class itself to findClass.
      const inner = argv[0];
      if (findClass && callable.module === 'copyreg' && callable.name === '_reconstructor' && argv.length === 3 && inner instanceof PyGlobal) {
        const hook = findClass(inner.module, inner.name);
        if (hook) {
          const state = argv[2];
          return this.hookCreate(hook, Array.isArray(state) ? state : state == null ? [] : [state], kind, kw);
        }
      }
      const hook = findClass?.(callable.module, callable.name);
      if (hook) return this.hookCreate(hook, argv, kind, kw);
      const known = resolveConstruct(callable.module, callable.name, kind, argv, kw, this.exact);
      if (known !== undefined) return this.made(known);
    }
    return new PyObject(callable, argv, kind, kw);
  }

  /** `hook.create` with a copy of the arguments (resolved, see resolveForHook()); the result is remembered as the hook's. */
  private hookCreate(hook: PyClassHook, args: readonly unknown[], kind: ConstructKind, kw: Map<string, unknown> | undefined): unknown {
    chargeCopies(args.length);
    const copy = this.resolveForHook(Array.from(args)) as unknown[];
    const obj = hook.create(copy, { via: kind, kwargs: kw === undefined ? undefined : (this.resolveForHook(kw) as Map<string, unknown>) });
    if (typeof obj === 'object' && obj !== null) (this.userObjects ??= new Map()).set(obj, hook.setState ? hook : undefined);
    return this.made(obj);
  }

  /**
   * The result of a handler or hook: a plain-object dict there may be one of its arguments (a
   * NumPy object scalar returns its value; a hook may return anything), so it may be referenced
   * elsewhere too: noted as shared, like a dict fetched from the memo (see promote()).
   */
  private made(v: unknown): unknown {
    if (isPlainDict(v)) (this.sharedDicts ??= new Set()).add(v);
    return v;
  }

  /** `persistentLoad(pid)` (resolved as for a hook), or a {@link PyPersistentId}. */
  private persistent(pid: unknown): unknown {
    const load = this.opts.persistentLoad;
    if (!load) return new PyPersistentId(this.resolve(pid));
    const obj = load(this.resolveForHook(pid));
    if (typeof obj === 'object' && obj !== null && !(this.userObjects?.has(obj) ?? false)) (this.userObjects ??= new Map()).set(obj, undefined);
    return this.made(obj);
  }

  /**
   * BUILD: apply `state` to `obj` as Python does for objects that have a `__dict__` or a
   * `__setstate__`: through the hook's `setState`, the object's {@link pySetState}, or (for an
   * object a hook made without `setState`, and a dict decoded as a plain object) by copying the
   * state's str keys onto it. Everything else refuses state, as in Python: lists, tuples, sets,
   * dicts decoded as Maps, bytes (a large `bytes` is a view on the caller's input), globals, and
   * models that take no state (their Python types have no `__dict__`).
   */
  private build(target: unknown, state: unknown): void {
    this.settle();
    const obj = this.resolve(target);
    if (typeof obj !== 'object' || obj === null) throw new Error('BUILD target is not an object');
    const user = this.userObjects?.has(obj) === true;
    const hook = user ? this.userObjects?.get(obj) : undefined;
    if (hook?.setState) return hook.setState(obj, this.resolveForHook(state));
    const f = (obj as { [pySetState]?: (s: unknown) => void })[pySetState];
    if (typeof f === 'function') {
      // The decoder's models keep or read the state (a later walk fixes what they keep); a hook's object gets it resolved.
      if (user) return f.call(obj, this.resolveForHook(state));
      let st = this.resolve(state);
      if (this.promoted !== undefined && Array.isArray(st) && st.length === 2) st = this.resolvePair(st);
      return f.call(obj, st);
    }
    // Copying `length` or a big index onto an array would turn a 22-byte pickle into a 2**31-slot
    // array; a Buffer may be a view on the caller's input, which loads never writes.
    if (!(user || isPlainDict(obj)) || Array.isArray(obj) || ArrayBuffer.isView(obj) || obj instanceof Map || obj instanceof Set)
      throw new Error(`BUILD target (${pyTypeName(obj)}) takes no state (it has no __dict__ or __setstate__)`);
    let dict: unknown = user ? this.resolveForHook(state) : this.resolve(state);
    let slots: unknown;
    if (Array.isArray(dict) && dict.length === 2) {
      slots = this.resolve(dict[1]);
      dict = this.resolve(dict[0]);
    }
    for (const d of [dict, slots]) {
      if (d == null) continue;
      if (d instanceof Map) {
        chargeCopies(d.size);
        for (const [k, v] of d) {
          // Python's setattr() takes str names only; String() of a decoded tuple joins it recursively.
          if (typeof k !== 'string') throw new TypeError('attribute name must be string');
          setKey(obj as Record<string, unknown>, k, v);
        }
      } else if (isPlainDict(d)) {
        const keys = Object.keys(d);
        chargeCopies(keys.length);
        for (const k of keys) setKey(obj as Record<string, unknown>, k, d[k]);
      } else throw new Error('BUILD state is not a dict');
    }
  }

  /** A `(dict, slots)` state tuple with both items resolved, in place (as the walk at STOP would). */
  private resolvePair(st: unknown[]): unknown[] {
    st[0] = this.resolve(st[0]);
    st[1] = this.resolve(st[1]);
    return st;
  }

  private global(module: string, name: string): PyGlobal {
    const [m, n] = mapPy2Global(module, name);
    return new PyGlobal(m, n);
  }

  load(): unknown {
    try {
      return withCopyBudget(this.end, () => this.run());
    } catch (e) {
      const at = this.opStart;
      if (e instanceof UnpicklingError) throw e;
      if (e instanceof Truncated) throw new UnpicklingError(e.message, at, true);
      if (e instanceof RangeError && /call stack|Invalid array length|allocation|Invalid string length/i.test(e.message))
        throw new UnpicklingError(`resource limit: ${e.message}`, at, false, { cause: e });
      const msg = e instanceof Error ? e.message : String(e);
      const op = OPCODE_BY_CODE[this.buf[at] ?? 0];
      throw new UnpicklingError(`${op ? op.name + ': ' : ''}${msg}`, at, false, { cause: e });
    }
  }

  private opStart = 0;

  private run(): unknown {
    const buf = this.buf;
    const end = this.end;
    /** A DataView of the input, made at the first float of an input of 1 KiB or more (see BINFLOAT). */
    let dv: DataView | undefined;
    const exact = this.exact;
    const stack: unknown[] = [];
    const marks: number[] = [];
    /** Stack index of the innermost MARK (0 when there is none): nothing below it may be popped. */
    let floor = 0;
    /** Input position after the last MARK (APPENDS estimates a list's size from it). */
    let lastMark = 0;
    let pos = this.pos;
    let start = pos;
    try {
      for (;;) {
        start = pos;
        if (pos >= end) throw new Truncated('pickle data was truncated (no STOP)');
        const op = buf[pos++] as number;
        switch (op) {
          case 0x4b: // BININT1
            if (pos >= end) throw new Truncated(TRUNC);
            stack.push(buf[pos++] as number);
            pos = intRun(buf, pos, end, stack);
            break;
          case 0x4d: // BININT2
            if (pos + 2 > end) throw new Truncated(TRUNC);
            stack.push((buf[pos] as number) | ((buf[pos + 1] as number) << 8));
            pos = intRun(buf, pos + 2, end, stack);
            break;
          case 0x4a: // BININT
            if (pos + 4 > end) throw new Truncated(TRUNC);
            stack.push((buf[pos] as number) | ((buf[pos + 1] as number) << 8) | ((buf[pos + 2] as number) << 16) | ((buf[pos + 3] as number) << 24));
            pos = intRun(buf, pos + 4, end, stack);
            break;
          case 0x8c: {
            // SHORT_BINUNICODE
            if (pos >= end) throw new Truncated(TRUNC);
            const n = buf[pos++] as number;
            if (pos + n > end || n > this.maxLength) this.length(pos, n);
            stack.push(n <= 12 ? this.shortStr(pos, n) : this.str(pos, pos + n));
            pos += n;
            break;
          }
          case 0x58: {
            // BINUNICODE
            if (pos + 4 > end) throw new Truncated(TRUNC);
            const n = buf.readUInt32LE(pos);
            pos += 4;
            this.length(pos, n);
            stack.push(n <= 12 ? this.shortStr(pos, n) : this.str(pos, pos + n));
            pos += n;
            break;
          }
          case 0x94: {
            // MEMOIZE
            if (stack.length <= floor) throw new Error(UNDERFLOW);
            const v = stack[stack.length - 1];
            // A dense memo just grows by one (bench/pickle dicts_10k); memoPut handles the rest.
            const n = this.denseLen;
            if (this.memoCount === n && n < this.maxMemo) {
              this.memoCount = n + 1;
              // Inside the current chunk: one store, no call (bench/pickle dicts_10k).
              if ((n & (MEMO_CHUNK - 1)) !== 0) {
                this.memoTail[n & (MEMO_CHUNK - 1)] = v;
                this.denseLen = n + 1;
              } else this.memoAppend(v);
            } else this.memoPut(this.memoCount, v);
            break;
          }
          case 0x71: // BINPUT
            if (pos >= end) throw new Truncated(TRUNC);
            if (stack.length <= floor) throw new Error(UNDERFLOW);
            this.memoPut(buf[pos++] as number, stack[stack.length - 1]);
            break;
          case 0x72: // LONG_BINPUT
            if (pos + 4 > end) throw new Truncated(TRUNC);
            if (stack.length <= floor) throw new Error(UNDERFLOW);
            this.memoPut(buf.readUInt32LE(pos), stack[stack.length - 1]);
            pos += 4;
            break;
          case 0x68: {
            // BINGET
            if (pos >= end) throw new Truncated(TRUNC);
            stack.push(this.memoFetch(buf[pos++] as number));
            break;
          }
          case 0x6a: {
            // LONG_BINGET
            if (pos + 4 > end) throw new Truncated(TRUNC);
            // As BINGET: the keys of records that first appear after 256 memo entries are interned too.
            stack.push(this.memoFetch(buf.readUInt32LE(pos)));
            pos += 4;
            break;
          }
          case 0x7d: // EMPTY_DICT
            stack.push(exact ? new Map() : {});
            break;
          case 0x5d: // EMPTY_LIST
            stack.push([]);
            break;
          case 0x28: // MARK
            if (marks.length >= this.maxDepth) throw new Error('MARK nesting exceeds the maxDepth limit');
            if (stack.length > floor && (buf[pos] === 0x4a || buf[pos] === 0x4b || buf[pos] === 0x4d)) {
              // MARK, ints, APPENDS onto a list: decoded straight into the list (intBatch).
              const e = this.intBatch(stack[stack.length - 1], pos);
              if (e > 0) {
                pos = e;
                break;
              }
            }
            marks.push(floor);
            floor = stack.length;
            lastMark = pos;
            break;
          case 0x47: {
            // BINFLOAT
            if (pos + 8 > end) throw new Truncated(TRUNC);
            // DataView.getFloat64 is inlined by the compiler, Buffer#readDoubleBE is a call (2x slower
            // on 1M floats); in inputs under 1 KiB floats go through a shared 8-byte DataView
            // instead of a DataView of the input, which would cost an allocation per small message.
            let f: number;
            if (dv !== undefined) f = dv.getFloat64(pos, false);
            else if (end < 1024) f = readFloat64BE(buf, pos);
            else f = (dv = this.dv).getFloat64(pos, false);
            stack.push(exact ? new PyFloat(f) : f);
            pos += 8;
            break;
          }
          case 0x88: // NEWTRUE
            stack.push(true);
            break;
          case 0x89: // NEWFALSE
            stack.push(false);
            break;
          case 0x4e: // NONE
            stack.push(null);
            break;
          case 0x65: {
            // APPENDS
            if (marks.length === 0) throw new Error('could not find MARK');
            const m = floor;
            floor = marks.pop() as number;
            if (m < 1 || m - 1 < floor) throw new Error(UNDERFLOW);
            const target = stack[m - 1];
            if (Array.isArray(target) && !(target instanceof Tuple)) {
              const n = stack.length;
              const gl = this.growing?.get(target);
              // Small batches (dict values, short lists) keep push(); CPython writes 1000-item batches
              // for big lists, which take the capacity path below (bench/pickle ints_1m).
              if (gl === undefined && n - m < 512) {
                for (let i = m; i < n; i++) target.push(stack[i]);
              } else {
                // Big lists: grow the capacity geometrically and track the real length until the
                // list can be observed (bench/pickle ints_1m: half the time of push()).
                let len = gl ?? target.length;
                const need = len + n - m;
                const before = target.length - len;
                if (need > target.length) {
                  // Items per byte from this list's previous batch when there was one; the first
                  // batch may hold nested MARKs (records), so lastMark says little, and the
                  // estimate gets a smaller bound.
                  const at = this.appendsAt?.get(target);
                  const cap =
                    at === undefined ? listCapacity(len, need, n - m, start - lastMark, end - pos, 4) : listCapacity(len, need, n - m, start - at, end - pos, 64);
                  target.length = this.reserveList(need, cap, before, end - pos);
                }
                for (let i = m; i < n; i++) target[len++] = stack[i];
                this.slack += target.length - len - before;
                (this.growing ??= new Map()).set(target, len);
                (this.appendsAt ??= new Map()).set(target, pos);
              }
              truncate(stack, m);
            } else this.appends(stack, target, m);
            break;
          }
          case 0x61: {
            // APPEND
            if (stack.length - 2 < floor) throw new Error(UNDERFLOW);
            const v = stack.pop();
            const target = stack[stack.length - 1];
            if (Array.isArray(target) && !(target instanceof Tuple)) {
              const len = this.growing?.get(target);
              if (len !== undefined) {
                const before = target.length - len;
                if (before === 0) target.length = this.reserveList(len + 1, Math.max(len + 1, len * 2), 0, end - pos);
                target[len] = v;
                this.slack += target.length - len - 1 - before;
                this.growing?.set(target, len + 1);
              } else target.push(v);
            } else {
              stack.push(v);
              this.appends(stack, target, stack.length - 1);
            }
            break;
          }
          case 0x75: {
            // SETITEMS
            if (marks.length === 0) throw new Error('could not find MARK');
            const m = floor;
            floor = marks.pop() as number;
            if (m < 1 || m - 1 < floor) throw new Error(UNDERFLOW);
            this.setItems(stack, stack[m - 1], m, m - 1);
            break;
          }
          case 0x73: // SETITEM
            if (stack.length - 3 < floor) throw new Error(UNDERFLOW);
            this.setItems(stack, stack[stack.length - 3], stack.length - 2, stack.length - 3);
            break;
          case 0x85: // TUPLE1
            if (stack.length - 1 < floor) throw new Error(UNDERFLOW);
            stack[stack.length - 1] = this.tuple([stack[stack.length - 1]]);
            break;
          case 0x86: {
            // TUPLE2
            const n = stack.length;
            if (n - 2 < floor) throw new Error(UNDERFLOW);
            const t = this.tuple([stack[n - 2], stack[n - 1]]);
            stack.pop();
            stack[n - 2] = t;
            break;
          }
          case 0x87: {
            // TUPLE3
            const n = stack.length;
            if (n - 3 < floor) throw new Error(UNDERFLOW);
            const t = this.tuple([stack[n - 3], stack[n - 2], stack[n - 1]]);
            truncate(stack, n - 2);
            stack[n - 3] = t;
            break;
          }
          case 0x74: {
            // TUPLE
            if (marks.length === 0) throw new Error('could not find MARK');
            const m = floor;
            floor = marks.pop() as number;
            const t = this.tupleFrom(stack, m);
            if (stack.length === m) stack.push(t);
            else {
              truncate(stack, m + 1);
              stack[m] = t;
            }
            break;
          }
          case 0x29: // EMPTY_TUPLE
            stack.push(exact ? new Tuple() : []);
            break;
          case 0x95: {
            // FRAME
            if (pos + 8 > end) throw new Truncated(TRUNC);
            const lo = buf.readUInt32LE(pos);
            const hi = buf.readUInt32LE(pos + 4);
            pos += 8;
            if (hi !== 0 || lo > end - pos) throw new Truncated('pickle data was truncated (FRAME)');
            break;
          }
          case 0x2e: // STOP
            if (stack.length <= floor) throw new Error('unpickling stack underflow at STOP');
            this.settle();
            this.pos = pos;
            if (this.staleRisk) return this.fixPromoted(stack[stack.length - 1], false);
            return this.resolve(stack[stack.length - 1]);
          case 0x31: // POP_MARK
            if (marks.length === 0) throw new Error('could not find MARK');
            truncate(stack, floor);
            floor = marks.pop() as number;
            break;
          case 0x30: // POP
            if (marks.length > 0 && stack.length === floor) floor = marks.pop() as number;
            else {
              if (stack.length <= floor) throw new Error(UNDERFLOW);
              stack.pop();
            }
            break;
          case 0x6c: {
            // LIST
            if (marks.length === 0) throw new Error('could not find MARK');
            const m = floor;
            floor = marks.pop() as number;
            const items = stack.slice(m);
            truncate(stack, m);
            stack.push(items);
            break;
          }
          case 0x64: {
            // DICT
            if (marks.length === 0) throw new Error('could not find MARK');
            const m = floor;
            floor = marks.pop() as number;
            const d = this.emptyDict();
            stack.splice(m, 0, d);
            this.setItems(stack, d, m + 1, m);
            break;
          }
          case 0x91: {
            // FROZENSET
            if (marks.length === 0) throw new Error('could not find MARK');
            const m = floor;
            floor = marks.pop() as number;
            const items = stack.slice(m);
            truncate(stack, m);
            stack.push(exact ? new FrozenSet(items) : new Set(items));
            break;
          }
          case 0x90: {
            // ADDITEMS
            if (marks.length === 0) throw new Error('could not find MARK');
            const m = floor;
            floor = marks.pop() as number;
            if (m < 1 || m - 1 < floor) throw new Error(UNDERFLOW);
            const target = stack[m - 1];
            if (!(target instanceof Set) || target instanceof FrozenSet) throw new Error('ADDITEMS target is not a set');
            for (let i = m; i < stack.length; i++) target.add(stack[i]);
            truncate(stack, m);
            break;
          }
          case 0x8f: // EMPTY_SET
            stack.push(new Set());
            break;
          case 0x32: {
            // DUP
            if (stack.length <= floor) throw new Error(UNDERFLOW);
            const v = stack[stack.length - 1];
            stack.push(isPlainDict(v) ? this.sharedDict(v) : v);
            break;
          }
          case 0x80: {
            // PROTO
            if (pos >= end) throw new Truncated(TRUNC);
            const p = buf[pos++] as number;
            if (p > 5) throw new Error(`unsupported pickle protocol: ${p}`);
            break;
          }
          case 0x52: // REDUCE
          case 0x81: {
            // NEWOBJ
            if (stack.length - 2 < floor) throw new Error(UNDERFLOW);
            const args = stack.pop();
            const fn = stack.pop();
            stack.push(this.construct(fn, args, op === 0x52 ? 'reduce' : 'newobj'));
            break;
          }
          case 0x92: {
            // NEWOBJ_EX
            if (stack.length - 3 < floor) throw new Error(UNDERFLOW);
            const kwargs = stack.pop();
            const args = stack.pop();
            const cls = stack.pop();
            stack.push(this.construct(cls, args, 'newobj_ex', kwargs));
            break;
          }
          case 0x62: {
            // BUILD
            if (stack.length - 2 < floor) throw new Error(UNDERFLOW);
            const state = stack.pop();
            this.build(stack[stack.length - 1], state);
            break;
          }
          case 0x93: {
            // STACK_GLOBAL
            if (stack.length - 2 < floor) throw new Error(UNDERFLOW);
            const name = stack.pop();
            const module = stack.pop();
            if (typeof module !== 'string' || typeof name !== 'string') throw new Error('STACK_GLOBAL requires str');
            stack.push(this.global(module, name));
            break;
          }
          case 0x4c: // LONG1 / LONG4
          case 0x8a:
          case 0x8b: {
            let n: number;
            if (op === 0x8a) {
              if (pos >= end) throw new Truncated(TRUNC);
              n = buf[pos++] as number;
            } else if (op === 0x8b) {
              if (pos + 4 > end) throw new Truncated(TRUNC);
              n = buf.readInt32LE(pos);
              pos += 4;
              if (n < 0) throw new Error('LONG pickle has negative byte count');
            } else {
              // LONG (text)
              this.pos = pos;
              let s = this.lineString();
              pos = this.pos;
              if (s.endsWith('L')) s = s.slice(0, -1);
              stack.push(this.parseDecimal(s));
              break;
            }
            if (n > this.maxIntBytes) throw new Error(`LONG of ${n} bytes exceeds the maxIntBytes limit`);
            if (pos + n > end) throw new Truncated(TRUNC);
            stack.push(decodeLong(buf, pos, n));
            pos += n;
            break;
          }
          case 0x43: // SHORT_BINBYTES
          case 0x42: // BINBYTES
          case 0x8e: // BINBYTES8
          case 0x96: {
            // BYTEARRAY8
            let n: number;
            if (op === 0x43) {
              if (pos >= end) throw new Truncated(TRUNC);
              n = buf[pos++] as number;
            } else {
              this.pos = pos;
              n = this.readSize(op === 0x42 ? 4 : 8);
              pos = this.pos;
            }
            this.length(pos, n);
            // The data of a NumPy array is a view on the input, not a copy (numpy.ts).
            if (floor > 0 && takesArrayView(stack[floor - 1])) {
              // inPlace may move a misaligned payload up to 7 bytes back: never over an earlier view.
              stack.push(arrayPayload(buf, pos, n, this.opts.inPlace === true && pos - 7 >= this.viewedUpTo));
              pos += n;
              this.viewedUpTo = pos;
              break;
            }
            // Large immutable bytes are views on the input like array data (bench/pickle bytes_16m:
            // copying 16 MiB cost 2–3 ms, mostly page faults); small ones are copied, so that a few
            // bytes never keep a large input alive. bytearray (mutable) is always a copy.
            if (n >= BYTES_VIEW_MIN && op !== 0x96 && !this.copyBytes) {
              stack.push(buf.subarray(pos, pos + n));
              pos += n;
              this.viewedUpTo = pos;
              break;
            }
            const b = this.bytes(pos, pos + n);
            pos += n;
            stack.push(op === 0x96 && exact ? ByteArray.fromBytes(b) : b);
            break;
          }
          default:
            this.pos = pos;
            if (op !== OP.STOP && !OPCODE_BY_CODE[op]) throw new Error(`invalid load key, '\\x${op.toString(16).padStart(2, '0')}'`);
            this.rareOp(op, stack, marks, floor);
            pos = this.pos;
            // MARK-consuming rare ops (INST, OBJ) move the floor.
            floor = this.floorOut;
        }
      }
    } catch (e) {
      this.opStart = start;
      throw e;
    }
  }

  private floorOut = 0;

  /** Opcodes that are rare in practice (text forms, protocol 0/1 forms, globals, …). */
  private rareOp(op: number, stack: unknown[], marks: number[], floor: number): void {
    this.settle();
    const buf = this.buf;
    const dv = this.dv;
    const exact = this.exact;
    this.floorOut = floor;
    const pop = (): unknown => {
      if (stack.length <= this.floorOut) throw new Error(UNDERFLOW);
      return stack.pop();
    };
    const popMark = (): number => {
      if (marks.length === 0) throw new Error('could not find MARK');
      const m = this.floorOut;
      this.floorOut = marks.pop() as number;
      return m;
    };
    switch (op) {
      case OP.INT: {
        const s = this.lineString();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else stack.push(this.parseDecimal(s));
        break;
      }
      case OP.FLOAT: {
        const nl = this.readLine();
        const v = parseFloatText(buf, this.pos, nl);
        this.pos = nl + 1;
        stack.push(exact ? new PyFloat(v) : v);
        break;
      }
      case OP.STRING: {
        const nl = this.readLine();
        let s = this.pos;
        let e = nl;
        if (e > s && buf[e - 1] === 13) e--;
        const q = buf[s];
        if (e - s < 2 || (q !== 0x27 && q !== 0x22) || buf[e - 1] !== q) throw new Error('the STRING opcode argument must be quoted');
        s++;
        e--;
        const b = escapeDecode(buf, s, e);
        this.pos = nl + 1;
        stack.push(this.py2str(b));
        break;
      }
      case OP.BINSTRING:
      case OP.SHORT_BINSTRING: {
        let n: number;
        if (op === OP.SHORT_BINSTRING) {
          this.need(1);
          n = buf[this.pos++] as number;
        } else {
          this.need(4);
          n = dv.getInt32(this.pos, true);
          this.pos += 4;
          if (n < 0) throw new Error('BINSTRING pickle has negative byte count');
        }
        this.length(this.pos, n);
        const b = this.bytes(this.pos, this.pos + n);
        this.pos += n;
        stack.push(this.py2str(b));
        break;
      }
      case OP.UNICODE: {
        const nl = this.readLine();
        const s = rawUnicodeEscapeDecode(buf, this.pos, nl);
        this.pos = nl + 1;
        stack.push(s);
        break;
      }
      case OP.BINUNICODE8: {
        const n = this.readSize(8);
        this.length(this.pos, n);
        stack.push(this.str(this.pos, this.pos + n));
        this.pos += n;
        break;
      }
      case OP.NEXT_BUFFER: {
        const it = this.buffers?.next();
        if (!it) throw new Error('pickle stream refers to out-of-band data but no buffers argument was given');
        if (it.done) throw new Error('not enough out-of-band buffers');
        stack.push(it.value);
        break;
      }
      case OP.READONLY_BUFFER: {
        if (stack.length <= this.floorOut) throw new Error(UNDERFLOW);
        const v = stack[stack.length - 1];
        if (v instanceof ByteArray) stack[stack.length - 1] = Buffer.from(v);
        break;
      }
      case OP.GET: {
        const s = this.lineString();
        if (!/^\s*\d+\s*$/.test(s)) throw new Error('bad GET argument');
        stack.push(this.memoGet(Number(s)));
        break;
      }
      case OP.PUT: {
        const s = this.lineString();
        if (!/^\s*\d+\s*$/.test(s)) throw new Error('bad PUT argument');
        if (stack.length <= this.floorOut) throw new Error(UNDERFLOW);
        this.memoPut(Number(s), stack[stack.length - 1]);
        break;
      }
      case OP.GLOBAL: {
        const module = this.lineString();
        const name = this.lineString();
        stack.push(this.global(module, name));
        break;
      }
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4: {
        let code: number;
        if (op === OP.EXT1) {
          this.need(1);
          code = buf[this.pos++] as number;
        } else if (op === OP.EXT2) {
          this.need(2);
          code = dv.getUint16(this.pos, true);
          this.pos += 2;
        } else {
          this.need(4);
          code = dv.getInt32(this.pos, true);
          this.pos += 4;
        }
        const ext = this.opts.extensions?.get(code);
        if (!ext) throw new Error(`unregistered extension code ${code}`);
        stack.push(this.global(ext[0], ext[1]));
        break;
      }
      case OP.INST: {
        const module = this.lineString();
        const name = this.lineString();
        const m = popMark();
        const args = stack.slice(m);
        stack.length = m;
        stack.push(this.construct(this.global(module, name), args, 'inst'));
        break;
      }
      case OP.OBJ: {
        const m = popMark();
        if (stack.length <= m) throw new Error('OBJ without a class');
        const cls = stack[m];
        const args = stack.slice(m + 1);
        stack.length = m;
        stack.push(this.construct(cls, args, 'obj'));
        break;
      }
      case OP.PERSID: {
        const pid = this.lineString();
        stack.push(this.persistent(pid));
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        stack.push(this.persistent(pid));
        break;
      }
      default:
        throw new Error(`invalid load key, '\\x${op.toString(16).padStart(2, '0')}'`);
    }
  }

  private readSize(width: 4 | 8): number {
    this.need(width);
    let n: number;
    if (width === 4) n = this.dv.getUint32(this.pos, true);
    else {
      const big = this.dv.getBigUint64(this.pos, true);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('length exceeds the maxLength limit');
      n = Number(big);
    }
    this.pos += width;
    return n;
  }

  private parseDecimal(s: string): number | bigint {
    const t = s.trim();
    const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|\d+)$/.exec(t);
    if (!m) throw new Error(`invalid literal for int(): '${t.slice(0, 40)}'`);
    const digits = m[2] as string;
    if (digits.length > this.maxIntDigits) throw new Error(`integer of ${digits.length} digits exceeds the maxIntDigits limit`);
    if (digits.length <= 15 && /^\d+$/.test(digits)) {
      const v = Number(digits);
      return m[1] === '-' ? (v === 0 ? 0 : -v) : v;
    }
    const v = BigInt(digits);
    return normalizeInt(m[1] === '-' ? -v : v);
  }
}

/** Python's name for the type of a BUILD target that takes no state (for the error message). */
function pyTypeName(o: object): string {
  if (o instanceof ByteArray) return 'bytearray';
  if (ArrayBuffer.isView(o)) return 'bytes';
  if (Array.isArray(o)) return o instanceof Tuple ? 'tuple' : o.constructor === Array ? 'list' : o.constructor.name;
  if (o instanceof FrozenSet) return 'frozenset';
  if (o instanceof Set) return 'set';
  if (o instanceof Map) return o.constructor === Map ? 'dict' : o.constructor.name;
  if (isPlainDict(o)) return 'dict';
  if (o instanceof PyGlobal) return `the global ${o.module}.${o.name}`;
  return (o as { constructor?: { name?: string } }).constructor?.name ?? 'object';
}


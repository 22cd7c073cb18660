/**
 * A fast path for decoding the small pickles a manager connection carries most of the time: the
 * requests `(ident, method, args, kwds)` CPython's proxies send and the replies `('#RETURN', value)`
 * its servers send, at protocol 4/5, holding only None, booleans, int32 integers, floats, ASCII
 * strings, tuples of those and empty dicts. The result is the value `mpwire/pickle`'s `loads` gives
 * for the same bytes (with `exact` as given); anything else — another opcode, a non-ASCII string,
 * a limit reached, trailing bytes — returns `undefined`, and the caller uses `loads`.
 *
 * Why: constructing the general unpickler and running its VM costs several microseconds per
 * message, a large part of a manager request's CPU time (`bench/managers/server.mjs`).
 * @module
 */
import { OP, PyFloat, Tuple } from '../pickle/index.js';
import { readFloat64BE } from '../pickle/float64.js';

// Opcode values from the one opcode table (src/pickle/opcodes.ts).
const { MARK, STOP, NONE, NEWTRUE, NEWFALSE, BININT, BININT1, BININT2, BINFLOAT, SHORT_BINUNICODE, BINUNICODE, MEMOIZE, BINGET, EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3, EMPTY_DICT, PROTO, FRAME } = OP;

/** Longest string decoded here (longer ones are rare in hot calls, and `loads` handles them). */
const MAX_STR = 256;
/** Most values on the stack (the 4 request fields plus a few arguments). */
const MAX_STACK = 16;

/**
 * The limits of `LoadsLimits` that the fast path must respect (a message beyond one goes to `loads`,
 * which raises the proper error).
 */
export interface FastDecodeLimits {
  readonly maxLength: number;
  readonly maxMemo: number;
  readonly maxDepth: number;
}

/** A value in the memo that BINGET may not fetch here (a tuple or dict: identity matters). */
const OPAQUE: unique symbol = Symbol('opaque');

/**
 * Recently decoded short strings (idents, method names, keys), found again by their bytes: a hit
 * saves building the string and hashing it again for the Map lookups that follow.
 */
class StringCache {
  readonly #keys: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(256).fill(undefined);
  readonly #values: string[] = new Array<string>(256).fill('');

  get(buf: Uint8Array, start: number, n: number): string | undefined {
    // FNV-1a over the bytes; non-ASCII input returns undefined.
    let h = 0x811c9dc5;
    let or = 0;
    for (let i = start; i < start + n; i++) {
      const b = buf[i] as number;
      or |= b;
      h = Math.imul(h ^ b, 0x01000193);
    }
    if (or > 0x7f) return undefined;
    const slot = (h ^ (h >>> 16)) & 0xff;
    const key = this.#keys[slot];
    if (key !== undefined && key.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (key[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#values[slot];
    }
    const s = latin1(buf, start, n);
    this.#keys[slot] = buf.slice(start, start + n);
    this.#values[slot] = s;
    return s;
  }
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

function latin1(buf: Uint8Array, start: number, n: number): string {
  return latin1Slice.call(buf, start, start + n);
}

const cache = new StringCache();

/**
 * Decode `frame` if it is one of the simple pickles described in the module comment; `undefined`
 * otherwise. `modeFree` also declines what decodes differently with and without `exact` beyond the
 * shape of a request — floats, a third tuple, a second dict — so that the manager server can use
 * one decode for both kinds of objects.
 * @example
 * ```ts
 * const v = fastLoads(frame, true, { maxLength: 2 ** 31 - 1, maxMemo: 1e7, maxDepth: 1e5 }) ?? loads(frame, { exact: true });
 * ```
 */
export function fastLoads(frame: Uint8Array, exact: boolean, limits: FastDecodeLimits, modeFree = false): unknown {
  const v = run(frame, exact, limits, modeFree);
  // Drop what a declined message left behind (pop: setting `length` is a runtime call).
  while (stack.length > 0) stack.pop();
  while (memo.length > 0) memo.pop();
  return v;
}

/**
 * Stack and memo, shared by every call (the decoder never re-enters): fresh arrays would grow their
 * backing store on the first push, every message.
 */
const stack: unknown[] = [];
const memo: unknown[] = [];

function run(frame: Uint8Array, exact: boolean, limits: FastDecodeLimits, modeFree: boolean): unknown {
  const end = frame.length;
  let tuples = 0;
  let dicts = 0;
  // PROTO 4|5, FRAME with the 8-byte length of everything after it.
  if (end < 14 || frame[0] !== PROTO || frame[2] !== FRAME) return undefined;
  const proto = frame[1] as number;
  if (proto !== 4 && proto !== 5) return undefined;
  if (frame[3] !== ((end - 11) & 0xff) || frame[4] !== ((end - 11) >>> 8) || end - 11 > 0xffff) return undefined;
  for (let i = 5; i < 11; i++) if (frame[i] !== 0) return undefined;
  /** Stack height at the open MARKs (at most two: the request tuple and its args). */
  let mark0 = -1;
  let mark1 = -1;
  let pos = 11;
  while (pos < end) {
    const op = frame[pos++] as number;
    switch (op) {
      case SHORT_BINUNICODE:
      case BINUNICODE: {
        let n: number;
        if (op === SHORT_BINUNICODE) {
          if (pos >= end) return undefined;
          n = frame[pos++] as number;
        } else {
          if (pos + 4 > end) return undefined;
          n = (frame[pos] as number) | ((frame[pos + 1] as number) << 8) | ((frame[pos + 2] as number) << 16) | ((frame[pos + 3] as number) << 24);
          pos += 4;
        }
        if (n < 0 || n > MAX_STR || n > limits.maxLength || pos + n > end) return undefined;
        const s = cache.get(frame, pos, n);
        if (s === undefined) return undefined;
        stack.push(s);
        pos += n;
        break;
      }
      case MEMOIZE: {
        if (stack.length === 0 || memo.length >= limits.maxMemo) return undefined;
        const top = stack[stack.length - 1];
        memo.push(typeof top === 'string' ? top : OPAQUE);
        break;
      }
      case BINGET: {
        if (pos >= end) return undefined;
        const v = memo[frame[pos++] as number];
        if (typeof v !== 'string') return undefined;
        stack.push(v);
        break;
      }
      case NONE:
        stack.push(null);
        break;
      case NEWTRUE:
        stack.push(true);
        break;
      case NEWFALSE:
        stack.push(false);
        break;
      case BININT1:
        if (pos >= end) return undefined;
        stack.push(frame[pos++] as number);
        break;
      case BININT2:
        if (pos + 2 > end) return undefined;
        stack.push((frame[pos] as number) | ((frame[pos + 1] as number) << 8));
        pos += 2;
        break;
      case BININT:
        if (pos + 4 > end) return undefined;
        stack.push((frame[pos] as number) | ((frame[pos + 1] as number) << 8) | ((frame[pos + 2] as number) << 16) | ((frame[pos + 3] as number) << 24));
        pos += 4;
        break;
      case BINFLOAT: {
        if (modeFree || pos + 8 > end) return undefined;
        const v = readFloat64BE(frame, pos);
        stack.push(exact ? new PyFloat(v) : v);
        pos += 8;
        break;
      }
      case EMPTY_DICT:
        if (modeFree && ++dicts > 1) return undefined;
        stack.push(exact ? new Map() : {});
        break;
      case EMPTY_TUPLE:
        if (modeFree && ++tuples > 2) return undefined;
        stack.push(exact ? new Tuple() : []);
        break;
      case TUPLE1:
      case TUPLE2:
      case TUPLE3: {
        if (modeFree && ++tuples > 2) return undefined;
        const k = op - TUPLE1 + 1;
        const floor = mark1 >= 0 ? mark1 : Math.max(mark0, 0);
        if (stack.length - k < floor) return undefined;
        stack.push(makeTuple(stack.length - k, exact));
        break;
      }
      case MARK:
        if (mark1 >= 0) return undefined;
        if (mark0 >= 0) {
          if (limits.maxDepth < 2) return undefined;
          mark1 = stack.length;
        } else {
          if (limits.maxDepth < 1) return undefined;
          mark0 = stack.length;
        }
        break;
      case TUPLE:
        if (modeFree && ++tuples > 2) return undefined;
        if (mark1 >= 0) {
          stack.push(makeTuple(mark1, exact));
          mark1 = -1;
        } else if (mark0 >= 0) {
          stack.push(makeTuple(mark0, exact));
          mark0 = -1;
        } else {
          return undefined;
        }
        break;
      case STOP:
        // Exactly one value left, nothing after STOP (else `loads` decides).
        if (pos !== end || mark0 >= 0 || stack.length !== 1) return undefined;
        return stack[0];
      default:
        return undefined;
    }
    if (stack.length > MAX_STACK) return undefined;
  }
  return undefined;
}

/** Pop the values from `from` up as one tuple (a `Tuple` in exact mode, an array otherwise). */
function makeTuple(from: number, exact: boolean): unknown[] {
  const n = stack.length - from;
  const t = exact ? new Tuple<unknown>(n) : new Array<unknown>(n);
  for (let i = 0; i < n; i++) t[i] = stack[from + i];
  // pop(), not `length = from`: setting the length is a runtime call.
  for (let i = 0; i < n; i++) stack.pop();
  return t;
}

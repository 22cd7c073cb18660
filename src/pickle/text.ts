/**
 * Byte/text helpers shared by the decoder and encoder: UTF-8 with `surrogatepass` (what CPython
 * uses for pickled str), Python repr escapes, raw-unicode-escape and big-int byte conversion.
 * @module
 */

/** Thrown by helpers on malformed text; the decoder turns it into an UnpicklingError. */
export class TextError extends Error {}

/** Decode UTF-8 allowing encoded surrogates (CPython's `surrogatepass`); strict otherwise. */
export function decodeUtf8Surrogatepass(b: Uint8Array, start: number, end: number): string {
  let out = '';
  const parts: string[] = [];
  const codes: number[] = [];
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    let cp: number;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if (c >= 0xc2 && c < 0xe0) {
      const c1 = b[i + 1];
      if (i + 1 >= end || c1 === undefined || (c1 & 0xc0) !== 0x80) throw new TextError('invalid utf-8');
      cp = ((c & 0x1f) << 6) | (c1 & 0x3f);
      i += 2;
    } else if (c >= 0xe0 && c < 0xf0) {
      const c1 = b[i + 1];
      const c2 = b[i + 2];
      if (i + 2 >= end || c1 === undefined || c2 === undefined || (c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80)
        throw new TextError('invalid utf-8');
      cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      if (cp < 0x800) throw new TextError('invalid utf-8');
      i += 3;
    } else if (c >= 0xf0 && c < 0xf5) {
      const c1 = b[i + 1];
      const c2 = b[i + 2];
      const c3 = b[i + 3];
      if (
        i + 3 >= end ||
        c1 === undefined ||
        c2 === undefined ||
        c3 === undefined ||
        (c1 & 0xc0) !== 0x80 ||
        (c2 & 0xc0) !== 0x80 ||
        (c3 & 0xc0) !== 0x80
      )
        throw new TextError('invalid utf-8');
      cp = ((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) throw new TextError('invalid utf-8');
      i += 4;
    } else {
      throw new TextError('invalid utf-8');
    }
    if (cp > 0xffff) {
      cp -= 0x10000;
      codes.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
    } else codes.push(cp);
    if (codes.length > 4096) {
      parts.push(String.fromCharCode(...codes));
      codes.length = 0;
    }
  }
  parts.push(String.fromCharCode(...codes));
  out = parts.join('');
  return out;
}

/** Encode a string as UTF-8, writing lone surrogates as 3-byte sequences (`surrogatepass`). */
export function encodeUtf8Surrogatepass(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Buffer.from(out);
}

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** True when the string has no lone surrogates. */
export { isWellFormed };

const HEX = /^[0-9a-fA-F]$/;

/** Python's `codecs.escape_decode` of the body of a quoted STRING argument. */
export function escapeDecode(b: Uint8Array, start: number, end: number): Buffer {
  const out: number[] = [];
  let i = start;
  while (i < end) {
    const c = b[i++] as number;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (i >= end) throw new TextError('Trailing \\ in string');
    const e = b[i++] as number;
    switch (e) {
      case 0x0a: // backslash-newline: line continuation
        break;
      case 0x5c:
        out.push(0x5c);
        break;
      case 0x27:
        out.push(0x27);
        break;
      case 0x22:
        out.push(0x22);
        break;
      case 0x62:
        out.push(8);
        break;
      case 0x66:
        out.push(12);
        break;
      case 0x74:
        out.push(9);
        break;
      case 0x6e:
        out.push(10);
        break;
      case 0x72:
        out.push(13);
        break;
      case 0x76:
        out.push(11);
        break;
      case 0x61:
        out.push(7);
        break;
      case 0x78: {
        const h = String.fromCharCode(b[i] ?? 0, b[i + 1] ?? 0);
        if (i + 2 > end || !HEX.test(h[0] as string) || !HEX.test(h[1] as string))
          throw new TextError('invalid \\x escape');
        out.push(parseInt(h, 16));
        i += 2;
        break;
      }
      default:
        if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (let k = 0; k < 2 && i < end && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x37; k++) v = v * 8 + ((b[i++] as number) - 0x30);
          out.push(v & 255);
        } else {
          out.push(0x5c, e);
        }
    }
  }
  return Buffer.from(out);
}

/** Python's `raw_unicode_escape` decoding (the UNICODE opcode's argument). */
export function rawUnicodeEscapeDecode(b: Uint8Array, start: number, end: number): string {
  const codes: number[] = [];
  const parts: string[] = [];
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    if (c !== 0x5c) {
      codes.push(c);
      i++;
    } else {
      // A run of backslashes: only the last one can start an escape (when the run is odd).
      const bs = i;
      while (i < end && b[i] === 0x5c) i++;
      const n = b[i];
      const escape = ((i - bs) & 1) === 1 && i < end && (n === 0x75 || n === 0x55);
      // The run goes out in chunks, so a long one never reaches fromCharCode as one huge argument list.
      for (let k = escape ? i - bs - 1 : i - bs; k > 0; k--) {
        codes.push(0x5c);
        if (codes.length > 4096) {
          parts.push(String.fromCharCode(...codes));
          codes.length = 0;
        }
      }
      if (!escape) continue;
      const len = n === 0x75 ? 4 : 8;
      i++;
      if (i + len > end) throw new TextError('truncated \\uXXXX escape');
      let cp = 0;
      for (let k = 0; k < len; k++) {
        const d = String.fromCharCode(b[i + k] as number);
        if (!HEX.test(d)) throw new TextError('truncated \\uXXXX escape');
        cp = cp * 16 + parseInt(d, 16);
      }
      i += len;
      if (cp > 0x10ffff) throw new TextError('\\Uxxxxxxxx out of range');
      if (cp > 0xffff) {
        cp -= 0x10000;
        codes.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
      } else codes.push(cp);
    }
    if (codes.length > 4096) {
      parts.push(String.fromCharCode(...codes));
      codes.length = 0;
    }
  }
  parts.push(String.fromCharCode(...codes));
  return parts.join('');
}

/**
 * Python 3's protocol-0 UNICODE argument: raw-unicode-escape with `\` and `\n` (and, like newer
 * CPythons, `\r`, `\0` and `\x1a`) written as `\uXXXX` escapes.
 */
export function rawUnicodeEscapeEncode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp === 0x5c || cp === 0x0a || cp === 0x0d || cp === 0 || cp === 0x1a || cp > 0xff) {
      const hex = cp.toString(16);
      const esc = cp > 0xffff ? '\\U' + hex.padStart(8, '0') : '\\u' + hex.padStart(4, '0');
      for (let k = 0; k < esc.length; k++) out.push(esc.charCodeAt(k));
    } else out.push(cp);
  }
  return Buffer.from(out);
}

/** Little-endian two's-complement bytes → integer (number when safe, else bigint). Linear time. */
export function decodeLong(b: Uint8Array, start: number, n: number): number | bigint {
  if (n === 0) return 0;
  if (n <= 6) {
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + (b[start + k] as number);
    if ((b[start + n - 1] as number) & 0x80) v -= 2 ** (8 * n);
    return v;
  }
  let hex = '';
  const chunk: string[] = [];
  for (let k = n - 1; k >= 0; k--) {
    chunk.push(HEXBYTE[b[start + k] as number] as string);
    if (chunk.length >= 8192) {
      hex += chunk.join('');
      chunk.length = 0;
    }
  }
  hex += chunk.join('');
  let v = BigInt('0x' + hex);
  if ((b[start + n - 1] as number) & 0x80) v -= 1n << BigInt(8 * n);
  return normalizeInt(v);
}

const HEXBYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A bigint as a number when it is a safe integer. */
export function normalizeInt(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Integer → minimal little-endian two's-complement bytes (CPython's `encode_long`). */
export function encodeLong(x: bigint): Buffer {
  if (x === 0n) return Buffer.alloc(0);
  const neg = x < 0n;
  // Number of bytes: (bit_length >> 3) + 1, as CPython does.
  const mag = neg ? -x : x;
  let bits = mag.toString(16).length * 4;
  // refine bit length
  const top = mag >> BigInt(bits - 4);
  bits = bits - 4 + (top >= 8n ? 4 : top >= 4n ? 3 : top >= 2n ? 2 : 1);
  let nbytes = (bits >> 3) + 1;
  let u = neg ? (1n << BigInt(nbytes * 8)) + x : x;
  let hex = u.toString(16).padStart(nbytes * 2, '0');
  let out = Buffer.from(hex, 'hex').reverse();
  if (neg && nbytes > 1 && out[nbytes - 1] === 0xff && ((out[nbytes - 2] as number) & 0x80) !== 0) {
    nbytes -= 1;
    out = out.subarray(0, nbytes);
  }
  u = 0n;
  hex = '';
  return out;
}

const latin1Text = (b: Uint8Array, s: number, e: number): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', s, e);

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** Whether `b[p…]` starts with the ASCII word `w` (lowercase), in any case. */
function wordAt(b: Uint8Array, p: number, end: number, w: string): boolean {
  if (p + w.length > end) return false;
  for (let k = 0; k < w.length; k++) if (((b[p + k] as number) | 0x20) !== w.charCodeAt(k)) return false;
  return true;
}

/**
 * The argument of a protocol-0 FLOAT line (`b[start…end)`, without the newline), read as CPython's
 * unpickler reads it: `PyOS_string_to_double`, after which only the end of the line or a NUL may
 * follow. So: an optional sign, then digits with an optional `.` and fraction (or `.` and digits)
 * and an optional exponent, or `inf`, `infinity`, `nan` in any case; no spaces, no underscores, no
 * hex. A finite number too large for a double raises, as CPython's OverflowError does. One pass
 * over the bytes (the regex this replaces backtracked quadratically on a long run of digits).
 * @throws TextError when the text is not such a float.
 */
export function parseFloatText(b: Uint8Array, start: number, end: number): number {
  let p = start;
  if (p < end && (b[p] === 0x2b || b[p] === 0x2d)) p++;
  const body = p;
  let digits = 0;
  while (p < end && isDigit(b[p])) p++;
  digits += p - body;
  if (p < end && b[p] === 0x2e) {
    const f = ++p;
    while (p < end && isDigit(b[p])) p++;
    digits += p - f;
  }
  let v = NaN;
  if (digits > 0) {
    if (p < end && ((b[p] as number) | 0x20) === 0x65) {
      let q = p + 1;
      if (q < end && (b[q] === 0x2b || b[q] === 0x2d)) q++;
      const e = q;
      while (q < end && isDigit(b[q])) q++;
      // Without exponent digits the number ends before the `e` (and the check below refuses the line).
      if (q > e) p = q;
    }
    v = Number(latin1Text(b, start, p));
  } else if (wordAt(b, body, end, 'infinity')) {
    p = body + 8;
    v = b[start] === 0x2d ? -Infinity : Infinity;
  } else if (wordAt(b, body, end, 'inf')) {
    p = body + 3;
    v = b[start] === 0x2d ? -Infinity : Infinity;
  } else if (wordAt(b, body, end, 'nan')) p = body + 3;
  else p = -1;
  if (p < 0 || (p < end && b[p] !== 0)) throw new TextError(`could not convert string to float: '${latin1Text(b, start, Math.min(end, start + 40))}'`);
  if (digits > 0 && !Number.isFinite(v)) throw new TextError('float out of range (CPython raises OverflowError)');
  return v;
}

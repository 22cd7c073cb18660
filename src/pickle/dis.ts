/**
 * A pickletools-style disassembler driven by the opcode table.
 * @module
 */
import { UnpicklingError } from '../errors.js';
import { loads } from './loads.js';
import { arraySummary, findArrays } from './numpy.js';
import { OPCODE_BY_CODE, type ArgKind } from './opcodes.js';
import { decodeLong, escapeDecode, rawUnicodeEscapeDecode, decodeUtf8Surrogatepass } from './text.js';

function reprStr(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escapes control characters the way repr() does
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/[\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))}'`;
}

function reprBytes(b: Uint8Array): string {
  let s = "b'";
  for (const c of b) {
    if (c === 0x5c) s += '\\\\';
    else if (c === 0x27) s += "\\'";
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += '\\x' + c.toString(16).padStart(2, '0');
  }
  return s + "'";
}

/** Longs with more bytes than this are listed by size only (see `long4` in {@link dis}). */
const MAX_LONG_BYTES = 4096;
/** MARK levels indented in full; deeper levels are shown by number (see {@link indentation}). */
const MAX_INDENT = 64;

/**
 * Four spaces per MARK level like pickletools, but at most {@link MAX_INDENT} levels followed by
 * `[level] `: pickletools does not cap it, which makes the listing quadratic in the input
 * (16,000 MARKs would be 512M characters).
 */
function indentation(level: number): string {
  return level <= MAX_INDENT ? '    '.repeat(level) : `${'    '.repeat(MAX_INDENT)}[${level}] `;
}

/**
 * Disassemble a pickle into a listing like `python -m pickletools`: offset, opcode byte, name
 * and argument, with MARK indentation. Stops after STOP.
 * @example
 * ```ts
 * console.log(dis(dumps([1, 2])));
 * ```
 */
export function dis(data: Uint8Array): string {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const lines: string[] = [];
  let pos = 0;
  let indent = 0;
  const need = (n: number, at: number): void => {
    if (pos + n > b.length) throw new UnpicklingError('pickle data was truncated', at, true);
  };
  const line = (at: number): [number, number] => {
    const nl = b.indexOf(10, pos);
    if (nl < 0) throw new UnpicklingError('no newline found', at, true);
    const r: [number, number] = [pos, nl];
    pos = nl + 1;
    return r;
  };
  for (;;) {
    const at = pos;
    if (pos >= b.length) throw new UnpicklingError('pickle exhausted before seeing STOP', at, true);
    const code = b[pos++] as number;
    const op = OPCODE_BY_CODE[code];
    if (!op) throw new UnpicklingError(`at position ${at}, opcode '\\x${code.toString(16).padStart(2, '0')}' unknown`, at);
    let arg = '';
    const kind: ArgKind = op.arg;
    switch (kind) {
      case 'none':
        break;
      case 'uint1':
        need(1, at);
        arg = String(b[pos]);
        pos += 1;
        break;
      case 'uint2':
        need(2, at);
        arg = String(b.readUInt16LE(pos));
        pos += 2;
        break;
      case 'int4':
        need(4, at);
        arg = String(b.readInt32LE(pos));
        pos += 4;
        break;
      case 'uint4':
        need(4, at);
        arg = String(b.readUInt32LE(pos));
        pos += 4;
        break;
      case 'uint8':
        need(8, at);
        arg = String(b.readBigUInt64LE(pos));
        pos += 8;
        break;
      case 'float8':
        need(8, at);
        arg = String(b.readDoubleBE(pos));
        pos += 8;
        break;
      case 'long1':
      case 'long4': {
        const w = kind === 'long1' ? 1 : 4;
        need(w, at);
        const n = w === 1 ? (b[pos] as number) : b.readInt32LE(pos);
        // pickletools refuses this too; accepting it would move `pos` backwards and loop forever.
        if (n < 0) throw new UnpicklingError('LONG pickle has negative byte count', at);
        pos += w;
        need(n, at);
        // Decimal conversion of a huge BigInt is super-linear; pickletools prints it in full,
        // here longs past MAX_LONG_BYTES are summarised to keep dis() linear.
        arg = n > MAX_LONG_BYTES ? `<${n}-byte long>` : String(decodeLong(b, pos, n));
        pos += n;
        break;
      }
      case 'decimalnl_short':
      case 'decimalnl_long':
      case 'floatnl':
      case 'stringnl_noescape': {
        const [s, e] = line(at);
        arg = b.toString('latin1', s, e);
        if (kind === 'stringnl_noescape') arg = reprStr(arg);
        break;
      }
      case 'stringnl_noescape_pair': {
        const [s1, e1] = line(at);
        const [s2, e2] = line(at);
        arg = `${b.toString('latin1', s1, e1)} ${b.toString('latin1', s2, e2)}`;
        break;
      }
      case 'stringnl': {
        const [s, e] = line(at);
        arg = reprBytes(escapeDecode(b, s + 1, e - 1));
        break;
      }
      case 'unicodestringnl': {
        const [s, e] = line(at);
        arg = reprStr(rawUnicodeEscapeDecode(b, s, e));
        break;
      }
      case 'string1':
      case 'string4':
      case 'bytes1':
      case 'bytes4':
      case 'bytes8':
      case 'bytearray8':
      case 'unicodestring1':
      case 'unicodestring4':
      case 'unicodestring8': {
        const w = kind.endsWith('1') ? 1 : kind.endsWith('4') ? 4 : 8;
        need(w, at);
        // BINSTRING's count is signed (pickletools: "string4 byte count < 0"); the others are unsigned.
        const n = w === 1 ? (b[pos] as number) : w === 4 ? (kind === 'string4' ? b.readInt32LE(pos) : b.readUInt32LE(pos)) : Number(b.readBigUInt64LE(pos));
        if (n < 0) throw new UnpicklingError(`${kind} byte count < 0`, at);
        pos += w;
        need(n, at);
        if (kind.startsWith('unicode')) {
          try {
            arg = reprStr(decodeUtf8Surrogatepass(b, pos, pos + n));
          } catch {
            throw new UnpicklingError('invalid utf-8 in string argument', at);
          }
        } else arg = reprBytes(b.subarray(pos, pos + n));
        if (arg.length > 200) arg = arg.slice(0, 200) + '…';
        pos += n;
        break;
      }
    }
    if (op.name === 'STOP' || op.name === 'TUPLE' || op.name === 'LIST' || op.name === 'DICT' || op.name === 'APPENDS' ||
        op.name === 'SETITEMS' || op.name === 'POP_MARK' || op.name === 'FROZENSET' || op.name === 'ADDITEMS' ||
        op.name === 'INST' || op.name === 'OBJ') indent = Math.max(0, indent - 1);
    const ch = code >= 0x20 && code < 0x7f ? `'${String.fromCharCode(code)}'` : `'\\x${code.toString(16)}'`;
    lines.push(`${String(at).padStart(5)}: ${ch.padEnd(7)}${indentation(indent)}${op.name.padEnd(16)}${arg ? ' ' + arg : ''}`.trimEnd());
    if (op.name === 'MARK') indent++;
    if (op.name === 'STOP') break;
  }
  lines.push(`highest protocol among opcodes = ${highest(b, pos)}`);
  if (b.includes('numpy')) lines.push(...numpyLines(b.subarray(0, pos)));
  return lines.join('\n') + '\n';
}

/** The NumPy arrays of a pickle that names NumPy, one line each (decoded safely; none if it does not decode). */
function numpyLines(b: Buffer): string[] {
  try {
    return findArrays(loads(b)).map(arraySummary);
  } catch {
    return [];
  }
}

function highest(b: Buffer, end: number): number {
  // The PROTO opcode, when present, is the first one.
  if (end >= 2 && b[0] === 0x80) return b[1] as number;
  return 0;
}

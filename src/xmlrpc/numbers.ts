/**
 * Python's number text forms: `repr(float)` for writing `<double>`, and the `int()`, `float()` and
 * `Decimal()` string parsers for reading. These work on element text, never on XML.
 * @module
 * @internal
 */

/** True for the code units Python's `str.strip()` (and `int()`/`float()`) treat as whitespace. */
function isPyWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

const DIGITS = '\\d(?:_?\\d)*';
const INT_RE = new RegExp(`^[+-]?${DIGITS}$`);
const FLOAT_RE = new RegExp(`^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?)$`);
const FLOAT_SPECIAL_RE = /^([+-]?)(inf|infinity|nan)$/i;
const DECIMAL_RE = new RegExp(
  `^[+-]?(?:(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?)|inf|infinity|s?nan(?:${DIGITS})?)$`,
  'i',
);

/**
 * `str.strip()` with Python's whitespace set. A scan from each end, not a regex: `/^\s+|\s+$/g`
 * backtracks over every inner whitespace run, quadratic time on hostile number text.
 */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPyWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isPyWhitespace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Python's `repr(float)`: the shortest text that round-trips, fixed notation when the decimal
 * exponent is in [-4, 16), scientific (`1e+16`, `1e-05`) otherwise, always with a `.0` or an exponent.
 * @example pyFloatRepr(0.1) === '0.1'; pyFloatRepr(1e16) === '1e+16'; pyFloatRepr(-0) === '-0.0'
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest round-trip digits, like Python's repr.
  const exp = Math.abs(x).toExponential();
  const e = exp.indexOf('e');
  const digits = exp.slice(0, e).replace('.', '');
  const exponent = Number(exp.slice(e + 1));
  const decpt = exponent + 1;
  if (decpt > 16 || decpt <= -4) {
    const mantissa = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    const abs = Math.abs(exponent);
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/**
 * Python's `int(text)` for base-10 text (ASCII digits, `_` separators, surrounding whitespace):
 * a number when it is a safe integer, else a bigint; `undefined` when Python would raise.
 */
export function parsePyInt(text: string): number | bigint | undefined {
  const t = pyStrip(text);
  if (!INT_RE.test(t)) return undefined;
  const big = BigInt(t.replace(/_/g, ''));
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

/** Python's `float(text)`; `undefined` when Python would raise. */
export function parsePyFloat(text: string): number | undefined {
  const t = pyStrip(text);
  const special = FLOAT_SPECIAL_RE.exec(t);
  if (special) {
    if ((special[2] as string).toLowerCase() === 'nan') return Number.NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!FLOAT_RE.test(t)) return undefined;
  return Number(t.replace(/_/g, ''));
}

/** Python's `Decimal(text)` validation; the stripped text, or `undefined` when Python would raise. */
export function parsePyDecimal(text: string): string | undefined {
  const t = pyStrip(text);
  return DECIMAL_RE.test(t) ? t : undefined;
}

/**
 * The few value classes `mpwire/xmlrpc` needs beyond plain JS values: {@link DateTime} (Python's
 * `xmlrpc.client.DateTime`), {@link Double} (forces `<double>` for integral numbers) and
 * {@link Decimal} (what `<bigdecimal>` decodes to).
 * @module
 */
import { PyFloat } from '../pickle/model.js';

const ISO_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * An XML-RPC `dateTime.iso8601` value, like Python's `xmlrpc.client.DateTime`: it keeps the text
 * exactly as sent (stripped of surrounding whitespace), e.g. `'20240102T03:04:05'`. XML-RPC
 * datetimes are naive (no zone, no fraction); mpwire reads and writes them as **UTC** when
 * converting to or from a JS `Date`.
 * @example
 * ```ts
 * const [[dt]] = loads(xml);            // dt instanceof DateTime, dt.value === '20240102T03:04:05'
 * dt.toDate().toISOString();            // '2024-01-02T03:04:05.000Z'
 * dumps([DateTime.fromDate(new Date())]);
 * ```
 */
export class DateTime {
  /** The ISO 8601 text, `YYYYMMDDTHH:MM:SS` when well-formed (but any text a peer sent is kept). */
  readonly value: string;
  constructor(value: string | Date) {
    this.value = typeof value === 'string' ? value : formatDateTime(value);
  }

  /** The datetime of a `Date`, read in UTC, milliseconds dropped (Python drops microseconds too). */
  static fromDate(date: Date): DateTime {
    return new DateTime(date);
  }

  /**
   * The value as a `Date`, reading the naive time as UTC. Throws a `RangeError` if `value` is not
   * `YYYYMMDDTHH:MM:SS` (Python's `datetime.strptime(value, '%Y%m%dT%H:%M:%S')` fails likewise).
   */
  toDate(): Date {
    const d = parseDateTime(this.value);
    if (!d) throw new RangeError(`time data ${JSON.stringify(this.value)} does not match format '%Y%m%dT%H:%M:%S'`);
    return d;
  }

  /** True when `other` is a DateTime with the same text, or a Date with the same (UTC, whole-second) value. */
  equals(other: unknown): boolean {
    if (other instanceof DateTime) return other.value === this.value;
    if (other instanceof Date) return !Number.isNaN(other.getTime()) && safeFormat(other) === this.value;
    return false;
  }

  /** The `value` text. */
  toString(): string {
    return this.value;
  }

  /** JSON: the `value` text. */
  toJSON(): string {
    return this.value;
  }
}

function safeFormat(d: Date): string | undefined {
  try {
    return formatDateTime(d);
  } catch {
    return undefined;
  }
}

/**
 * Formats a `Date` (UTC fields) as `YYYYMMDDTHH:MM:SS`. Throws a `RangeError` for invalid dates and
 * years outside 1–9999 (Python's `datetime` range).
 * @internal
 */
export function formatDateTime(d: Date): string {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new RangeError('invalid Date');
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) throw new RangeError(`year ${y} is out of range 1..9999`);
  return (
    `${pad(y, 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}T` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`
  );
}

/**
 * Parses `YYYYMMDDTHH:MM:SS` (strictly, no surrounding whitespace) as a UTC `Date`; `undefined`
 * when the text does not match or names an impossible date.
 * @internal
 */
export function parseDateTime(text: string): Date | undefined {
  const m = ISO_RE.exec(text);
  if (!m) return undefined;
  const [y, mo, da, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (y < 1 || mo < 1 || mo > 12 || da < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(y, mo - 1, da);
  d.setUTCHours(h, mi, s, 0);
  if (d.getUTCDate() !== da) return undefined; // e.g. 20230230
  return d;
}

/**
 * A number that must be written as `<double>` even when it is integral (`new Double(1)` →
 * `<double>1.0</double>`, as Python writes the float `1.0`). Plain integral numbers are written as
 * `<int>`. `loads` gives one for an integral `<double>` with `wrapIntegralDoubles`.
 *
 * A Double is a `PyFloat` (the float of `mpwire/pickle`'s value model), so the pickle encoder
 * writes it as a float and the manager server gives it Python float semantics (`1.0 == 1`).
 * @example
 * ```ts
 * dumps([new Double(2)]); // …<value><double>2.0</double></value>…
 * ```
 */
export class Double extends PyFloat {}

/**
 * The value of a `<bigdecimal>` element (Python decodes it to `decimal.Decimal`). JS has no decimal
 * type, so the (whitespace-stripped, validated) text is kept; `toNumber()` converts lossily.
 * Like Python, `dumps` cannot marshal it back.
 * @example
 * ```ts
 * const [[d]] = loads('<params><param><value><bigdecimal>1.50</bigdecimal></value></param></params>');
 * (d as Decimal).value; // '1.50'
 * ```
 */
export class Decimal {
  /** @param value The decimal's text, e.g. `'1.50'`. */
  constructor(readonly value: string) {}
  /** The value as a JS number (lossy); `NaN`/`sNaN` give `NaN`, `Infinity`/`inf` give ±`Infinity`; underscores are ignored. */
  toNumber(): number {
    const v = this.value.replace(/_/g, '').toLowerCase();
    if (v === 'nan' || v === '+nan' || v === '-nan' || v.endsWith('snan')) return Number.NaN;
    if (/^[+-]?inf(inity)?$/.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
    return Number(v);
  }
  /** The `value` text. */
  toString(): string {
    return this.value;
  }
}

/**
 * The Python value model of `mpwire/pickle`: classes for Python types that have no exact JS
 * counterpart. Every model knows how to reduce itself back to pickle terms through
 * {@link pyReduce}, so the encoder needs no per-class code.
 * @module
 */

/**
 * A value's reduction: what the pickler writes to re-create it (Python's `__reduce_ex__` result).
 * @example
 * ```ts
 * class Point {
 *   constructor(readonly x: number, readonly y: number) {}
 *   [pyReduce](): Reduction {
 *     return { module: 'app.geometry', name: 'Point', args: [this.x, this.y] }; // Python: Point(x, y)
 *   }
 * }
 * dumps(new Point(1, 2));
 * ```
 */
export interface Reduction {
  /** Module of the callable (or class), e.g. `'datetime'`. */
  readonly module: string;
  /** Qualified name of the callable (or class), e.g. `'datetime'`. */
  readonly name: string;
  /** Positional arguments. */
  readonly args: readonly unknown[];
  /** Keyword arguments (NEWOBJ_EX only). */
  readonly kwargs?: Map<string, unknown> | undefined;
  /** State given to BUILD, if any. */
  readonly state?: unknown;
  /** `'reduce'` (callable(*args)), `'newobj'` (cls.__new__(cls, *args)), `'newobj_ex'`, or the protocol 0/1 instance forms `'inst'`/`'obj'`. */
  readonly via?: ObjectVia;
  /** Items appended after creation (list subclasses, deque). */
  readonly listItems?: readonly unknown[] | undefined;
  /** Items set after creation (dict subclasses). */
  readonly dictItems?: Iterable<readonly [unknown, unknown]> | undefined;
}

/**
 * How a placeholder object was created in the pickle.
 * @example
 * ```ts
 * const obj = loads(data, { exact: true }) as PyObject;
 * const via: ObjectVia = obj.via; // 'newobj' for a plain class instance at protocol 2+
 * ```
 */
export type ObjectVia = 'reduce' | 'newobj' | 'newobj_ex' | 'inst' | 'obj';

/**
 * Symbol of the method that gives a value's {@link Reduction}. Implement it on your own classes
 * to make them picklable: `[pyReduce]() { return { module: 'app', name: 'Point', args: [this.x, this.y] }; }`.
 * @example
 * ```ts
 * class Money {
 *   constructor(readonly amount: string) {}
 *   [pyReduce]() { return { module: 'decimal', name: 'Decimal', args: [this.amount] }; }
 * }
 * dumps(new Money('9.99')); // unpickles in Python as Decimal('9.99')
 * ```
 */
export const pyReduce: unique symbol = Symbol.for('mpwire.pickle.reduce');
/**
 * Symbol of the method that receives BUILD state (Python's `__setstate__`).
 * @example
 * ```ts
 * class Config {
 *   values: Record<string, unknown> = {};
 *   [pySetState](state: unknown) { this.values = state as Record<string, unknown>; }
 * }
 * ```
 */
export const pySetState: unique symbol = Symbol.for('mpwire.pickle.setstate');

/**
 * A value with a {@link pyReduce} method.
 * @example
 * ```ts
 * const r: Reducible = new PyDate(2024, 2, 29);
 * r[pyReduce](); // { module: 'datetime', name: 'date', args: [<packed bytes>] }
 * ```
 */
export interface Reducible {
  /** The reduction the pickler writes in place of this value. */
  [pyReduce](): Reduction;
}

/**
 * True when `v` implements {@link pyReduce}.
 * @example
 * ```ts
 * if (isReducible(value)) console.log(value[pyReduce]().module);
 * ```
 */
export function isReducible(v: unknown): v is Reducible {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Reducible>)[pyReduce] === 'function';
}

/**
 * A Python `tuple` (exact mode; default mode gives plain arrays).
 * @example
 * ```ts
 * const t = loads(dumps(tuple(1, 2)), { exact: true });
 * t instanceof Tuple; // true: a Python tuple, not a list
 * ```
 */
export class Tuple<T = unknown> extends Array<T> {
  /** `Array`: `map`, `slice` and other derived arrays of a Tuple are plain arrays. */
  declare static readonly [Symbol.species]: ArrayConstructor;
}
// `map`/`slice`/… of a Tuple give plain arrays. Defined after the class on purpose: a static
// accessor in the class body makes V8 construct every Tuple through the runtime (~1 µs instead of
// ~30 ns per `new Tuple()`); defineProperty gives the same property (getter, non-enumerable).
Object.defineProperty(Tuple, Symbol.species, {
  get(): ArrayConstructor {
    return Array;
  },
  enumerable: false,
  configurable: true,
});

/**
 * Make a {@link Tuple} from items.
 * @example
 * ```ts
 * await conn.send(tuple('point', 1, 2)); // Python receives ('point', 1, 2)
 * ```
 */
export function tuple<T extends unknown[]>(...items: T): Tuple<T[number]> {
  // Sized construction and index stores: push() on an Array subclass leaves V8's fast path.
  const n = items.length;
  const t = new Tuple<T[number]>(n);
  for (let i = 0; i < n; i++) t[i] = items[i];
  return t;
}

/**
 * A Python `float` (exact mode wraps every float so that `1.0` stays a float and never becomes an int).
 * @example
 * ```ts
 * dumps(new PyFloat(1));                       // Python receives 1.0, not 1
 * loads(dumps(new PyFloat(1)), { exact: true }); // PyFloat { value: 1 }
 * ```
 */
export class PyFloat {
  /** @param value The float's value. */
  constructor(readonly value: number) {}
  /** The number, so that a PyFloat works in arithmetic and comparisons. */
  valueOf(): number {
    return this.value;
  }
  /** The value as JS formats it (`String(value)`). */
  toString(): string {
    return String(this.value);
  }
}

/**
 * A Python `bytearray` (exact mode; default mode gives a `Buffer`).
 * @example
 * ```ts
 * dumps(ByteArray.fromBytes(Buffer.from('abc'))); // Python receives bytearray(b'abc')
 * ```
 */
export class ByteArray extends Uint8Array {
  /** Copy bytes into a new ByteArray. */
  static fromBytes(b: Uint8Array): ByteArray {
    const r = new ByteArray(b.length);
    r.set(b);
    return r;
  }
}

/**
 * A Python `frozenset` (exact mode; default mode gives a `Set`).
 * @example
 * ```ts
 * dumps(new FrozenSet(['a', 'b'])); // Python receives frozenset({'a', 'b'})
 * ```
 */
export class FrozenSet<T = unknown> extends Set<T> {}

/**
 * A reference to a Python global (a class or function) by module and qualified name. Nothing is imported.
 * @example
 * ```ts
 * dumps(new PyGlobal('builtins', 'len')); // Python receives the function len
 * // Received globals are never imported: loads(...) gives PyGlobal { module, name }
 * ```
 */
export class PyGlobal {
  constructor(
    /** Module name, e.g. `'builtins'`. */
    readonly module: string,
    /** Qualified name within the module, e.g. `'len'`. */
    readonly name: string,
  ) {}
  /** `module.name`, e.g. `'builtins.len'`. */
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * A persistent id (PERSID/BINPERSID); kept as is, never resolved.
 * @example
 * ```ts
 * const v = loads(data); // a pickle with persistent ids and no persistentLoad
 * if (v instanceof PyPersistentId) console.log('refers to', v.pid);
 * ```
 */
export class PyPersistentId {
  /** @param pid The persistent id as it was pickled. */
  constructor(readonly pid: unknown) {}
}

/**
 * An inert placeholder for an instance of a Python class mpwire has no model for: the callable,
 * its arguments and the state given to BUILD. It re-encodes to the same opcodes' meaning.
 * @example
 * ```ts
 * const obj = loads(data) as PyObject; // an instance of a class mpwire does not know
 * console.log(obj.callable, obj.state); // PyGlobal('app', 'User'), { name: 'ada' }
 * dumps(obj); // re-encodes to the same meaning
 * ```
 */
export class PyObject implements Reducible {
  /** State from BUILD (`undefined` when there was none). */
  state: unknown = undefined;
  /** Items appended with APPEND/APPENDS (list subclasses). */
  listItems: unknown[] | undefined = undefined;
  /** Items set with SETITEM/SETITEMS (dict subclasses). */
  dictItems: Map<unknown, unknown> | undefined = undefined;
  constructor(
    /** The callable or class, usually a {@link PyGlobal}. */
    readonly callable: unknown,
    /** Positional arguments. */
    readonly args: unknown[] = [],
    /** How it was created. */
    readonly via: ObjectVia = 'reduce',
    /** Keyword arguments (NEWOBJ_EX). */
    readonly kwargs: Map<string, unknown> | undefined = undefined,
  ) {}
  /**
   * The class being instantiated: the callable itself, or the class argument of
   * `copyreg._reconstructor` / `copyreg.__newobj__` (protocol 0/1 forms).
   */
  get cls(): unknown {
    const c = this.callable;
    if (c instanceof PyGlobal && c.module === 'copyreg' && (c.name === '_reconstructor' || c.name === '__newobj__' || c.name === '__newobj_ex__'))
      return this.args[0];
    return c;
  }
  /** Module of the class, or `''` when it is not a global. */
  get module(): string {
    const c = this.cls;
    return c instanceof PyGlobal ? c.module : '';
  }
  /** Qualified name of the class, or `''` when it is not a global. */
  get name(): string {
    const c = this.cls;
    return c instanceof PyGlobal ? c.name : '';
  }
  /** How the pickler writes this value: the callable, arguments, state and items it was decoded with. */
  [pyReduce](): Reduction {
    const c = this.callable;
    return {
      module: c instanceof PyGlobal ? c.module : '',
      name: c instanceof PyGlobal ? c.name : '',
      args: this.args,
      kwargs: this.kwargs,
      state: this.state,
      via: this.via,
      listItems: this.listItems,
      dictItems: this.dictItems,
    };
  }
  /** Keeps BUILD's state in `state`. */
  [pySetState](state: unknown): void {
    this.state = state;
  }
}

/** The `n` state bytes of a date/time model (a Python 2 pickle's latin-1 str converted, after its length is checked). */
function bytesOf(v: unknown, what: string, n: number): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') {
    if (v.length !== n) throw new TypeError(`bad ${what} state`);
    // Python 2 pickles carry these states as str, decoded here as latin-1 code units.
    const b = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c > 255) throw new TypeError(`bad ${what} state`);
      b[i] = c;
    }
    return b;
  }
  throw new TypeError(`bad ${what} state`);
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/**
 * Python `datetime.timedelta`.
 * @example
 * ```ts
 * dumps(new PyTimedelta(1, 3600, 0)); // timedelta(days=1, seconds=3600)
 * ```
 */
export class PyTimedelta implements Reducible {
  constructor(
    /** `timedelta.days` (may be negative). */
    readonly days: number,
    /** `timedelta.seconds` (0–86399 in a normalized timedelta). */
    readonly seconds: number,
    /** `timedelta.microseconds` (0–999999 in a normalized timedelta). */
    readonly microseconds: number,
  ) {}
  /** Total length in milliseconds (float). */
  toMilliseconds(): number {
    return this.days * 86_400_000 + this.seconds * 1000 + this.microseconds / 1000;
  }
  /** How the pickler writes this value: `datetime.timedelta(days, seconds, microseconds)`. */
  [pyReduce](): Reduction {
    return { module: 'datetime', name: 'timedelta', args: [this.days, this.seconds, this.microseconds] };
  }
}

/**
 * Python `datetime.timezone` (a fixed offset).
 * @example
 * ```ts
 * const utc2 = new PyTimezone(new PyTimedelta(0, 7200, 0));
 * dumps(new PyDatetime(2024, 5, 1, 12, 0, 0, 0, utc2));
 * ```
 */
export class PyTimezone implements Reducible {
  constructor(
    /** Offset east of UTC. */
    readonly offset: PyTimedelta,
    /** The name given as `timezone(offset, name)`, or `undefined` when none was. */
    readonly tzname: string | undefined = undefined,
  ) {}
  /** Offset east of UTC in milliseconds. */
  get offsetMilliseconds(): number {
    return this.offset.toMilliseconds();
  }
  /** How the pickler writes this value: `datetime.timezone(offset[, tzname])`. */
  [pyReduce](): Reduction {
    return {
      module: 'datetime',
      name: 'timezone',
      args: this.tzname === undefined ? [this.offset] : [this.offset, this.tzname],
    };
  }
}

/**
 * Python `datetime.date`.
 * @example
 * ```ts
 * dumps(new PyDate(2024, 2, 29)); // datetime.date(2024, 2, 29)
 * ```
 */
export class PyDate implements Reducible {
  constructor(
    /** Year. */
    readonly year: number,
    /** Month, 1–12 (not 0-based as in JS `Date`). */
    readonly month: number,
    /** Day of the month (from 1). */
    readonly day: number,
  ) {}
  /** Decode the 4-byte state CPython pickles a date with (latin-1 `str` in Python 2 pickles); `TypeError` when malformed. */
  static fromState(s: unknown): PyDate {
    const b = bytesOf(s, 'date', 4);
    if (b.length !== 4) throw new TypeError('bad date state');
    return new PyDate((b[0] as number) * 256 + (b[1] as number), b[2] as number, b[3] as number);
  }
  /** Midnight UTC of this date. */
  toDate(): Date {
    const d = new Date(Date.UTC(2000, this.month - 1, this.day));
    d.setUTCFullYear(this.year);
    return d;
  }
  /** ISO form as Python's `str()` writes it: `'2024-02-29'`. */
  toString(): string {
    return `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}`;
  }
  /** How the pickler writes this value: `datetime.date(<4 state bytes>)`, as CPython does. */
  [pyReduce](): Reduction {
    return {
      module: 'datetime',
      name: 'date',
      args: [Buffer.from([this.year >> 8, this.year & 255, this.month, this.day])],
    };
  }
}

/**
 * Python `datetime.time` (microseconds, tzinfo and fold kept).
 * @example
 * ```ts
 * dumps(new PyTime(13, 30, 0, 250_000)); // datetime.time(13, 30, 0, 250000)
 * ```
 */
export class PyTime implements Reducible {
  constructor(
    /** Hour, 0–23. */
    readonly hour: number,
    /** Minute, 0–59. */
    readonly minute: number,
    /** Second, 0–59. */
    readonly second: number,
    /** Microsecond, 0–999999. Default 0. */
    readonly microsecond: number = 0,
    /** The `tzinfo` (e.g. a {@link PyTimezone}), or `null` for a naive time. */
    readonly tzinfo: unknown = null,
    /** `fold` (PEP 495): 1 for the second of two repeated wall times, else 0. */
    readonly fold: number = 0,
  ) {}
  /** Decode the 6-byte state CPython pickles a time with, plus its `tzinfo`; `TypeError` when malformed. */
  static fromState(s: unknown, tz: unknown): PyTime {
    const b = bytesOf(s, 'time', 6);
    if (b.length !== 6) throw new TypeError('bad time state');
    const h = b[0] as number;
    const us = ((b[3] as number) << 16) | ((b[4] as number) << 8) | (b[5] as number);
    return new PyTime(h & 127, b[1] as number, b[2] as number, us, tz ?? null, h > 127 ? 1 : 0);
  }
  /** As Python's `str()` without the UTC offset: `'13:05:09'`, or `'13:05:09.000250'` with microseconds. */
  toString(): string {
    return `${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}${this.microsecond ? '.' + pad(this.microsecond, 6) : ''}`;
  }
  /** How the pickler writes this value: `datetime.time(<6 state bytes>[, tzinfo])`, as CPython does. */
  [pyReduce](): Reduction {
    const us = this.microsecond;
    const st = Buffer.from([this.hour | (this.fold ? 128 : 0), this.minute, this.second, us >> 16, (us >> 8) & 255, us & 255]);
    return { module: 'datetime', name: 'time', args: this.tzinfo == null ? [st] : [st, this.tzinfo] };
  }
}

/**
 * Python `datetime.datetime` (microseconds, tzinfo and fold kept).
 * @example
 * ```ts
 * dumps(PyDatetime.fromDate(new Date())); // a naive datetime.datetime
 * dumps(new PyDatetime(2024, 5, 1, 12, 30));
 * ```
 */
export class PyDatetime implements Reducible {
  constructor(
    /** Year. */
    readonly year: number,
    /** Month, 1–12 (not 0-based as in JS `Date`). */
    readonly month: number,
    /** Day of the month (from 1). */
    readonly day: number,
    /** Hour, 0–23. Default 0. */
    readonly hour: number = 0,
    /** Minute, 0–59. Default 0. */
    readonly minute: number = 0,
    /** Second, 0–59. Default 0. */
    readonly second: number = 0,
    /** Microsecond, 0–999999. Default 0. */
    readonly microsecond: number = 0,
    /** The `tzinfo` (e.g. a {@link PyTimezone}), or `null` for a naive datetime. */
    readonly tzinfo: unknown = null,
    /** `fold` (PEP 495): 1 for the second of two repeated wall times, else 0. */
    readonly fold: number = 0,
  ) {}
  /** Decode the 10-byte state CPython pickles a datetime with, plus its `tzinfo`; `TypeError` when malformed. */
  static fromState(s: unknown, tz: unknown): PyDatetime {
    const b = bytesOf(s, 'datetime', 10);
    if (b.length !== 10) throw new TypeError('bad datetime state');
    const m = b[2] as number;
    const us = ((b[7] as number) << 16) | ((b[8] as number) << 8) | (b[9] as number);
    return new PyDatetime(
      (b[0] as number) * 256 + (b[1] as number),
      m & 127,
      b[3] as number,
      b[4] as number,
      b[5] as number,
      b[6] as number,
      us,
      tz ?? null,
      m > 127 ? 1 : 0,
    );
  }
  /**
   * Convert to a JS `Date` (millisecond precision). A naive datetime is read as UTC unless
   * `naiveAs: 'local'`; an aware one uses its `timezone` offset.
   */
  toDate(naiveAs: 'utc' | 'local' = 'utc'): Date {
    const ms = Math.floor(this.microsecond / 1000);
    let d: Date;
    if (this.tzinfo == null && naiveAs === 'local') {
      d = new Date(2000, this.month - 1, this.day, this.hour, this.minute, this.second, ms);
      d.setFullYear(this.year);
      return d;
    }
    d = new Date(Date.UTC(2000, this.month - 1, this.day, this.hour, this.minute, this.second, ms));
    d.setUTCFullYear(this.year);
    if (this.tzinfo instanceof PyTimezone) d = new Date(d.getTime() - this.tzinfo.offsetMilliseconds);
    return d;
  }
  /**
   * Build a naive (UTC wall clock) or `timezone.utc`-aware datetime from a JS `Date`; `RangeError`
   * for an invalid Date or one outside Python's years 1–9999.
   */
  static fromDate(d: Date, aware = false): PyDatetime {
    if (Number.isNaN(d.getTime())) throw new RangeError('invalid Date');
    const y = d.getUTCFullYear();
    if (y < 1 || y > 9999) throw new RangeError(`year ${y} is outside Python's datetime range (1 to 9999)`);
    return new PyDatetime(
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds() * 1000,
      aware ? new PyTimezone(new PyTimedelta(0, 0, 0)) : null,
    );
  }
  /** As Python's `str()` without the UTC offset: `'2024-02-29 13:05:09'`, microseconds when not 0. */
  toString(): string {
    return `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)} ${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}${this.microsecond ? '.' + pad(this.microsecond, 6) : ''}`;
  }
  /** How the pickler writes this value: `datetime.datetime(<10 state bytes>[, tzinfo])`, as CPython does. */
  [pyReduce](): Reduction {
    const us = this.microsecond;
    const st = Buffer.from([
      this.year >> 8,
      this.year & 255,
      this.month | (this.fold ? 128 : 0),
      this.day,
      this.hour,
      this.minute,
      this.second,
      us >> 16,
      (us >> 8) & 255,
      us & 255,
    ]);
    return { module: 'datetime', name: 'datetime', args: this.tzinfo == null ? [st] : [st, this.tzinfo] };
  }
}

/**
 * Python `decimal.Decimal`, kept as its exact string form.
 * @example
 * ```ts
 * dumps(new PyDecimal('0.10')); // Decimal('0.10'), exact digits kept
 * ```
 */
export class PyDecimal implements Reducible {
  /** @param value The decimal's exact string form, e.g. `'0.10'`. */
  constructor(readonly value: string) {}
  /** The exact decimal string, as Python's `str()` writes it: `'0.10'`, `'NaN'`. */
  toString(): string {
    return this.value;
  }
  /** `Number(value)` (may lose precision). */
  toNumber(): number {
    return Number(this.value);
  }
  /** How the pickler writes this value: `decimal.Decimal(value)`. */
  [pyReduce](): Reduction {
    return { module: 'decimal', name: 'Decimal', args: [this.value] };
  }
}

/**
 * Longest decimal digit string parsed into a bigint here: `DEFAULT_LIMITS.maxIntDigits` of loads.ts
 * (a test keeps them equal). model.ts cannot import loads.ts (it imports this module) and the
 * per-call `maxIntDigits` option does not reach models, so the default applies: decimal parsing is
 * super-linear, and 8M digits took seconds.
 */
export const MAX_INT_DIGITS = 1_000_000;

/** A decimal digit string as a bigint; `RangeError` past {@link MAX_INT_DIGITS} digits. */
function digits(s: string): bigint {
  if (s.length - (s.startsWith('-') ? 1 : 0) > MAX_INT_DIGITS) throw new RangeError(`integer string of ${s.length} digits exceeds the limit of ${MAX_INT_DIGITS}`);
  return BigInt(s);
}

/** A UUID's `int` from its BUILD state (an int; a digit string is bounded like one). */
function uuidInt(i: unknown): bigint {
  if (typeof i === 'bigint') return i;
  if (typeof i === 'string') return digits(i);
  return BigInt(i as number);
}

/**
 * Python `fractions.Fraction`.
 * @example
 * ```ts
 * dumps(new PyFraction(1n, 3n)); // Fraction(1, 3)
 * ```
 */
export class PyFraction implements Reducible {
  constructor(
    /** Numerator (carries the sign). */
    readonly numerator: bigint,
    /** Denominator. */
    readonly denominator: bigint,
  ) {}
  /** Parse `'n'` or `'n/d'` (the string a Fraction pickles as); `TypeError` otherwise. */
  static parse(s: string): PyFraction {
    const m = /^\s*(-?\d+)(?:\/(\d+))?\s*$/.exec(s);
    if (!m) throw new TypeError('bad Fraction state');
    return new PyFraction(digits(m[1] as string), digits(m[2] ?? '1'));
  }
  /** As Python's `str()`: `'3/4'`, or `'2'` when the denominator is 1. */
  toString(): string {
    return this.denominator === 1n ? String(this.numerator) : `${this.numerator}/${this.denominator}`;
  }
  /** How the pickler writes this value: `fractions.Fraction('n/d')`. */
  [pyReduce](): Reduction {
    return { module: 'fractions', name: 'Fraction', args: [this.toString()] };
  }
}

/**
 * Python `complex`.
 * @example
 * ```ts
 * dumps(new PyComplex(1, -2)); // (1-2j)
 * ```
 */
export class PyComplex implements Reducible {
  constructor(
    /** Real part. */
    readonly real: number,
    /** Imaginary part. */
    readonly imag: number,
  ) {}
  /** How the pickler writes this value: `complex(real, imag)`, both parts as floats. */
  [pyReduce](): Reduction {
    return { module: 'builtins', name: 'complex', args: [new PyFloat(this.real), new PyFloat(this.imag)] };
  }
}

/**
 * Python `range`.
 * @example
 * ```ts
 * dumps(new PyRange(0, 10, 2)); // range(0, 10, 2)
 * ```
 */
export class PyRange implements Reducible {
  constructor(
    /** First value. */
    readonly start: number | bigint,
    /** End value (excluded). */
    readonly stop: number | bigint,
    /** Step. Default 1. */
    readonly step: number | bigint = 1,
  ) {}
  /** How the pickler writes this value: `range(start, stop, step)`. */
  [pyReduce](): Reduction {
    return { module: 'builtins', name: 'range', args: [this.start, this.stop, this.step] };
  }
}

/**
 * Python `slice`.
 * @example
 * ```ts
 * dumps(new PySlice(1, null, 2)); // slice(1, None, 2)
 * ```
 */
export class PySlice implements Reducible {
  constructor(
    /** `slice.start` (`null` for None). */
    readonly start: unknown,
    /** `slice.stop` (`null` for None). */
    readonly stop: unknown,
    /** `slice.step` (`null` for None). */
    readonly step: unknown,
  ) {}
  /** How the pickler writes this value: `slice(start, stop, step)`. */
  [pyReduce](): Reduction {
    return { module: 'builtins', name: 'slice', args: [this.start, this.stop, this.step] };
  }
}

/**
 * Python `uuid.UUID`.
 * @example
 * ```ts
 * dumps(PyUUID.parse('12345678-1234-5678-1234-567812345678')); // uuid.UUID(...)
 * ```
 */
export class PyUUID implements Reducible {
  /** Extra state besides `int` (e.g. `is_safe`), kept for re-encoding. */
  extra: Map<unknown, unknown> | undefined = undefined;
  /** @param int The UUID as a 128-bit integer. */
  constructor(readonly int: bigint) {}
  /** Canonical `xxxxxxxx-xxxx-…` form. */
  toString(): string {
    const h = this.int.toString(16).padStart(32, '0');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  /** Parse the hex form, with or without dashes, braces or a `urn:uuid:` prefix. */
  static parse(s: string): PyUUID {
    return new PyUUID(BigInt('0x' + s.replace(/[-{}]|urn:uuid:/g, '')));
  }
  /** How the pickler writes this value: `UUID.__new__`, then BUILD with a state dict of `int` (and the other `extra` entries). */
  [pyReduce](): Reduction {
    const st = new Map<unknown, unknown>();
    if (this.extra) for (const [k, v] of this.extra) st.set(k, k === 'int' || (k instanceof Uint8Array && Buffer.from(k).toString('latin1') === 'int') ? this.int : v);
    if (st.size === 0) st.set('int', this.int);
    return { module: 'uuid', name: 'UUID', args: [], via: 'newobj', state: st };
  }
  /** Reads `int` from BUILD's state (a dict) and keeps the whole state in `extra`. */
  [pySetState](state: unknown): void {
    if (state instanceof Map) {
      this.extra = state;
      for (const [k, i] of state) {
        if (k === 'int' || (k instanceof Uint8Array && Buffer.from(k).toString('latin1') === 'int'))
          (this as { int: bigint }).int = uuidInt(i);
      }
    } else if (state && typeof state === 'object' && 'int' in state) {
      const i = (state as { int: unknown }).int;
      (this as { int: bigint }).int = uuidInt(i);
      this.extra = new Map(Object.entries(state));
    }
  }
}

/**
 * Python `collections.OrderedDict`.
 * @example
 * ```ts
 * dumps(new OrderedDict([['b', 1], ['a', 2]])); // OrderedDict([('b', 1), ('a', 2)])
 * ```
 */
export class OrderedDict<K = unknown, V = unknown> extends Map<K, V> implements Reducible {
  /** The instance's `__dict__` as BUILD gave it (an OrderedDict with attributes), else `undefined`. */
  state: unknown = undefined;
  /** How the pickler writes this value: `collections.OrderedDict()`, then the entries as dict items, in order, then `state` (BUILD) when set. */
  [pyReduce](): Reduction {
    return { module: 'collections', name: 'OrderedDict', args: [], dictItems: this, state: this.state };
  }
  /** Keeps BUILD's state (the attributes of the Python instance) in `state`. */
  [pySetState](state: unknown): void {
    this.state = state;
  }
}

/**
 * Python `collections.defaultdict`; `defaultFactory` is usually a {@link PyGlobal} such as `builtins.list`.
 * @example
 * ```ts
 * const d = new DefaultDict<string, string[]>([['k', ['v']]]);
 * d.defaultFactory = new PyGlobal('builtins', 'list');
 * dumps(d); // defaultdict(<class 'list'>, {'k': ['v']})
 * ```
 */
export class DefaultDict<K = unknown, V = unknown> extends Map<K, V> implements Reducible {
  /** Python's `default_factory` (e.g. `PyGlobal('builtins', 'list')`); `null` for None, the default. */
  defaultFactory: unknown = null;
  /** How the pickler writes this value: `collections.defaultdict(defaultFactory)`, then the entries as dict items. */
  [pyReduce](): Reduction {
    return { module: 'collections', name: 'defaultdict', args: [this.defaultFactory], dictItems: this };
  }
}

/**
 * Python `collections.Counter`.
 * @example
 * ```ts
 * dumps(new Counter([['apple', 3], ['pear', 1]])); // Counter({'apple': 3, 'pear': 1})
 * ```
 */
export class Counter<K = unknown> extends Map<K, unknown> implements Reducible {
  /** How the pickler writes this value: `collections.Counter({...})` of the entries. */
  [pyReduce](): Reduction {
    return { module: 'collections', name: 'Counter', args: [new Map(this)] };
  }
}

/**
 * Python `collections.deque`.
 * @example
 * ```ts
 * const q = Deque.from([1, 2, 3]) as Deque<number>;
 * q.maxlen = 10;
 * dumps(q); // deque([1, 2, 3], maxlen=10)
 * ```
 */
export class Deque<T = unknown> extends Array<T> implements Reducible {
  /** Python's `maxlen`, or `null` (the default) for no limit; sent, not enforced here. */
  maxlen: number | null = null;
  /** `Array`: `map`, `slice` and other derived arrays of a Deque are plain arrays. */
  declare static readonly [Symbol.species]: ArrayConstructor;
  /** How the pickler writes this value: `collections.deque(items, maxlen)`. */
  [pyReduce](): Reduction {
    return { module: 'collections', name: 'deque', args: [Array.from(this), this.maxlen] };
  }
}
// As for Tuple: species defined outside the class body keeps `new Deque()` on V8's fast path.
Object.defineProperty(Deque, Symbol.species, {
  get(): ArrayConstructor {
    return Array;
  },
  enumerable: false,
  configurable: true,
});

/** Values an exception message visits before it ends in `…`. */
const MESSAGE_VALUES = 1000;
/** Characters of an exception message made from containers, at most (single str args are kept whole). */
const MESSAGE_CHARS = 10_000;

/**
 * `String(arg)` for one argument, `JSON.stringify(args)` (bigints as strings) for several, as
 * ordinary args always printed; but each container is expanded once (later references to it,
 * shared or cyclic, print as `…`) and at most {@link MESSAGE_VALUES} values and about
 * {@link MESSAGE_CHARS} characters are produced, so a pickle of nested shared tuples cannot make
 * an exponentially long message (it did: 80 bytes gave 134M characters). Internal (not in the index).
 */
export function exceptionMessage(args: readonly unknown[]): string {
  const seen = new Set<object>();
  let values = MESSAGE_VALUES;
  let chars = MESSAGE_CHARS;
  if (args.length === 1) {
    // Array.prototype.toString (join with ','), bounded.
    const join = (a: readonly unknown[]): string => {
      seen.add(a);
      const parts: string[] = [];
      for (const x of a) {
        if (--values < 0 || chars < 0) {
          parts.push('…');
          break;
        }
        const p = x == null ? '' : Array.isArray(x) ? (seen.has(x) ? '…' : join(x)) : String(x);
        chars -= p.length + 1;
        parts.push(chars < 0 ? p.slice(0, Math.max(0, p.length + chars)) + '…' : p);
      }
      return parts.join(',');
    };
    const a = args[0];
    return Array.isArray(a) ? join(a) : String(a);
  }
  if (args.length === 0) return '';
  const full = Symbol('budget');
  try {
    return JSON.stringify(args, (_k, v: unknown) => {
      if (--values < 0) throw full;
      if (typeof v === 'bigint') v = String(v);
      if (typeof v === 'string' && (chars -= v.length) < 0) throw full;
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '…';
        seen.add(v);
      }
      return v;
    });
  } catch (e) {
    if (e !== full) throw e;
  }
  // Over budget: the first arguments, one level deep.
  const shallow = (v: unknown): string =>
    typeof v === 'string' ? JSON.stringify(v.length > 200 ? v.slice(0, 200) + '…' : v)
    : typeof v === 'bigint' ? `"${v}"`
    : typeof v === 'number' || typeof v === 'boolean' || v === null ? JSON.stringify(v)
    : Array.isArray(v) ? '[…]'
    : '{…}';
  return `[${args.slice(0, 10).map(shallow).join(',')}${args.length > 10 ? ',…' : ''}]`;
}

/**
 * A Python exception instance (type name, args and `__dict__` state).
 * @example
 * ```ts
 * await conn.send(new PyException('builtins', 'ValueError', ['bad value'])); // Python: ValueError('bad value')
 * const e = loads(data); // an exception pickled by Python
 * if (e instanceof PyException) console.log(e.type, e.args);
 * ```
 */
export class PyException extends Error implements Reducible {
  /** Instance `__dict__` (or other BUILD state). */
  state: unknown = undefined;
  constructor(
    /** Python module, e.g. `'builtins'`. */
    readonly module: string,
    /** Python type name, e.g. `'KeyError'`. */
    readonly type: string,
    /** Exception arguments. */
    readonly args: unknown[],
  ) {
    super(exceptionMessage(args));
  }
  /** The Python type name, e.g. `'KeyError'`. */
  override get name(): string {
    return this.type;
  }
  /** How the pickler writes this value: the class called with `args`, plus BUILD with `state` when set. */
  [pyReduce](): Reduction {
    return { module: this.module, name: this.type, args: this.args, state: this.state };
  }
  /** Keeps BUILD's state in `state`. */
  [pySetState](state: unknown): void {
    this.state = state;
  }
}

/**
 * The builtin exception names mapped to {@link PyException}.
 * @example
 * ```ts
 * BUILTIN_EXCEPTIONS.has('KeyError'); // true: loads gives a PyException for it
 * ```
 */
export const BUILTIN_EXCEPTIONS: ReadonlySet<string> = new Set(
  (
    'BaseException Exception ArithmeticError AssertionError AttributeError BlockingIOError BrokenPipeError BufferError ' +
    'ChildProcessError ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError EOFError ' +
    'EnvironmentError FileExistsError FileNotFoundError FloatingPointError GeneratorExit IOError ImportError ' +
    'IndentationError IndexError InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ' +
    'ModuleNotFoundError NameError NotADirectoryError NotImplementedError OSError OverflowError PermissionError ' +
    'ProcessLookupError RecursionError ReferenceError RuntimeError StopAsyncIteration StopIteration SyntaxError ' +
    'SystemError SystemExit TabError TimeoutError TypeError UnboundLocalError UnicodeError ValueError ZeroDivisionError ' +
    'Warning UserWarning DeprecationWarning RuntimeWarning StandardError'
  ).split(' '),
);

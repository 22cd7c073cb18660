/**
 * The marshaller: JS values → XML-RPC text, byte-for-byte what CPython's `xmlrpc.client.dumps`
 * writes (same element order, same newlines, `repr(float)`, `base64.encodebytes` line breaks).
 * Organised like CPython's `Marshaller`: one `dump*` method per type behind a type dispatch.
 * @module
 */
import { PyFloat } from '../pickle/model.js';
import { Fault, MarshalError, OverflowError } from './errors.js';
import { pyFloatRepr } from './numbers.js';
import { DateTime, Decimal, formatDateTime } from './types.js';
import { DEFAULT_MAX_DEPTH } from './unmarshal.js';

/**
 * Options of {@link dumps}, named after Python's `xmlrpc.client.dumps` parameters.
 * @example
 * ```ts
 * const xml = dumps([42], { methodname: 'add', allowNone: true });
 * ```
 */
export interface DumpsOptions {
  /** Wrap the params in `<methodCall>` with this `<methodName>` (escaped, as Python 3.14+ does). */
  methodname?: string;
  /** Wrap the params (exactly one) in `<methodResponse>`. Implied when dumping a {@link Fault}. */
  methodresponse?: boolean;
  /** Allow `null` (written as `<nil/>`). Default `false`, like Python's `allow_none`. */
  allowNone?: boolean;
  /**
   * Write `undefined` (also as an array item or a member value) as `null`, i.e. `<nil/>` (so it
   * needs `allowNone`), the way the pickle encoder writes it as `None`. Default `false`: `undefined`
   * is a {@link MarshalError}.
   */
  undefinedAsNone?: boolean;
  /**
   * Encoding named in the `<?xml?>` declaration of a methodCall/methodResponse (default `'utf-8'`,
   * which is not named). `dumps` always returns a string; encoding it is the caller's business.
   */
  encoding?: string;
}

/**
 * XML-RPC's `<int>` range, as Python's `MAXINT`/`MININT`.
 * @example
 * ```ts
 * const n = 3_000_000_000;
 * const param = n > MAXINT ? new Double(n) : n; // <int> holds 32 bits; larger numbers need <double>
 * ```
 */
export const MAXINT = 2 ** 31 - 1;
/**
 * @see MAXINT
 * @example
 * ```ts
 * if (n < MININT || n > MAXINT) throw new RangeError('does not fit an XML-RPC <int>');
 * ```
 */
export const MININT = -(2 ** 31);

/**
 * Deepest array/struct nesting `dumps` writes: the most whose document `loads` accepts at
 * its default maxDepth (3 elements per level, at most 5 around them: methodCall, params, param,
 * value, int). CPython's `dumps` stops at about 497; deeper values would overflow the stack.
 */
export const MAX_NESTING = Math.floor((DEFAULT_MAX_DEPTH - 5) / 3);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Python's `xmlrpc.client.escape`: only `&`, `<` and `>` are replaced.
 * @example
 * ```ts
 * escape('a < b & c'); // 'a &lt; b &amp; c'
 * ```
 */
export function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Python's `base64.encodebytes`: 76-character lines (57 input bytes), each ending in `\n`. */
function encodebytes(data: Uint8Array): string {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let out = '';
  for (let i = 0; i < buf.length; i += 57) out += `${buf.subarray(i, i + 57).toString('base64')}\n`;
  return out;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object';
}

/**
 * Generates an XML-RPC params (or fault) chunk, like CPython's `Marshaller`. One instance per
 * call; `memo` detects recursive arrays and structs, `depth` bounds their nesting.
 */
class Marshaller {
  private readonly out: string[] = [];
  private readonly memo = new Set<object>();
  /** Arrays and structs open around the value being dumped. */
  private depth = 0;
  constructor(
    private readonly allowNone: boolean,
    private readonly undefinedAsNone: boolean,
  ) {}

  dumps(values: readonly unknown[] | Fault): string {
    const write = (s: string): void => void this.out.push(s);
    if (values instanceof Fault) {
      write('<fault>\n');
      this.dump(new Map<string, unknown>([['faultCode', values.faultCode], ['faultString', values.faultString]]), '$');
      write('</fault>\n');
    } else {
      write('<params>\n');
      values.forEach((v, i) => {
        write('<param>\n');
        this.dump(v, `$[${i}]`);
        write('</param>\n');
      });
      write('</params>\n');
    }
    return this.out.join('');
  }

  private dump(value: unknown, path: string): void {
    switch (typeof value) {
      case 'boolean':
        return this.dumpBool(value);
      case 'number':
        return Number.isInteger(value) && !Object.is(value, -0) ? this.dumpInt(value, path) : this.dumpDouble(value);
      case 'bigint':
        return this.dumpInt(value, path);
      case 'string':
        return this.dumpString(value, path);
      case 'object':
        if (value === null) return this.dumpNil(path);
        return this.dumpObject(value, path);
      case 'undefined':
        if (this.undefinedAsNone) return this.dumpNil(path);
        throw new MarshalError('cannot marshal undefined values', path);
      default:
        throw new MarshalError(`cannot marshal ${typeof value} values`, path);
    }
  }

  private dumpNil(path: string): void {
    if (!this.allowNone) throw new MarshalError('cannot marshal None unless allow_none is enabled', path, 'none');
    this.out.push('<value><nil/></value>');
  }

  private dumpBool(value: boolean): void {
    this.out.push(`<value><boolean>${value ? '1' : '0'}</boolean></value>\n`);
  }

  private dumpInt(value: number | bigint, path: string): void {
    if (value > MAXINT || value < MININT) throw new OverflowError(path);
    this.out.push(`<value><int>${String(value)}</int></value>\n`);
  }

  private dumpDouble(value: number): void {
    this.out.push(`<value><double>${pyFloatRepr(value)}</double></value>\n`);
  }

  private dumpString(value: string, path: string): void {
    if (LONE_SURROGATE.test(value)) throw new MarshalError('cannot marshal a string with a lone surrogate', path, 'surrogate');
    this.out.push(`<value><string>${escape(value)}</string></value>\n`);
  }

  private dumpObject(value: object, path: string): void {
    if (Array.isArray(value)) return this.dumpArray(value, path);
    if (value instanceof Uint8Array) return this.dumpBytes(value);
    // A Double, or any float of mpwire/pickle's value model.
    if (value instanceof PyFloat) return this.dumpDouble(value.value);
    if (value instanceof Date) return this.dumpDatetime(value, path);
    if (value instanceof DateTime) {
      this.out.push(`<value><dateTime.iso8601>${escape(value.value)}</dateTime.iso8601></value>\n`);
      return undefined;
    }
    if (value instanceof Map) return this.dumpStruct(value, path);
    if (value instanceof Decimal) throw new MarshalError('cannot marshal Decimal objects', path);
    if (isPlainObject(value)) return this.dumpStruct(value, path);
    throw new MarshalError(`cannot marshal ${typeName(value)} objects`, path);
  }

  private dumpBytes(value: Uint8Array): void {
    this.out.push(`<value><base64>\n${encodebytes(value)}</base64></value>\n`);
  }

  private dumpDatetime(value: Date, path: string): void {
    let text: string;
    try {
      text = formatDateTime(value);
    } catch (e) {
      throw new MarshalError(`cannot marshal Date: ${(e as Error).message}`, path, 'datetime', { cause: e });
    }
    this.out.push(`<value><dateTime.iso8601>${text}</dateTime.iso8601></value>\n`);
  }

  /** Opens one level of array/struct nesting; past {@link MAX_NESTING} a MarshalError, not a stack overflow. */
  private enter(path: string): void {
    if (this.depth >= MAX_NESTING) throw new MarshalError(`cannot marshal arrays and structs nested more than ${MAX_NESTING} deep`, path, 'depth');
    this.depth++;
  }

  private dumpArray(value: readonly unknown[], path: string): void {
    if (this.memo.has(value)) throw new MarshalError('cannot marshal recursive sequences', path, 'recursive');
    this.enter(path);
    this.memo.add(value);
    this.out.push('<value><array><data>\n');
    for (let i = 0; i < value.length; i++) this.dump(value[i], `${path}[${i}]`);
    this.out.push('</data></array></value>\n');
    this.memo.delete(value);
    this.depth--;
  }

  private dumpStruct(value: Map<unknown, unknown> | Record<string, unknown>, path: string): void {
    if (this.memo.has(value)) throw new MarshalError('cannot marshal recursive dictionaries', path, 'recursive');
    this.enter(path);
    this.memo.add(value);
    this.out.push('<value><struct>\n');
    const entries: Iterable<[unknown, unknown]> = value instanceof Map ? value.entries() : Object.entries(value);
    for (const [k, v] of entries) {
      this.out.push('<member>\n');
      if (typeof k !== 'string') throw new MarshalError('dictionary key must be string', path, 'key');
      if (LONE_SURROGATE.test(k)) throw new MarshalError('cannot marshal a key with a lone surrogate', path, 'surrogate');
      this.out.push(`<name>${escape(k)}</name>\n`);
      this.dump(v, `${path}.${k}`);
      this.out.push('</member>\n');
    }
    this.out.push('</struct></value>\n');
    this.memo.delete(value);
    this.depth--;
  }
}

/**
 * Python's `xmlrpc.client.dumps`: converts a params array (Python's tuple) or a {@link Fault} to
 * XML-RPC text. Without `methodname`/`methodresponse` the result is a bare `<params>` chunk with
 * no XML declaration (what `multiprocessing`'s XML connections send).
 *
 * Type mapping: `boolean` → `<boolean>`; integral `number` and `bigint` → `<int>` (outside
 * [-2³¹, 2³¹−1] throws {@link OverflowError}); other numbers, `-0`, NaN, ±Infinity and
 * {@link Double} (any `PyFloat`) → `<double>` in Python's `repr` form; `string` → `<string>`
 * (`& < >` escaped); `null` → `<nil/>` (needs `allowNone`, as does `undefined` with
 * `undefinedAsNone`); `Uint8Array`/`Buffer` → `<base64>`; `Date` (UTC) and
 * {@link DateTime} → `<dateTime.iso8601>`; arrays → `<array>`; plain objects and `Map`s with
 * string keys → `<struct>`. Anything else throws {@link MarshalError}, as do arrays and structs
 * nested more than 681 deep (the deepest document `loads` reads at its default `maxDepth`).
 * @example
 * ```ts
 * dumps([42]);                                  // '<params>\n<param>\n<value><int>42</int></value>\n</param>\n</params>\n'
 * dumps([1, 'a'], { methodname: 'add' });       // "<?xml version='1.0'?>\n<methodCall>\n<methodName>add</methodName>\n…"
 * dumps(new Fault(1, 'boom'));                  // a methodResponse holding a fault
 * ```
 */
export function dumps(params: readonly unknown[] | Fault, options: DumpsOptions = {}): string {
  let methodresponse = options.methodresponse ?? false;
  if (params instanceof Fault) {
    methodresponse = true;
  } else if (!Array.isArray(params)) {
    throw new MarshalError('argument must be an array (tuple) or a Fault instance', '$', 'argument');
  } else if (methodresponse && params.length !== 1) {
    throw new MarshalError('response tuple must be a singleton', '$', 'argument');
  }
  const encoding = options.encoding || 'utf-8';
  const data = new Marshaller(options.allowNone ?? false, options.undefinedAsNone ?? false).dumps(params);
  const xmlheader = encoding !== 'utf-8' ? `<?xml version='1.0' encoding='${encoding}'?>\n` : "<?xml version='1.0'?>\n";
  if (options.methodname) {
    return `${xmlheader}<methodCall>\n<methodName>${escape(options.methodname)}</methodName>\n${data}</methodCall>\n`;
  }
  if (methodresponse) return `${xmlheader}<methodResponse>\n${data}</methodResponse>\n`;
  return data;
}

/**
 * The unmarshaller: XML-RPC text → JS values, with the semantics of CPython 3's
 * `xmlrpc.client.Unmarshaller` (same value stack, marks for arrays/structs, the same tolerance for
 * unknown tags outside `<value>`). XML is tokenised by `saxes`, a strict, non-validating,
 * streaming XML 1.0 parser (chosen by `bench/xmlrpc/parser-choice.mjs`); DOCTYPEs are refused, so
 * no entity can be declared, expanded or fetched.
 * @module
 */
import { SaxesParser } from 'saxes';
import { ExpatError, Fault, ResponseError, XmlForbiddenError, XmlLimitError, XmlRpcError } from './errors.js';
import { parsePyDecimal, parsePyFloat, parsePyInt, pyStrip } from './numbers.js';
import { DateTime, Decimal, Double, parseDateTime } from './types.js';

/**
 * Options of {@link loads}.
 * @example
 * ```ts
 * const [params, method] = loads(xml, { maxSize: 1 << 20, maxDepth: 100 });
 * ```
 */
export interface LoadsOptions {
  /**
   * Largest accepted input: bytes for a `Uint8Array`, UTF-16 code units for a string.
   * Default 64 MiB (bounds memory; the wire layer's frame limit usually bites first).
   */
  maxSize?: number;
  /**
   * Deepest accepted element nesting. Default 2048 elements: CPython's own `dumps` stops at about
   * 497 nested arrays (1495 elements) at its default recursion limit (bench/xmlrpc/RESULTS.md), so
   * everything CPython can send is accepted, while a depth bomb is refused as soon as it crosses
   * the limit.
   */
  maxDepth?: number;
  /**
   * Most decimal digits accepted in one integer element (`<int>`, `<i8>`, `<biginteger>`, …).
   * Default 4300, CPython 3.11+'s own `int()` limit (`sys.get_int_max_str_digits()`), which its
   * `xmlrpc.client` also applies; converting longer digit strings to a bigint costs superlinear
   * time, so a document of digits would otherwise buy seconds of CPU per megabyte.
   */
  maxIntDigits?: number;
  /** Decode `<dateTime.iso8601>` to a JS `Date` (read as UTC) instead of a {@link DateTime}. Python's `use_datetime`. */
  useDatetime?: boolean;
  /** Python's `use_builtin_types`: implies `useDatetime` (base64 is always a `Buffer` here). */
  useBuiltinTypes?: boolean;
  /** Decode `<struct>` to a `Map` (keeps member order exactly) instead of a plain object. */
  mapStructs?: boolean;
  /**
   * Decode an integral `<double>`/`<float>` (`1.0`, `-0.0`, `1e16`) to a {@link Double} instead of
   * a plain number, so that `dumps` writes it back as `<double>`, not as `<int>` (which also
   * refuses numbers outside 32 bits). Python floats then keep their type through a JS round trip.
   * Non-integral values, `nan` and `inf` stay plain numbers, which `dumps` writes as `<double>`
   * anyway. Default `false`: every double is a `number`.
   */
  wrapIntegralDoubles?: boolean;
}

/**
 * Default of {@link LoadsOptions.maxSize}.
 * @example
 * ```ts
 * loads(xml, { maxSize: 4 * DEFAULT_MAX_SIZE }); // allow documents up to 256 MiB
 * ```
 */
export const DEFAULT_MAX_SIZE = 64 * 1024 * 1024;
/**
 * Default of {@link LoadsOptions.maxDepth}.
 * @example
 * ```ts
 * loads(xml, { maxDepth: DEFAULT_MAX_DEPTH / 2 });
 * ```
 */
export const DEFAULT_MAX_DEPTH = 2048;
/**
 * Default of {@link LoadsOptions.maxIntDigits}.
 * @example
 * ```ts
 * loads(xml, { maxIntDigits: DEFAULT_MAX_INT_DIGITS * 2 });
 * ```
 */
export const DEFAULT_MAX_INT_DIGITS = 4300;

type EndHandler = (u: Unmarshaller, data: string) => void;

const B64_CHAR = /[A-Za-z0-9+/]/;
const B64_CANONICAL = /^[A-Za-z0-9+/\n]*(?:[A-Za-z0-9+/]={1,2}\n?)?$/;

/**
 * Python's `base64.decodebytes` (non-strict `binascii.a2b_base64`) as of CPython 3.14: characters
 * outside the alphabet and `=` are skipped; an incomplete final quantum needs enough `=` after its
 * last data character, else "Incorrect padding". (Before 3.14 a complete pad also ended the data.)
 */
function decodebytes(text: string): Buffer {
  // Fast path for what encoders write: whole quanta, line breaks, final padding.
  if (B64_CANONICAL.test(text) && text.replace(/\n/g, '').length % 4 === 0) return Buffer.from(text, 'base64');
  let data = '';
  let pads = 0;
  for (const ch of text) {
    if (ch.charCodeAt(0) > 0x7f) throw new ResponseError('base64 text must be ASCII', 'bad-base64');
    if (ch === '=') pads++;
    else if (B64_CHAR.test(ch)) {
      pads = 0;
      data += ch;
    }
  }
  const quad = data.length % 4;
  if (quad === 1) throw new ResponseError(`invalid base64: number of data characters (${data.length}) cannot be 1 more than a multiple of 4`, 'bad-base64');
  if (quad !== 0 && quad + pads < 4) throw new ResponseError('invalid base64: incorrect padding', 'bad-base64');
  return Buffer.from(data, 'base64');
}

/**
 * The XML-RPC state machine, fed start/data/end events like CPython's `Unmarshaller`.
 */
class Unmarshaller {
  type: 'params' | 'fault' | 'methodName' | undefined;
  readonly stack: unknown[] = [];
  readonly marks: number[] = [];
  data: string[] = [];
  value = false;
  methodname: string | null = null;
  maxIntDigits = DEFAULT_MAX_INT_DIGITS;
  wrapIntegralDoubles = false;
  constructor(readonly useDatetime: boolean, readonly mapStructs: boolean) {}

  start(tag: string): void {
    const colon = tag.lastIndexOf(':');
    if (colon >= 0) tag = tag.slice(colon + 1);
    if (tag === 'array' || tag === 'struct') this.marks.push(this.stack.length);
    this.data = [];
    if (this.value && !DISPATCH.has(tag)) throw new ResponseError(`unknown tag ${JSON.stringify(tag)}`, 'unknown-tag');
    this.value = tag === 'value';
  }

  /**
   * Runs the handler of a known end tag on the text since the last start or known end tag. Python
   * keeps the text until the next start tag and joins it again at every end tag, so text followed
   * by thousands of end tags costs quadratic CPU. Only text after a child element inside a scalar
   * element, which XML-RPC does not allow, reads differently.
   */
  end(tag: string): void {
    let f = DISPATCH.get(tag);
    if (!f) {
      const colon = tag.lastIndexOf(':');
      if (colon < 0) return; // unknown tag outside <value>: ignored, as Python does
      f = DISPATCH.get(tag.slice(colon + 1));
      if (!f) return;
    }
    const data = this.data.join('');
    this.data = [];
    f(this, data);
  }

  close(): [unknown[], string | null] {
    if (this.type === undefined || this.marks.length > 0) {
      throw new ResponseError('not an XML-RPC response, request or params chunk', 'incomplete');
    }
    if (this.type === 'fault') {
      const s = this.stack[0];
      const get = (k: string): unknown =>
        s instanceof Map ? s.get(k) : s !== null && typeof s === 'object' ? (s as Record<string, unknown>)[k] : undefined;
      const has = (k: string): boolean =>
        s instanceof Map ? s.has(k) : s !== null && typeof s === 'object' && Object.hasOwn(s, k);
      if (!has('faultCode') || !has('faultString')) throw new ResponseError('malformed fault: needs faultCode and faultString', 'bad-fault');
      throw new Fault(get('faultCode'), get('faultString'));
    }
    return [this.stack, this.methodname];
  }

  push(v: unknown): void {
    this.stack.push(v);
    this.value = false;
  }

  endStruct(): void {
    const mark = this.marks.pop() as number;
    const items = this.stack.splice(mark);
    if (items.length % 2 !== 0) throw new ResponseError('struct member without a value', 'bad-struct');
    let struct: Map<string, unknown> | Record<string, unknown>;
    if (this.mapStructs) {
      const m = new Map<string, unknown>();
      for (let i = 0; i < items.length; i += 2) m.set(structKey(items[i]), items[i + 1]);
      struct = m;
    } else {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < items.length; i += 2) {
        const k = structKey(items[i]);
        // `__proto__` must become an own property, never the object's prototype.
        if (k === '__proto__') Object.defineProperty(o, k, { value: items[i + 1], enumerable: true, writable: true, configurable: true });
        else o[k] = items[i + 1];
      }
      struct = o;
    }
    this.stack.push(struct);
    this.value = false;
  }
}

function structKey(k: unknown): string {
  if (typeof k !== 'string') throw new ResponseError('struct member name must be a string', 'bad-struct');
  return k;
}

const endInt: EndHandler = (u, data) => {
  if (data.length > u.maxIntDigits) {
    let digits = 0;
    for (let i = 0; i < data.length; i++) {
      const c = data.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) digits++;
    }
    if (digits > u.maxIntDigits) throw new XmlLimitError(`integer of ${digits} digits exceeds maxIntDigits ${u.maxIntDigits}`, 'digits', u.maxIntDigits);
  }
  const n = parsePyInt(data);
  if (n === undefined) throw new ResponseError(`invalid literal for int() with base 10: ${JSON.stringify(data)}`, 'bad-int');
  u.push(n);
};
const endDouble: EndHandler = (u, data) => {
  const n = parsePyFloat(data);
  if (n === undefined) throw new ResponseError(`could not convert string to float: ${JSON.stringify(data)}`, 'bad-double');
  u.push(u.wrapIntegralDoubles && Number.isInteger(n) ? new Double(n) : n);
};
const endString: EndHandler = (u, data) => u.push(data);

/** End-tag handlers, as CPython 3's `Unmarshaller.dispatch`. */
const DISPATCH: ReadonlyMap<string, EndHandler> = new Map<string, EndHandler>([
  ['nil', (u) => u.push(null)],
  [
    'boolean',
    (u, data) => {
      if (data === '0') u.push(false);
      else if (data === '1') u.push(true);
      else throw new ResponseError('bad boolean value', 'bad-boolean');
    },
  ],
  ['i1', endInt],
  ['i2', endInt],
  ['i4', endInt],
  ['i8', endInt],
  ['int', endInt],
  ['biginteger', endInt],
  ['double', endDouble],
  ['float', endDouble],
  [
    'bigdecimal',
    (u, data) => {
      const d = parsePyDecimal(data);
      if (d === undefined) throw new ResponseError(`invalid literal for Decimal: ${JSON.stringify(data)}`, 'bad-decimal');
      u.push(new Decimal(d));
    },
  ],
  ['string', endString],
  ['name', endString],
  [
    'array',
    (u) => {
      const mark = u.marks.pop() as number;
      u.stack.push(u.stack.splice(mark));
      u.value = false;
    },
  ],
  ['struct', (u) => u.endStruct()],
  ['base64', (u, data) => u.push(decodebytes(data))],
  [
    'dateTime.iso8601',
    (u, data) => {
      if (u.useDatetime) {
        const d = parseDateTime(data);
        if (!d) throw new ResponseError(`time data ${JSON.stringify(data)} does not match format '%Y%m%dT%H:%M:%S'`, 'bad-datetime');
        u.stack.push(d);
      } else {
        u.stack.push(new DateTime(pyStrip(data)));
      }
      // CPython's end_dateTime does not reset the value flag; neither do we.
    },
  ],
  [
    'value',
    (u, data) => {
      if (u.value) endString(u, data); // <value>text</value> is a string
    },
  ],
  ['params', (u) => void (u.type = 'params')],
  ['fault', (u) => void (u.type = 'fault')],
  [
    'methodName',
    (u, data) => {
      u.methodname = data;
      u.type = 'methodName';
    },
  ],
]);

function normalizeEncoding(label: string): string {
  return label.trim().toLowerCase().replace(/_/g, '-');
}

/** The encoding named in the XML declaration at the start of `bytes`, read with saxes itself. */
function declaredEncoding(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 256)).toString('latin1');
  if (!head.startsWith('<?xml')) return undefined;
  const end = head.indexOf('?>');
  if (end < 0) return undefined;
  let encoding: string | undefined;
  const p = new SaxesParser({ position: false });
  p.on('xmldecl', (decl) => {
    encoding = decl.encoding;
  });
  p.on('error', () => undefined);
  p.write(head.slice(0, end + 2));
  return encoding;
}

/**
 * Decodes document bytes the way expat does: a BOM decides UTF-8/UTF-16, otherwise the XML
 * declaration's encoding (UTF-8, US-ASCII, ISO-8859-1/Latin-1), otherwise UTF-8.
 */
function decodeDocument(bytes: Uint8Array): string {
  const b0 = bytes[0];
  const b1 = bytes[1];
  try {
    if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(3));
    if (b0 === 0xff && b1 === 0xfe) return new TextDecoder('utf-16le', { fatal: true }).decode(bytes.subarray(2));
    if (b0 === 0xfe && b1 === 0xff) return new TextDecoder('utf-16be', { fatal: true }).decode(bytes.subarray(2));
    const enc = declaredEncoding(bytes);
    const label = enc === undefined ? 'utf-8' : normalizeEncoding(enc);
    switch (label) {
      case 'utf-8':
      case 'utf8':
        return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
      case 'us-ascii':
      case 'ascii':
        for (const b of bytes) if (b > 0x7f) throw new ExpatError('not well-formed (invalid token): byte above 0x7f in US-ASCII');
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
      case 'iso-8859-1':
      case 'latin-1':
      case 'latin1':
      case 'l1':
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
      default:
        throw new ExpatError(`unknown encoding: ${JSON.stringify(enc)} (supported: UTF-8, UTF-16 with BOM, US-ASCII, ISO-8859-1)`);
    }
  } catch (e) {
    if (e instanceof XmlRpcError) throw e;
    throw new ExpatError(`not well-formed (invalid token): ${(e as Error).message}`, -1, -1, { cause: e });
  }
}

/**
 * Python's `xmlrpc.client.loads`: parses an XML-RPC request, response or bare params chunk and
 * returns `[params, methodname]` (`methodname` is `null` when absent). A fault response throws
 * {@link Fault}. A string is parsed as is (an encoding in its declaration is ignored, as when
 * Python parses a `str`); bytes are decoded per their BOM/declaration.
 *
 * Type mapping: `<int>`/`<i4>`/`<i8>`/`<i1>`/`<i2>`/`<biginteger>` (also `ex:`-prefixed) → `number`,
 * or `bigint` beyond 2⁵³; `<double>`/`<float>` → `number` (an integral one → {@link Double} with
 * `wrapIntegralDoubles`); `<bigdecimal>` → {@link Decimal};
 * `<boolean>` → `boolean`; `<string>` and bare `<value>` text → `string`; `<nil/>`/`<ex:nil/>` → `null`;
 * `<base64>` → `Buffer`; `<dateTime.iso8601>` → {@link DateTime} (or a UTC `Date` with `useDatetime`);
 * `<array>` → array; `<struct>` → plain object (or `Map` with `mapStructs`).
 *
 * Errors: {@link ExpatError} for malformed XML, {@link XmlForbiddenError} for a DOCTYPE or an
 * undefined entity, {@link XmlLimitError} for `maxSize`/`maxDepth`/`maxIntDigits`, {@link ResponseError} for
 * anything XML-RPC does not allow.
 * @example
 * ```ts
 * const [[v], method] = loads('<params><param><value><int>42</int></value></param></params>'); // v === 42, method === null
 * ```
 */
export function loads(xml: string | Uint8Array, options: LoadsOptions = {}): [unknown[], string | null] {
  const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const size = typeof xml === 'string' ? xml.length : xml.byteLength;
  if (size > maxSize) throw new XmlLimitError(`document of ${size} exceeds maxSize ${maxSize}`, 'size', maxSize);
  const text = typeof xml === 'string' ? xml : decodeDocument(xml);

  const u = new Unmarshaller(Boolean(options.useDatetime || options.useBuiltinTypes), Boolean(options.mapStructs));
  u.maxIntDigits = options.maxIntDigits ?? DEFAULT_MAX_INT_DIGITS;
  u.wrapIntegralDoubles = options.wrapIntegralDoubles === true;
  const parser = new SaxesParser({ position: true, forceXMLVersion: true, defaultXMLVersion: '1.0' });
  let depth = 0;
  parser.on('doctype', () => {
    throw new XmlForbiddenError('DOCTYPE is not allowed in XML-RPC (no DTDs, entity declarations or external entities)', 'doctype');
  });
  parser.on('error', (err) => {
    const where = { line: parser.line, column: parser.column };
    if (/undefined entity/i.test(err.message)) {
      throw new XmlForbiddenError(`undefined entity (only the five predefined entities and character references are allowed): ${err.message}`, 'entity', { cause: err });
    }
    throw new ExpatError(err.message, where.line, where.column, { cause: err });
  });
  parser.on('opentag', (tag) => {
    if (++depth > maxDepth) throw new XmlLimitError(`element nesting exceeds maxDepth ${maxDepth}`, 'depth', maxDepth);
    u.start(tag.name);
  });
  parser.on('closetag', (tag) => {
    depth--;
    u.end(tag.name);
  });
  parser.on('text', (t) => void u.data.push(t));
  parser.on('cdata', (t) => void u.data.push(t));
  parser.write(text);
  parser.close();
  return u.close();
}

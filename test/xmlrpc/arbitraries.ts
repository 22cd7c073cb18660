/**
 * fast-check arbitraries of values `mpwire/xmlrpc` can marshal (shared by the property tests and
 * the interop suite, which sends samples to every interpreter).
 */
import fc from 'fast-check';
import { DateTime, Double } from '../../src/xmlrpc/index.js';

/** One XML-safe character: anything XML 1.0 allows except CR (which XML turns into LF). */
const xmlChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('<', '>', '&', ']]>', '\t', '\n', ' ', '"', "'", '&amp;', '\u00e9', '\u{1F600}') },
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0xd7ff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0xe000, max: 0xfffd }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
);

export const xmlString: fc.Arbitrary<string> = fc.array(xmlChar, { maxLength: 12 }).map((a) => a.join(''));

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

/** Dates within Python's datetime range, whole seconds (XML-RPC has no fraction). */
const date = fc
  .date({ min: new Date(Date.UTC(1, 0, 1)), max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59)), noInvalidDate: true })
  .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000));

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.boolean(),
  int32,
  // A plain integral number is an <int>; a double that happens to be integral must be a Double.
  fc.double().map((x) => (Number.isInteger(x) ? new Double(x) : x)),
  fc.double().map((x) => new Double(x)),
  fc.constant(null),
  xmlString,
  fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
  date,
);

/** Any value `dumps` accepts (with `allowNone`), nested arrays and structs included. */
export const xmlValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(xmlString, tie('value'), { maxKeys: 5 }),
  ),
})).value;

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** What `loads` gives back for a value given to `dumps` (the JS-side type mapping). */
export function normalize(v: unknown): unknown {
  if (v instanceof Double) return v.value;
  if (v instanceof Date) return new DateTime(v);
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) setKey(o, k as string, normalize(x));
    return o;
  }
  if (v !== null && typeof v === 'object' && !(v instanceof DateTime)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setKey(o, k, normalize(x));
    return o;
  }
  return v;
}


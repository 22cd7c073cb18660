/**
 * fast-check arbitraries of exact-mode Python values, and a type-aware equality for them.
 */
import fc from 'fast-check';
import { ByteArray, FrozenSet, PyFloat, Tuple } from '../../src/pickle/index.js';

const toTuple = (items: unknown[]): Tuple => {
  const t = new Tuple<unknown>();
  for (const x of items) t.push(x);
  return t;
};

/** Python ints as mpwire represents them: safe integers as numbers, the rest as bigints. */
export const pyInt = fc.oneof(
  fc.integer({ min: -300, max: 300 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map((b) => (b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b)),
  fc.constantFrom(0, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2n ** 63n, -(2n ** 63n), 2n ** 64n),
);
export const pyFloat = fc.oneof(fc.double(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1, 0.1, 1e16)).map((d) => new PyFloat(d));
export const pyStr = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', 'a', '\ud800', 'x\udfffy', '\\u0041', '\n\r\0\x1a', 'é', '😀'),
);
export const pyBytes = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
export const pyByteArray = fc.uint8Array({ maxLength: 20 }).map((u) => ByteArray.fromBytes(u));

/** Hashable values (usable as dict keys and set members). */
export const pyHashable: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  h: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    pyStr,
    pyInt,
    pyBytes,
    fc.constant(null),
    fc.array(tie('h'), { maxLength: 3 }).map(toTuple),
  ),
})).h;

/** Python's hash/equality key, so generated dicts and sets have no colliding keys (1 == 1.0 == True). */
export function pyKey(v: unknown): string {
  if (v === null) return 'N';
  if (typeof v === 'boolean') return `i${v ? 1 : 0}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `i${String(v)}`;
  if (v instanceof PyFloat) return Number.isInteger(v.value) ? `i${BigInt(v.value)}` : `f${Object.is(v.value, -0) ? 0 : v.value}`;
  if (typeof v === 'string') return `s${v}`;
  if (Buffer.isBuffer(v)) return `b${v.toString('hex')}`;
  if (v instanceof Tuple) return `t(${v.map(pyKey).join(',')})`;
  if (v instanceof FrozenSet) return `F{${[...v].map(pyKey).sort().join(',')}}`;
  return `?${String(v)}`;
}

const dictOf = (k: fc.Arbitrary<unknown>, v: fc.Arbitrary<unknown>): fc.Arbitrary<Map<unknown, unknown>> =>
  fc.uniqueArray(fc.tuple(k, v), { maxLength: 6, selector: (e) => pyKey(e[0]) }).map((es) => new Map(es));

/** Any plain-data exact-mode value. */
export const pyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    pyInt,
    pyFloat,
    pyStr,
    pyBytes,
    pyByteArray,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 6 }),
    fc.array(tie('v'), { maxLength: 5 }).map(toTuple),
    dictOf(pyHashable, tie('v')),
    fc.uniqueArray(pyHashable, { maxLength: 6, selector: pyKey }).map((a) => new Set(a)),
    fc.uniqueArray(pyHashable, { maxLength: 4, selector: pyKey }).map((a) => new FrozenSet(a)),
  ),
})).v;

/** Type-aware structural equality of exact-mode values (cycle-safe). Returns undefined or the first difference. */
export function pyDiff(a: unknown, b: unknown, path = '$', seen = new Map<unknown, unknown>()): string | undefined {
  const bad = (w: string): string => `${path}: ${w}`;
  if (typeof a !== typeof b) return bad(`${typeof a} vs ${typeof b}`);
  if (typeof a !== 'object' || a === null || b === null) {
    if (typeof a === 'number') return Object.is(a, b) ? undefined : bad(`${a} vs ${String(b)}`);
    return a === b ? undefined : bad(`${String(a)} vs ${String(b)}`);
  }
  if (seen.has(a)) return seen.get(a) === b ? undefined : bad('different sharing');
  seen.set(a, b);
  const ca = (a as object).constructor;
  const cb = (b as object).constructor;
  if (ca !== cb) return bad(`${ca?.name} vs ${cb?.name}`);
  if (a instanceof PyFloat) return Object.is(a.value, (b as PyFloat).value) ? undefined : bad(`${a.value} vs ${(b as PyFloat).value}`);
  if (a instanceof Uint8Array) return Buffer.compare(a, b as Uint8Array) === 0 ? undefined : bad('bytes differ');
  if (Array.isArray(a) || a instanceof Set) {
    const x = [...(a as Iterable<unknown>)];
    const y = [...(b as Iterable<unknown>)];
    if (a instanceof Set) {
      // Python iterates sets in hash order: compare them order-insensitively.
      const byKey = (p: unknown, q: unknown): number => (pyKey(p) < pyKey(q) ? -1 : pyKey(p) > pyKey(q) ? 1 : 0);
      x.sort(byKey);
      y.sort(byKey);
    }
    if (x.length !== y.length) return bad(`length ${x.length} vs ${y.length}`);
    for (let i = 0; i < x.length; i++) {
      const r = pyDiff(x[i], y[i], `${path}[${i}]`, seen);
      if (r) return r;
    }
    return undefined;
  }
  if (a instanceof Map) {
    const x = [...a];
    const y = [...(b as Map<unknown, unknown>)];
    if (x.length !== y.length) return bad(`size ${x.length} vs ${y.length}`);
    for (let i = 0; i < x.length; i++) {
      const r = pyDiff(x[i]?.[0], y[i]?.[0], `${path}<key ${i}>`, seen) ?? pyDiff(x[i]?.[1], y[i]?.[1], `${path}[${i}]`, seen);
      if (r) return r;
    }
    return undefined;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.join('\0') !== kb.join('\0')) return bad(`keys ${ka.join(',')} vs ${kb.join(',')}`);
  for (const k of ka) {
    const r = pyDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, seen);
    if (r) return r;
  }
  return undefined;
}

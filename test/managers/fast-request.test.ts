/**
 * The request fast path must produce exactly the bytes of `dumps` (itself byte-identical to
 * CPython's C pickler for plain data) whenever it accepts a value, and decline everything else.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { request } from '../../src/managers/index.js';
import { fastRequest } from '../../src/managers/fast-request.js';
import { ByteArray, PyGlobal, dumps, tuple } from '../../src/pickle/index.js';

const V = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8')) as Record<string, string>;

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('a', 'k', 'timeout', '__proto__', 'é', '\u{1F600}'));
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.integer({ min: -3_000_000_000, max: 3_000_000_000 }),
  fc.constantFrom(0, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 + 2, -0, 0.5, NaN, Infinity, -Infinity, 1e300),
  fc.double(),
  fc.string({ maxLength: 300 }),
  key,
);
// Lone surrogates (fall back to the general encoder) and astral characters.
const odd = fc.string({ unit: 'binary', maxLength: 5 });
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, odd, fc.array(tie('v'), { maxLength: 5 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
})).v;

describe('fastRequest', () => {
  it('matches the golden transcript bytes', () => {
    expect(fastRequest(4, null, 'dummy', [], {})?.toString('hex')).toBe(V['dummy']);
    expect(fastRequest(4, '7fba5eed80c0', '__setitem__', ['k', 'v'], {})?.toString('hex')).toBe(V['setitem']);
    expect(fastRequest(4, '7fba5eed80c0', 'get', [], { timeout: 1 })?.toString('hex')).toBe(V['get_timeout_kw']);
    expect(fastRequest(4, null, 'accept_connection', ['MainProcess'], {})?.toString('hex')).toBe(V['accept_connection']);
  });

  it('is byte-identical to dumps whenever it accepts (protocols 4 and 5)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(4, 5), fc.option(fc.string({ maxLength: 12 }), { nil: null }), fc.string({ maxLength: 20 }), fc.array(value, { maxLength: 6 }), fc.dictionary(key, value, { maxKeys: 3 }), (proto, ident, method, args, kwds) => {
        const fast = fastRequest(proto, ident, method, args, kwds);
        if (fast === undefined) return;
        accepted++;
        expect(fast.toString('hex')).toBe(Buffer.from(dumps(request(ident, method, args, kwds), { protocol: proto })).toString('hex'));
      }),
      { numRuns: 3000, seed: 5 },
    );
    expect(accepted).toBeGreaterThan(600);
  });

  it('declines what needs the general encoder', () => {
    const shared = [1];
    for (const v of [10n, 2 ** 53 + 2, Buffer.from('x'), new ByteArray(1), new Map(), new Set(), tuple(1), new PyGlobal('m', 'n'), [shared, shared], '\uD800', 'x'.repeat(70_000), new Date(0)]) {
      expect(fastRequest(4, 'id', 'm', [v], {}), String(v).slice(0, 20)).toBeUndefined();
    }
    expect(fastRequest(3, 'id', 'm', [], {})).toBeUndefined();
    expect(fastRequest(4, 'id', 'm', [], new Map())).toBeUndefined();
  });
});

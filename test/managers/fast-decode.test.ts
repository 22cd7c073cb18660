/**
 * The manager fast paths must agree with the general codec: `fastLoads` gives exactly what `loads`
 * gives (exact and default mode) whenever it accepts a pickle, and declines anything else;
 * `fastReply` writes exactly the bytes of `dumps(tuple(kind, value))` whenever it accepts a value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastLoads } from '../../src/managers/fast-decode.js';
import { fastReply } from '../../src/managers/fast-request.js';
import { PyFloat, dumps, loads, tuple } from '../../src/pickle/index.js';

const LIMITS = { maxLength: 2 ** 31 - 1, maxMemo: 10_000_000, maxDepth: 100_000 };
const RUNS = Number(process.env.MPWIRE_FUZZ_RUNS ?? 300);

const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 255, 256, 65535, 65536, -1, 2 ** 31, 2 ** 53 + 2, -0, 0.5, NaN, Infinity, 1e300),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 5 }),
  fc.constantFrom('#RETURN', 'get', '__getitem__', 'k', 'é'),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }).map((a) => tuple(...a)),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('v'), { maxKeys: 3 }),
  ),
})).v;
/** Requests as CPython proxies send them: (ident, method, args, kwargs). */
const request = fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.array(value, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), value, { maxKeys: 2 }));

function same(bytes: Uint8Array, exact: boolean, modeFree: boolean): boolean {
  const fast = fastLoads(bytes, exact, LIMITS, modeFree);
  if (fast === undefined) return false;
  expect(fast).toStrictEqual(loads(bytes, { exact }));
  return true;
}

describe('fastLoads agrees with loads', () => {
  it('on requests and replies pickled at protocols 4 and 5, both modes', () => {
    let accepted = 0;
    fc.assert(
      fc.property(request, value, fc.constantFrom(4, 5), fc.boolean(), (req, reply, protocol, modeFree) => {
        const [ident, method, args, kwargs] = req;
        for (const bytes of [dumps(tuple(ident, method, tuple(...args), kwargs), { protocol }), dumps(tuple('#RETURN', reply), { protocol })]) {
          for (const exact of [true, false]) if (same(bytes, exact, modeFree)) accepted++;
        }
      }),
      { numRuns: RUNS },
    );
    // The property would hold vacuously if the fast path declined everything.
    expect(accepted).toBeGreaterThan(RUNS / 2);
  });

  it('declines truncated and corrupted pickles, or agrees with loads on them', () => {
    fc.assert(
      fc.property(request, fc.nat(), fc.integer({ min: 0, max: 255 }), (req, at, byte) => {
        const bytes = dumps(tuple(req[0], req[1], tuple(...req[2]), req[3]), { protocol: 4 });
        const cut = bytes.subarray(0, at % bytes.length);
        expect(fastLoads(cut, true, LIMITS)).toBeUndefined();
        const bad = Buffer.from(bytes);
        bad[at % bad.length] = byte;
        let want: unknown;
        try {
          want = loads(bad, { exact: true });
        } catch {
          want = undefined;
        }
        const got = fastLoads(bad, true, LIMITS);
        if (got !== undefined) expect(got).toStrictEqual(want);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fastReply agrees with dumps', () => {
  it('byte for byte whenever it accepts a value', () => {
    let accepted = 0;
    fc.assert(
      fc.property(value, fc.constantFrom(4, 5), fc.constantFrom('#RETURN', '#ERROR'), (v, protocol, kind) => {
        const fast = fastReply(protocol, kind, v);
        if (fast === undefined) return;
        accepted++;
        expect(Buffer.from(fast).equals(dumps(tuple(kind, v), { protocol }))).toBe(true);
      }),
      { numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(RUNS / 4);
    expect(Buffer.from(fastReply(4, '#RETURN', new PyFloat(1)) ?? []).equals(dumps(tuple('#RETURN', new PyFloat(1)), { protocol: 4 }))).toBe(true);
    expect(fastReply(2, '#RETURN', 1)).toBeUndefined();
  });
});

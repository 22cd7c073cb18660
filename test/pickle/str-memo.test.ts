import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dis, dumps, loads } from '../../src/pickle/index.js';
import { StrMemo } from '../../src/pickle/str-memo.js';

/** The memo indexes a BINGET/LONG_BINGET fetches, in order. */
function gets(p: Uint8Array): number[] {
  return [...dis(p).matchAll(/BINGET\s+(\d+)/g)].map((m) => Number(m[1]));
}

describe('StrMemo (the pickler’s short-string memo)', () => {
  it('agrees with a Map over random strings, through growth and resets', () => {
    const memo = new StrMemo();
    fc.assert(
      fc.property(fc.array(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3000 }), { minLength: 1, maxLength: 4 }), (calls) => {
        for (const strs of calls) {
          const ref = new Map<string, number>();
          let next = 0;
          for (const s of strs) {
            const got = memo.get(s);
            const want = ref.get(s) ?? -1;
            if (got !== want) return false;
            if (got < 0) {
              memo.insertMissed(s, next);
              ref.set(s, next++);
            }
          }
          memo.reset();
        }
        return true;
      }),
      { numRuns: 60 },
    );
  });

  it('forgets everything on reset, also after a table too big to keep', () => {
    const memo = new StrMemo();
    let hits = 0;
    for (let i = 0; i < 100_000; i++) {
      if (memo.get(`k${i}`) !== -1) hits++;
      memo.insertMissed(`k${i}`, i);
    }
    expect(hits).toBe(0);
    expect(memo.get('k99999')).toBe(99_999);
    memo.reset();
    expect(memo.get('k99999')).toBe(-1);
    memo.insertMissed('k99999', 7);
    expect(memo.get('k99999')).toBe(7);
  });

  it('tells apart strings whose UTF-16 units differ only beyond ASCII', () => {
    const memo = new StrMemo();
    const strs = ['\u00e9', 'e\u0301', '\ud83d\ude00', '\ud83d', '\ude00', '\u0000', ''];
    strs.forEach((s, i) => {
      expect(memo.get(s)).toBe(-1);
      memo.insertMissed(s, i);
    });
    strs.forEach((s, i) => expect(memo.get(s)).toBe(i));
  });
});

describe('dumps reuses its scratch memory safely', () => {
  it('a dumps called from a reduce hook inside dumps gets its own memo and buffer', () => {
    class Inner {
      constructor(readonly v: unknown) {}
    }
    const shared = 'shared-string';
    const value = [shared, new Inner([shared, 'x'.repeat(70_000)]), shared];
    const out = dumps(value, {
      reduce: (o) => (o instanceof Inner ? { module: 'builtins', name: 'bytes', args: [dumps(o.v)] } : undefined),
    });
    // The outer pickle: the string's second use is a memo fetch of its first.
    const back = loads(out, { exact: true }) as unknown[];
    expect(back[0]).toBe(shared);
    expect(back[2]).toBe(shared);
    expect(gets(out).length).toBeGreaterThan(0);
    // The nested pickle is carried, byte for byte, as what a fresh dumps of the same value gives.
    const inner = dumps([shared, 'x'.repeat(70_000)]);
    expect(out.includes(inner)).toBe(true);
  });

  it('results do not share memory with later calls', () => {
    const a = dumps(['first', 1, 2, 3]);
    const copy = Buffer.from(a);
    dumps(['second', 4, 5, 6, 'x'.repeat(1000)]);
    expect(Buffer.from(a).equals(copy)).toBe(true);
    // Past 1 MiB the output goes through a weakly kept big buffer; past 64 MiB it is handed out.
    for (const size of [3 << 20, 70 << 20]) {
      const big = dumps('y'.repeat(size));
      const bigCopy = Buffer.from(big);
      const next = dumps('z'.repeat(size));
      expect(Buffer.from(big).equals(bigCopy)).toBe(true);
      expect(next.length).toBe(big.length);
      expect(loads(next)).toBe('z'.repeat(size));
    }
  });

  it('a failed dumps leaves the next one correct', () => {
    expect(() => dumps(['keep', () => 1])).toThrow();
    const p = dumps(['keep', 'keep']);
    expect(loads(p)).toEqual(['keep', 'keep']);
    expect(gets(p)).toEqual([1]);
  });
});

/**
 * Property tests through live interpreters (values batched per process):
 *  - random exact-mode values → mpwire dumps → Python loads → Python dumps → mpwire loads equals the original;
 *  - mpwire writes the bytes CPython 3.8–3.13's C pickler writes for the same plain data (protocols 2–5).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findPythons } from '../../src/bridge/find-pythons.js';
import { ByteArray, FrozenSet, Tuple, dumps, loads } from '../../src/pickle/index.js';
import { pyDiff, pyKey, pyValue } from '../../test/pickle/arbitraries.js';
import { runCorpus } from './helpers.js';

const pythons = await findPythons();
const SEED = Number(process.env.MPWIRE_SEED ?? 20260101);

interface Redump {
  id: number;
  hex?: string;
  error?: string;
}

/** Python 2 dicts iterate in hash order: compare them order-insensitively there. */
function sortMaps(v: unknown, seen = new Map<unknown, unknown>()): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (seen.has(v)) return seen.get(v);
  if (v instanceof Map) {
    const m = new Map<unknown, unknown>();
    seen.set(v, m);
    const es = [...v].sort((a, b) => (pyKey(a[0]) < pyKey(b[0]) ? -1 : 1));
    for (const [k, x] of es) m.set(sortMaps(k, seen), sortMaps(x, seen));
    return m;
  }
  if (Array.isArray(v)) {
    const a = v instanceof Tuple ? new Tuple<unknown>() : ([] as unknown[]);
    seen.set(v, a);
    for (const x of v) a.push(sortMaps(x, seen));
    return a;
  }
  return v;
}

function hasMultiSet(v: unknown, seen = new Set<unknown>()): boolean {
  if (typeof v !== 'object' || v === null || seen.has(v)) return false;
  seen.add(v);
  if (v instanceof Set) return v.size > 1 || [...v].some((x) => hasMultiSet(x, seen));
  if (v instanceof Map) return [...v].some(([k, x]) => hasMultiSet(k, seen) || hasMultiSet(x, seen));
  if (Array.isArray(v)) return v.some((x) => hasMultiSet(x, seen));
  return false;
}

/** Larger structured values: batches, frames, shared references. */
function structured(): unknown[] {
  const shared = ['s', 1];
  const inner = new Tuple<unknown>();
  inner.push('s', 1);
  const t = new Tuple<unknown>();
  t.push('x', inner);
  return [
    Array.from({ length: 2500 }, (_, i) => i * 3 - 1000),
    new Map(Array.from({ length: 1500 }, (_, i) => [`key${i}`, [i, `v${i % 7}`]] as const)),
    Array.from({ length: 1001 }, (_, i) => ({ id: i, name: `n${i}`, tags: ['a', 'b'] })),
    Array.from({ length: 2500 }, (_, i) => ({ id: i, name: `name-${i}`, score: i / 7, tags: ['a', `t${i % 13}`] })),
    Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`field_${i}`, i % 3 ? `v${i}` : i])),
    Object.fromEntries(Array.from({ length: 1999 }, (_, i) => [`k${i}`, i])),
    new Map(Array.from({ length: 1000 }, (_, i) => [i, -i] as const)),
    new Set(Array.from({ length: 2000 }, (_, i) => i)),
    new FrozenSet(Array.from({ length: 1000 }, (_, i) => `f${i}`)),
    Array.from({ length: 3000 }, (_, i) => i),
    Array.from({ length: 1000 }, (_, i) => String(i % 10)),
    Array.from({ length: 1200 }, (_, i) => [Buffer.alloc(i % 50, i), ByteArray.fromBytes(Buffer.alloc(3, i)), new Set([i])]),
    ['y'.repeat(70_000), Buffer.alloc(70_000, 7), 'z'.repeat(65_536), Buffer.alloc(65_535, 1)],
    Array.from({ length: 300 }, (_, i) => 'é'.repeat(i) + '😀'),
    [shared, shared, t, t, new Map<unknown, unknown>([[t, shared]]), [t, inner]],
    new Set([1]),
    new FrozenSet(['only']),
    Array.from({ length: 20 }, () => Buffer.from('a')),
    Array.from({ length: 20 }, (_, i) => Buffer.from([i, i])),
    [2n ** 64n, -(2n ** 64n), 2n ** 2100n, -1, -(2 ** 31) - 1, 2 ** 31],
  ];
}

describe('pickle property tests through live interpreters', () => {
  it('found interpreters', () => {
    console.log(`pickle property: interpreters ${pythons.map((p) => p.version).join(', ')}`);
    expect(pythons.length).toBeGreaterThan(0);
  });

  for (const py of pythons) {
    const highest = py.versionTuple[0] === 2 ? 2 : py.versionTuple[1] >= 8 ? 5 : 4;
    it(`CPython ${py.version}: random values survive mpwire → Python → mpwire`, async () => {
      const values = fc.sample(pyValue, { numRuns: 400, seed: SEED + py.versionTuple[1] });
      const protos = fc.sample(fc.integer({ min: 0, max: highest }), { numRuns: 400, seed: SEED + 7 });
      const reqs = values.map((v, id) => ({ id, proto: protos[id] ?? 2, hex: dumps(v, { protocol: protos[id] ?? 2 }).toString('hex') }));
      const res = await runCorpus<Redump>(py.path, 'redump', reqs);
      const py2 = py.versionTuple[0] === 2;
      const failures: string[] = [];
      for (const r of res) {
        if (r.error || !r.hex) {
          failures.push(`#${r.id}: Python failed: ${r.error}`);
          continue;
        }
        const back = loads(Buffer.from(r.hex, 'hex'), { exact: true, encoding: py2 ? 'bytes' : 'ASCII' });
        const d = py2 ? pyDiff(sortMaps(values[r.id]), sortMaps(back)) : pyDiff(values[r.id], back);
        if (d) failures.push(`#${r.id} p${reqs[r.id]?.proto}: ${d}`);
      }
      expect(res.length).toBe(reqs.length);
      expect(failures.slice(0, 20)).toEqual([]);
    });

    const [maj, min] = py.versionTuple;
    if (maj === 3 && min >= 8 && min <= 13) {
      it(`CPython ${py.version}: byte-identical to the C pickler for plain data, protocols 2–5`, async () => {
        const values = [...structured(), ...fc.sample(pyValue, { numRuns: 250, seed: SEED + 100 + min })];
        const reqs: Array<{ id: number; proto: number; hex: string }> = [];
        for (let proto = 2; proto <= 5; proto++)
          for (const v of values) reqs.push({ id: reqs.length, proto, hex: dumps(v, { protocol: proto }).toString('hex') });
        const res = await runCorpus<Redump>(py.path, 'redump', reqs);
        const diffs: string[] = [];
        let strict = 0;
        for (const r of res) {
          const req = reqs[r.id] as (typeof reqs)[number];
          const v = values[r.id % values.length];
          if (!r.hex) {
            diffs.push(`#${r.id}: ${r.error}`);
            continue;
          }
          if (!hasMultiSet(v)) {
            strict++;
            if (r.hex !== req.hex) diffs.push(`#${r.id} p${req.proto}: ours ${req.hex.slice(0, 100)} != python ${r.hex.slice(0, 100)}`);
          }
          // With sets Python picks its own iteration order: re-encoding Python's bytes must reproduce them.
          const again = dumps(loads(Buffer.from(r.hex, 'hex'), { exact: true }), { protocol: req.proto }).toString('hex');
          if (again !== r.hex) diffs.push(`#${r.id} p${req.proto} (re-encoded): ${again.slice(0, 100)} != ${r.hex.slice(0, 100)}`);
        }
        expect(strict).toBeGreaterThan(500);
        expect(diffs.slice(0, 10)).toEqual([]);
      });
    }
  }
});

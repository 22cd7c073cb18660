/**
 * Golden corpus from every interpreter findPythons() returns, at every protocol it supports:
 * decode and compare structurally, round-trip through the same interpreter (== and type()),
 * and check byte identity with CPython 3.8–3.13's C pickler where Python itself is stable.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { findPythons, type PythonInfo } from '../../src/bridge/find-pythons.js';
import {
  type Counter,
  type DefaultDict,
  type Deque,
  type OrderedDict,
  PyComplex,
  type PyDate,
  PyDatetime,
  type PyDecimal,
  PyException,
  type PyFraction,
  type PyObject,
  type PyTime,
  PyTimedelta,
  PyTimezone,
  type PyUUID,
  dumps,
  loads,
} from '../../src/pickle/index.js';
import { isPlain, matchDesc, pool, runCorpus, type Desc } from './helpers.js';

interface Entry {
  name: string;
  proto: number;
  hex: string;
  desc: Desc;
  stable: boolean;
}

const pythons: PythonInfo[] = await findPythons();
const corpora = new Map<string, Entry[]>();

beforeAll(async () => {
  console.log(`pickle interop: interpreters ${pythons.map((p) => `${p.version} (${p.path})`).join(', ')}`);
  await pool(pythons, 2, async (py) => {
    corpora.set(py.path, await runCorpus<Entry>(py.path, 'gen'));
  });
}, 300_000);

const isPy2 = (py: PythonInfo): boolean => py.versionTuple[0] === 2;
const loadOpts = (py: PythonInfo) => ({ exact: true, encoding: isPy2(py) ? 'bytes' : 'ASCII' });

describe('pickle golden corpus', () => {
  it('found interpreters', () => {
    expect(pythons.length).toBeGreaterThan(0);
  });

  for (const py of pythons) {
    describe(`CPython ${py.version}`, () => {
      it('decodes every golden pickle to the described value (exact mode)', () => {
        const entries = corpora.get(py.path) ?? [];
        expect(entries.length).toBeGreaterThan(100);
        const failures: string[] = [];
        for (const e of entries) {
          const data = Buffer.from(e.hex, 'hex');
          try {
            const v = loads(data, loadOpts(py));
            const why = matchDesc(v, e.desc);
            if (why) failures.push(`${e.name} p${e.proto}: ${why}`);
            loads(data, { encoding: isPy2(py) ? 'latin1' : 'ASCII' }); // default mode decodes too
          } catch (err) {
            failures.push(`${e.name} p${e.proto}: threw ${String(err)}`);
          }
        }
        expect(failures).toEqual([]);
      });

      it('decodes known classes to their models', () => {
        const entries = corpora.get(py.path) ?? [];
        const at = (name: string, minProto = 0): unknown[] =>
          entries.filter((e) => e.name === name && e.proto >= minProto).map((e) => loads(Buffer.from(e.hex, 'hex'), loadOpts(py)));
        for (const v of at('datetime')) {
          expect(v).toBeInstanceOf(PyDatetime);
          const d = v as PyDatetime;
          expect([d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond]).toEqual([2024, 1, 2, 3, 4, 5, 678901]);
          expect(d.toDate().toISOString()).toBe('2024-01-02T03:04:05.678Z');
        }
        for (const v of at('date')) expect(String(v as PyDate)).toBe('1999-12-31');
        for (const v of at('time')) expect(String(v as PyTime)).toBe('23:59:58.999999');
        for (const v of at('timedelta')) expect(v).toEqual(new PyTimedelta(-1, 5, 7));
        for (const v of at('datetime_ist')) {
          const d = v as PyDatetime;
          expect(d.tzinfo).toBeInstanceOf(PyTimezone);
          expect((d.tzinfo as PyTimezone).tzname).toBe('IST');
          expect(d.toDate().toISOString()).toBe('2020-02-29T06:30:00.000Z');
        }
        for (const v of at('datetime_fold', 4)) expect((v as PyDatetime).fold).toBe(1);
        for (const v of at('decimal')) expect(String(v as PyDecimal)).toBe('1.10');
        for (const v of at('complex')) expect(v).toEqual(new PyComplex(1.5, -2));
        for (const v of at('fraction')) expect(String(v as PyFraction)).toBe('-1/3');
        for (const v of at('uuid')) expect(String(v as PyUUID)).toBe('12345678-1234-5678-1234-567812345678');
        for (const v of at('ordereddict')) expect([...(v as OrderedDict)]).toEqual([[1, 2], ['b', 3]]);
        for (const v of at('defaultdict')) expect((v as DefaultDict).get('a')).toEqual([1]);
        for (const v of at('counter')) expect((v as Counter).get('a')).toBe(5);
        for (const v of at('deque')) expect([(v as Deque).length, (v as Deque).maxlen]).toEqual([3, 5]);
        for (const v of at('keyerror')) {
          expect(v).toBeInstanceOf(PyException);
          expect([(v as PyException).type, (v as PyException).args]).toEqual(['KeyError', ['zz']]);
        }
        for (const v of at('namedtuple')) expect((v as PyObject).name).toBe('Point');
        for (const v of at('token')) expect((v as PyObject).name).toBe('Token');
        for (const v of at('dict_proto_key')) expect(({} as Record<string, unknown>).polluted).toBeUndefined(), void v;
      });

      it('round-trips every golden value: Python → loads(exact) → dumps → Python (== and type())', async () => {
        const entries = corpora.get(py.path) ?? [];
        const reqs = entries.map((e) => ({
          name: e.name,
          proto: e.proto,
          hex: dumps(loads(Buffer.from(e.hex, 'hex'), loadOpts(py)), { protocol: e.proto }).toString('hex'),
        }));
        const res = await runCorpus<{ name: string; proto: number; ok: boolean; why: string | null }>(py.path, 'check', reqs);
        expect(res.length).toBe(reqs.length);
        expect(res.filter((r) => !r.ok).map((r) => `${r.name} p${r.proto}: ${r.why}`)).toEqual([]);
      });

      const [maj, min] = py.versionTuple;
      if (maj === 3 && min >= 8 && min <= 13) {
        it('writes the same bytes as CPython for plain data at protocols 2–5', () => {
          const entries = (corpora.get(py.path) ?? []).filter((e) => e.proto >= 2 && e.stable && isPlain(e.desc));
          expect(entries.length).toBeGreaterThan(200);
          const diffs: string[] = [];
          for (const e of entries) {
            const ours = dumps(loads(Buffer.from(e.hex, 'hex'), { exact: true }), { protocol: e.proto }).toString('hex');
            if (ours !== e.hex) diffs.push(`${e.name} p${e.proto}: ${ours.slice(0, 120)} != ${e.hex.slice(0, 120)}`);
          }
          expect(diffs).toEqual([]);
        });
      }
    });
  }
});

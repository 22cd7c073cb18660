/**
 * Declared classes against every CPython 3.x found: enum members and namedtuples pickled by Python
 * decode to PyEnumMember / PyNamedTuple through pyClasses(), and what mpwire writes back loads in
 * the same interpreter to equal values of the same types, with the enum members identical.
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PyEnumMember,
  PyNamedTuple,
  dumps,
  loads,
  pyClasses,
  pyEnum,
  pyNamedTuple,
} from '../../src/pickle/index.js';
import { Matrix, interpreters, label } from '../harness.js';

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'classes_peer.py');
const all = await interpreters();
// Python 2.7 has no enum module.
const pythons = all.filter((p) => p.versionTuple[0] === 3);
const matrix = new Matrix('pickle: declared enum and namedtuple classes');

const Color = pyEnum('__main__', 'Color', { RED: 1, GREEN: 'green' });
const Level = pyEnum('__main__', 'Level', { LOW: 1, HIGH: 2 });
const Point = pyNamedTuple('__main__', 'Point', ['x', 'y']);
const findClass = pyClasses(Color, Level, Point);

afterAll(() => {
  for (const p of all) if (p.versionTuple[0] === 2) for (const sc of matrix.scenarios) matrix.set(label(p), sc, 'n/a');
  console.log(matrix.report(all));
});

describe.each(pythons.map((p) => [label(p), p] as const))('CPython %s', (name, py) => {
  it('decode, re-encode, load back in Python', async () => {
    const emitted = await execa(py.path, [PEER, 'emit']);
    const lines = emitted.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const back: string[] = [];
    for (const line of lines) {
      const [p, hex] = line.split(' ') as [string, string];
      const proto = Number(p);
      const v = loads(Buffer.from(hex, 'hex'), { findClass }) as unknown[];
      const [red, green, high, p1, p2, red2] = v as [PyEnumMember, PyEnumMember, PyEnumMember, PyNamedTuple, PyNamedTuple, PyEnumMember];
      expect(red).toBe(Color.member('RED'));
      expect(red2).toBe(red);
      expect(green).toBe(Color.member('GREEN'));
      expect(high).toBe(Level.member('HIGH'));
      expect(`${red}`).toBe('Color.RED');
      expect(p1).toBeInstanceOf(PyNamedTuple);
      expect([...p1]).toEqual([1, 'a']);
      expect(p1.toObject()).toEqual({ x: 1, y: 'a' });
      expect(p2.get('x')).toBe(red);
      expect((p2.get('y') as PyNamedTuple[])[0]?.get('y')).toBe(-1.5);
      back.push(`${proto} ${dumps(v, { protocol: proto }).toString('hex')}`);
    }
    const checked = await execa(py.path, [PEER, 'check'], { input: back.join('\n') });
    const ok = checked.stdout.split('\n').filter((l) => l.startsWith('OK ')).length;
    const same = checked.stdout.split('\n').filter((l) => l.startsWith('SAME ')).map((l) => Number(l.slice(5)));
    expect(checked.stdout).not.toMatch(/MISMATCH/);
    expect(ok).toBe(lines.length);
    // Protocols 2+ are byte-identical to CPython's pickler (the enum member is the class called with
    // its value, the namedtuple a NEWOBJ of its values), except 3.6/3.7's protocol 4 framing detail.
    const byName = checked.stdout.includes('BYNAME');
    if (!byName) for (const proto of [2, 3]) expect(same).toContain(proto);
    matrix.set(name, 'enum + namedtuple: decode and round trip', 'pass');
    // By-name releases write getattr(Color, 'RED'), which mpwire reads but does not write.
    matrix.set(name, 'protocols 2–3 byte-identical to CPython', byName ? 'n/a' : 'pass');
    console.log(`CPython ${name}: byte-identical at protocols ${same.join(', ')}${byName ? ' (enum members pickled by name)' : ''}`);
  });
});

describe('declared classes without Python', () => {
  it('unknown values, wrong arity and undeclared classes', () => {
    const bad = dumps(new PyEnumMember(pyEnum('__main__', 'Color', { BLUE: 3 }), 'BLUE', 3));
    expect(() => loads(bad, { findClass })).toThrow(/3 is not a valid Color/);
    // Undeclared: the default placeholder.
    const v = loads(dumps(Point.of(1, 2)), { findClass: pyClasses(Color) }) as { name: string; args: unknown[] };
    expect([v.name, v.args]).toEqual(['Point', [1, 2]]);
    expect(() => Point.of(1)).toThrow(RangeError);
    expect(() => Color.member('NOPE')).toThrow(RangeError);
  });
});

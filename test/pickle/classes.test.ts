import { describe, expect, it } from 'vitest';
import { ByteArray, FrozenSet, PyDecimal, PyFloat, pyEnum, tuple } from '../../src/pickle/index.js';

const via = { via: 'reduce', kwargs: undefined } as const;

describe('pyEnum: finding a member by its value', () => {
  it('values equal under Python == find the same member', () => {
    const E = pyEnum('m', 'E', { ONE: 1, HALF: 0.5, NAME: 'one', NONE: null });
    const one = E.member('ONE');
    for (const v of [1, 1n, true, new PyFloat(1)]) expect(E.hook.create([v], via)).toBe(one);
    expect(E.hook.create([new PyFloat(0.5)], via)).toBe(E.member('HALF'));
    expect(E.hook.create(['one'], via)).toBe(E.member('NAME'));
    expect(E.hook.create([undefined], via)).toBe(E.member('NONE'));
    expect(() => E.hook.create(['1'], via)).toThrow(/is not a valid E/);
    expect(() => E.hook.create([2], via)).toThrow(/is not a valid E/);
  });

  it('an alias resolves to the first member with that value', () => {
    const E = pyEnum('m', 'E', { A: 1, B: true });
    expect(E.hook.create([1], via)).toBe(E.member('A'));
    expect(E.members().map(String)).toEqual(['E.A', 'E.B']);
  });

  it('tuple values match whether loads gave a tuple or a plain array', () => {
    const Planet = pyEnum('m', 'Planet', { MERCURY: tuple(3.303e23, 2.4397e6), EARTH: [5.976e24, 6.37814e6] });
    expect(Planet.hook.create([[3.303e23, 2.4397e6]], via)).toBe(Planet.member('MERCURY'));
    expect(Planet.hook.create([tuple(new PyFloat(5.976e24), new PyFloat(6.37814e6))], via)).toBe(Planet.member('EARTH'));
  });

  it('bytes, frozensets, unhashable and object values', () => {
    const E = pyEnum('m', 'E', {
      BYTES: new Uint8Array([1, 2]),
      FROZEN: new FrozenSet([1, 'a']),
      DICT: { k: 1 },
      DECIMAL: new PyDecimal('1.5'),
    });
    expect(E.hook.create([Buffer.from([1, 2])], via)).toBe(E.member('BYTES'));
    expect(E.hook.create([ByteArray.fromBytes(Buffer.from([1, 2]))], via)).toBe(E.member('BYTES'));
    expect(E.hook.create([new FrozenSet(['a', true])], via)).toBe(E.member('FROZEN'));
    expect(E.hook.create([{ k: 1 }], via)).toBe(E.member('DICT'));
    expect(E.hook.create([new PyDecimal('1.5')], via)).toBe(E.member('DECIMAL'));
  });
});

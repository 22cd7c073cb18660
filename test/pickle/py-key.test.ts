import { describe, expect, it } from 'vitest';
import { ByteArray, FrozenSet, PyException, PyFloat, tuple } from '../../src/pickle/index.js';
import { pyKey, pyKeyWith } from '../../src/pickle/py-key.js';

describe('pyKey', () => {
  it('one key for values Python hashes as equal', () => {
    expect(pyKey(1)).toBe(pyKey(true));
    expect(pyKey(1)).toBe(pyKey(1n));
    expect(pyKey(1)).toBe(pyKey(new PyFloat(1)));
    expect(pyKey(0)).toBe(pyKey(new PyFloat(-0)));
    // Integral floats past 2^53 equal the int of their exact value.
    expect(pyKey(2 ** 60)).toBe(pyKey(2n ** 60n));
    expect(pyKey(new PyFloat(5.976e24))).toBe(pyKey(5.976e24));
    expect(pyKey(new PyFloat(5.976e24))).toBe(pyKey(BigInt(5.976e24)));
    expect(pyKey(new FrozenSet([1, 'a']))).toBe(pyKey(new FrozenSet(['a', true])));
    expect(pyKey(Buffer.from('ab'))).toBe(pyKey(new Uint8Array([0x61, 0x62])));
  });

  it('different keys for values Python tells apart', () => {
    expect(pyKey(1.5)).not.toBe(pyKey(1));
    expect(pyKey('1')).not.toBe(pyKey(1));
    expect(pyKey(tuple(1, 'a'))).not.toBe(pyKey(tuple('1', 'a')));
    expect(pyKey(null)).not.toBe(pyKey('None'));
    expect(pyKey({})).not.toBe(pyKey({}));
  });

  it("raises Python's TypeError for unhashable values, also inside a tuple", () => {
    for (const [v, type] of [
      [[1], 'list'],
      [new Map(), 'dict'],
      [new Set(), 'set'],
      [new ByteArray(1), 'bytearray'],
      [tuple(1, [2]), 'list'],
    ] as const) {
      const e = (() => {
        try {
          return pyKey(v);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(PyException);
      expect((e as PyException).type).toBe('TypeError');
      expect((e as PyException).message).toBe(`unhashable type: '${type}'`);
    }
  });

  it('pyKeyWith asks objectKey for objects, nested ones too', () => {
    const seen: object[] = [];
    const key = pyKeyWith(tuple(1, [2]), (o) => (seen.push(o), 'X'));
    expect(key).toBe('t[i1,X]');
    expect(seen).toEqual([[2]]);
  });
});

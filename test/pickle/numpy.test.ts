/**
 * NumPy arrays and scalars: golden pickles written by NumPy 1.x and 2.x (test/pickle/numpy_vectors.py)
 * for every dtype, protocol 2–5 and shape; zero-copy views; TypedArray encoding; helpers; dis.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pyRepr } from '../../src/cli/repr.js';
import { DType, NDArray, NDScalar, PyComplex, UnpicklingError, dis, dumps, loads, npScalar, pickleCodec, tuple } from '../../src/pickle/index.js';

interface Vector {
  name: string;
  proto: number;
  kind: 'array' | 'scalar' | 'object' | 'shared' | 'oob';
  buffers?: string[];
  b64: string;
  dtype: string;
  shape: number[];
  order: 'C' | 'F';
  raw: string;
  repr?: string;
}
interface Doc {
  [major: string]: { numpy: string; python: string; entries: Vector[] };
}

const HERE = dirname(fileURLToPath(import.meta.url));
const doc = JSON.parse(readFileSync(join(HERE, 'numpy_vectors.json'), 'utf8')) as Doc;
const bytesOf = (v: Vector): Buffer => Buffer.from(v.b64, 'base64');
const rawOf = (v: Vector): Buffer => Buffer.from(v.raw, 'base64');
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

const NATIVE: Record<string, string> = {
  '|b1': 'Uint8Array',
  '|i1': 'Int8Array',
  '<i2': 'Int16Array',
  '<i4': 'Int32Array',
  '<i8': 'BigInt64Array',
  '|u1': 'Uint8Array',
  '<u2': 'Uint16Array',
  '<u4': 'Uint32Array',
  '<u8': 'BigUint64Array',
  '<f4': 'Float32Array',
  '<f8': 'Float64Array',
};

function checkArray(a: unknown, v: Vector): void {
  expect(a).toBeInstanceOf(NDArray);
  const arr = a as NDArray;
  expect(arr.dtype).toBe(v.dtype);
  expect(arr.shape).toEqual(v.shape);
  expect(arr.order).toBe(v.order);
  expect(hex(arr.bytes)).toBe(hex(rawOf(v)));
  expect(arr.data.constructor.name).toBe(NATIVE[v.dtype] ?? 'Uint8Array');
}

describe('golden NumPy pickles', () => {
  it('has vectors from NumPy 1.x and 2.x', () => {
    expect(Object.keys(doc).sort()).toEqual(['numpy1', 'numpy2']);
    for (const d of Object.values(doc)) expect(d.entries.length).toBeGreaterThan(900);
  });

  for (const [major, d] of Object.entries(doc)) {
    describe(`${major} (NumPy ${d.numpy}, Python ${d.python})`, () => {
      it('every array decodes to its dtype, shape, order and bytes, in both modes, at every protocol', () => {
        const fails: string[] = [];
        let n = 0;
        for (const v of d.entries.filter((e) => e.kind === 'array')) {
          try {
            checkArray(loads(bytesOf(v)), v);
            checkArray(loads(bytesOf(v), { exact: true }), v);
            n++;
          } catch (e) {
            fails.push(`${v.name} p${v.proto}: ${(e as Error).message.split('\n')[0]}`);
          }
        }
        expect(fails).toEqual([]);
        expect(n).toBeGreaterThan(800);
      });

      it('arrays survive loads → dumps → loads at every protocol (exact and default mode)', () => {
        const fails: string[] = [];
        for (const v of d.entries.filter((e) => e.kind === 'array')) {
          for (const exact of [true, false]) {
            const a = loads(bytesOf(v), { exact });
            for (const p of [2, 3, 4, 5]) {
              try {
                checkArray(loads(dumps(a, { protocol: p }), { exact }), v);
              } catch (e) {
                fails.push(`${v.name} p${v.proto}→p${p}: ${(e as Error).message.split('\n')[0]}`);
              }
            }
          }
        }
        expect(fails).toEqual([]);
      });

      it('scalars: JS values in default mode, NDScalar models in exact mode, re-encoded as scalars', () => {
        for (const v of d.entries.filter((e) => e.kind === 'scalar')) {
          const x = loads(bytesOf(v));
          const s = loads(bytesOf(v), { exact: true }) as NDScalar;
          expect(s, v.name).toBeInstanceOf(NDScalar);
          expect(s.dtype).toBe(v.dtype);
          expect(hex(s.raw)).toBe(hex(rawOf(v)));
          const kind = v.dtype[1];
          if (kind === 'b') expect(x).toBe(v.repr === 'True');
          else if (kind === 'i' || kind === 'u') expect(String(x)).toBe(v.repr);
          else if (kind === 'f') expect(typeof x).toBe('number');
          else if (kind === 'c') expect(x).toBeInstanceOf(PyComplex);
          else if (kind === 'U') expect(typeof x).toBe('string');
          else if (kind === 'S') expect(Buffer.isBuffer(x)).toBe(true);
          else expect(x).toBeInstanceOf(NDScalar);
          const again = loads(dumps(s, { protocol: v.proto }), { exact: true }) as NDScalar;
          expect(again.dtype).toBe(v.dtype);
          expect(hex(again.raw)).toBe(hex(s.raw));
        }
      });

      it('object arrays hold their items; shared arrays and dtypes stay shared', () => {
        for (const v of d.entries.filter((e) => e.kind === 'object')) {
          const a = loads(bytesOf(v)) as NDArray;
          expect(a.dtype).toBe('|O');
          expect(a.data).toEqual([1, 'two', null, 2.5]);
          const b = loads(dumps(a, { protocol: v.proto })) as NDArray;
          expect(b.data).toEqual([1, 'two', null, 2.5]);
        }
        for (const v of d.entries.filter((e) => e.kind === 'shared')) {
          const [a, b, c] = loads(bytesOf(v)) as NDArray[];
          expect(a).toBe(b);
          expect(a?.descr).toBe(c?.descr);
          expect(Array.from(a?.data as Float64Array)).toEqual([0, 1, 2, 3]);
          expect(Array.from(c?.data as Float64Array)).toEqual([1, 2, 3, 4]);
        }
      });

      it('protocol 5 out-of-band buffers (NEXT_BUFFER, READONLY_BUFFER) give views on the buffers', () => {
        const oob = d.entries.filter((e) => e.kind === 'oob');
        expect(oob.length).toBe(2);
        for (const v of oob) {
          const bufs = (v.buffers ?? []).map((b) => Buffer.from(b, 'base64'));
          const a = loads(bytesOf(v), { buffers: bufs }) as NDArray;
          checkArray(a, v);
          expect(a.bytes.buffer).toBe(bufs[0]?.buffer);
          expect(() => loads(bytesOf(v))).toThrow(UnpicklingError);
        }
      });

      it('every truncation of an array pickle is a truncation error', () => {
        const v = d.entries.find((e) => e.name === '<f8/c2d' && e.proto === 4) as Vector;
        const b = bytesOf(v);
        for (let i = 0; i < b.length; i++) {
          let err: unknown;
          try {
            loads(b.subarray(0, i));
          } catch (e) {
            err = e;
          }
          expect(err, `cut at ${i}`).toBeInstanceOf(UnpicklingError);
          expect((err as UnpicklingError).truncated, `cut at ${i}`).toBe(true);
        }
      });
    });
  }
});

describe('zero copy', () => {
  const v = doc.numpy2?.entries.find((e) => e.name === '<f8/3d' && e.proto === 4) as Vector;
  const p = bytesOf(v);
  const at = p.indexOf(rawOf(v));

  it('an aligned payload becomes a Float64Array view on the input', () => {
    // Place the pickle so that its payload starts at a multiple of 8.
    const shift = (8 - (at % 8)) % 8;
    const big = new Uint8Array(p.length + 16);
    big.set(p, shift + 8);
    const a = loads(big.subarray(shift + 8, shift + 8 + p.length)) as NDArray<Float64Array>;
    expect(a.data).toBeInstanceOf(Float64Array);
    expect(a.data.buffer).toBe(big.buffer);
    expect(a.data.byteOffset).toBe(shift + 8 + at);
    expect(a.data[5]).toBe(new DataView(rawOf(v).buffer, rawOf(v).byteOffset).getFloat64(40, true));
  });

  it('a misaligned payload is copied into an aligned Float64Array', () => {
    const shift = (8 - (at % 8)) % 8;
    const big = new Uint8Array(p.length + 16);
    big.set(p, shift + 9);
    const a = loads(big.subarray(shift + 9, shift + 9 + p.length)) as NDArray<Float64Array>;
    expect(a.data.buffer).not.toBe(big.buffer);
    expect(hex(a.bytes)).toBe(hex(rawOf(v)));
  });

  it('inPlace: a misaligned payload is moved back over its header and viewed; without it the input is never written', () => {
    for (let j = 1; j < 8; j++) {
      const off = (8 - (at % 8) + j) % 8; // the payload lands j bytes past an 8-byte boundary
      const big = new Uint8Array(p.length + 16);
      big.set(p, off);
      const input = big.subarray(off, off + p.length);
      const before = Buffer.from(input);
      const copied = loads(input) as NDArray<Float64Array>;
      expect(Buffer.from(input).equals(before)).toBe(true);
      expect(copied.data.buffer).not.toBe(big.buffer);
      const a = loads(input, { inPlace: true }) as NDArray<Float64Array>;
      expect(a.data).toBeInstanceOf(Float64Array);
      expect(a.data.buffer).toBe(big.buffer);
      expect(a.data.byteOffset % 8).toBe(0);
      expect(hex(a.bytes)).toBe(hex(rawOf(v)));
      expect(a.shape).toEqual([2, 3, 4]);
    }
  });

  it('pickleCodec decodes in place only frames handed over as owned (a connection\'s recv), unless told otherwise', () => {
    for (let j = 1; j < 8; j++) {
      const off = (8 - (at % 8) + j) % 8;
      const big = new Uint8Array(p.length + 16);
      big.set(p, off);
      const input = big.subarray(off, off + p.length);
      const before = Buffer.from(input);
      const copied = pickleCodec().decode(input) as NDArray<Float64Array>;
      expect(Buffer.from(input).equals(before)).toBe(true);
      expect(copied.data.buffer).not.toBe(big.buffer);
      const never = pickleCodec({ inPlace: false }).decode(input, true) as NDArray<Float64Array>;
      expect(Buffer.from(input).equals(before)).toBe(true);
      expect(never.data.buffer).not.toBe(big.buffer);
      const viewed = pickleCodec().decode(input, true) as NDArray<Float64Array>;
      expect(viewed.data.buffer).toBe(big.buffer);
      expect(viewed.data.byteOffset % 8).toBe(0);
      expect(hex(viewed.bytes)).toBe(hex(rawOf(v)));
    }
  });

  it('inPlace never moves a payload over an earlier array', () => {
    const arrays = [new Float64Array([1, 2, 3]), new Float64Array([4, 5]), new Int32Array([6, 7, 8])];
    for (const proto of [3, 4, 5]) {
      const b = dumps(arrays, { protocol: proto });
      for (let off = 0; off < 8; off++) {
        const big = new Uint8Array(b.length + 8);
        big.set(b, off);
        const got = loads(big.subarray(off, off + b.length), { inPlace: true }) as NDArray[];
        expect(got.map((a) => Array.from(a.data as Float64Array))).toEqual([[1, 2, 3], [4, 5], [6, 7, 8]]);
      }
    }
  });

  it('protocol 5 in-band buffers are views too', () => {
    const v5 = doc.numpy1?.entries.find((e) => e.name === '|i1/1d' && e.proto === 5) as Vector;
    const b = bytesOf(v5);
    const a = loads(b) as NDArray;
    expect(a.bytes.buffer).toBe(b.buffer);
  });
});

describe('encoding', () => {
  it('TypedArrays become 1-d arrays of the matching dtype; Uint8Array, Buffer and DataView stay bytes', () => {
    const cases: Array<[ArrayBufferView, string]> = [
      [new Float64Array([1.5, -0, NaN]), '<f8'],
      [new Float32Array([1.5, 2]), '<f4'],
      [new Int8Array([-1, 2]), '|i1'],
      [new Int16Array([-1, 2]), '<i2'],
      [new Int32Array([-1, 2]), '<i4'],
      [new BigInt64Array([-1n, 2n ** 62n]), '<i8'],
      [new Uint16Array([1, 65535]), '<u2'],
      [new Uint32Array([1, 2 ** 32 - 1]), '<u4'],
      [new BigUint64Array([2n ** 64n - 1n]), '<u8'],
      [new Uint8ClampedArray([1, 255]), '|u1'],
    ];
    for (const [t, dt] of cases) {
      for (const p of [2, 3, 4, 5]) {
        const a = loads(dumps(t, { protocol: p })) as NDArray;
        expect(a).toBeInstanceOf(NDArray);
        expect(a.dtype).toBe(dt);
        expect(a.shape).toEqual([(t as Float64Array).length]);
        expect(hex(a.bytes)).toBe(hex(new Uint8Array(t.buffer, t.byteOffset, t.byteLength)));
      }
    }
    expect(Buffer.isBuffer(loads(dumps(new Uint8Array([1, 2]))))).toBe(true);
    expect(Buffer.isBuffer(loads(dumps(Buffer.from('ab'))))).toBe(true);
    expect(loads(dumps(new DataView(new ArrayBuffer(3))))).toEqual(Buffer.alloc(3));
  });

  it('writes the NumPy 1.x names (which NumPy 2 also reads) at every protocol', () => {
    for (const p of [2, 3, 4, 5]) {
      const b = dumps(new NDArray('<f8', [2, 2], new Float64Array([1, 2, 3, 4]), 'F'), { protocol: p });
      const listing = dis(b);
      expect(listing).toContain('numpy.core.multiarray');
      expect(listing).not.toContain('_core');
      expect(listing).not.toContain('_frombuffer');
      const back = loads(b) as NDArray;
      expect(back.order).toBe('F');
      expect(back.toList()).toEqual([
        [1, 3],
        [2, 4],
      ]);
    }
  });

  it('the same TypedArray twice is pickled once (memo)', () => {
    const t = new Float64Array([1, 2]);
    const [a, b] = loads(dumps([t, t])) as NDArray[];
    expect(a).toBe(b);
  });

  it('NDArray checks its data against dtype and shape', () => {
    expect(() => new NDArray('<f8', [3], new Float64Array(2))).toThrow(/expected 24/);
    expect(() => new NDArray('<f8', [-1], new Float64Array(0))).toThrow(/shape/);
    expect(NDArray.from(new Int16Array(6), [2, 3]).shape).toEqual([2, 3]);
  });

  it('npScalar makes scalars NumPy reads back', () => {
    const s = npScalar('<f4', 1.5);
    expect((loads(dumps(s), { exact: true }) as NDScalar).dtype).toBe('<f4');
    expect(loads(dumps(s))).toBe(1.5);
    expect(loads(dumps(npScalar('<i8', 2n ** 60n)))).toBe(2n ** 60n);
    expect(loads(dumps(npScalar('|b1', true)))).toBe(true);
  });
});

describe('helpers', () => {
  const find = (name: string): NDArray => loads(bytesOf(doc.numpy2?.entries.find((e) => e.name === name && e.proto === 4) as Vector)) as NDArray;

  it('toList converts every dtype like tolist()', () => {
    expect(find('<f8/1d').toList()).toEqual([-1, NaN, -Infinity, -0, 1]);
    expect(find('<i8/1d').toList()).toEqual([1, 38, 75, -(2n ** 63n), 2n ** 63n - 1n]);
    expect(find('|b1/1d').toList()).toEqual([false, true, false, false, true]);
    expect(find('<f2/1d').toList()).toEqual([-1, NaN, -Infinity, -0, 1]);
    expect(find('<c16/1d').toList()).toEqual([0, 1, 2, 3, 4].map((i) => new PyComplex(i * 0.5, i - 2)));
    expect(find('|S5/1d').toList()).toEqual(['ab0', 'ab1', 'ab2', 'ab3', 'ab4'].map((s) => Buffer.from(s)));
    expect(find('<U3/1d').toList()).toEqual(['é😀0', 'é😀1', 'é😀2', 'é😀3', 'é😀4']);
    const dates = find('<M8[ms]/1d').toList() as Array<Date | null>;
    expect(dates[0]?.toISOString()).toBe('2024-02-29T12:34:56.789Z');
    expect(dates[1]).toBe(null);
    expect((find('<M8[ns]/1d').toList() as Date[])[2]?.toISOString()).toBe('2024-03-02T12:34:57.035Z');
    expect(find('<m8[s]/1d').toList()).toEqual([-7, 3593, 7193, 10793, 14393]);
    expect(find('struct20/c2d').toList()).toEqual([
      [
        { a: 0, b: [0, 2.5] },
        { a: 1, b: [5, 7.5] },
        { a: 3, b: [10, 12.5] },
      ],
      [
        { a: 4, b: [15, 17.5] },
        { a: 6, b: [20, 22.5] },
        { a: 7, b: [25, 27.5] },
      ],
    ]);
    expect(find('<f8/0d').toList()).toBe(-1);
  });

  it('toTypedArray gives native arrays for big-endian, float16, complex and datetime dtypes', () => {
    expect(Array.from(find('>i4/1d').toTypedArray() as Int32Array)).toEqual([1, 38, 75, -(2 ** 31), 2 ** 31 - 1]);
    expect(Array.from(find('>f8/1d').toTypedArray() as Float64Array)).toEqual([-1, NaN, -Infinity, -0, 1]);
    expect(Array.from(find('<f2/1d').toTypedArray() as Float32Array)).toEqual([-1, NaN, -Infinity, -0, 1]);
    expect(Array.from(find('<c8/1d').toTypedArray() as Float32Array).slice(0, 4)).toEqual([0, -2, 0.5, -1]);
    expect((find('<M8[ms]/1d').toTypedArray() as BigInt64Array)[1]).toBe(-(2n ** 63n));
    expect(find('|S5/1d').toTypedArray()).toBe(undefined);
  });

  it('DType parses and prints NumPy dtype strings', () => {
    for (const s of ['<f8', '|b1', '>i4', '<M8[ms]', '<m8[10s]', '|S5', '<U3', '|V7', '|O', '<c16', '<f2']) expect(DType.parse(s).str).toBe(s);
    expect(DType.parse('<U3').itemsize).toBe(12);
    expect(DType.parse('f8').str).toBe('<f8');
    const st = find('struct20/1d').descr;
    expect(st.names).toEqual(['a', 'b']);
    expect(st.fields?.get('b')?.dtype.subarray?.shape).toEqual([2]);
    expect(st.fields?.get('b')?.offset).toBe(4);
  });

  it('dis and pyRepr show arrays readably', () => {
    const b = dumps(tuple(new NDArray('<f8', [2, 3], new Float64Array([0, 1.5, 2, 3, 4, 5])), new Int32Array([7, 8])));
    const listing = dis(b);
    expect(listing).toContain("ndarray dtype='<f8' shape=(2, 3) order=C [0.0, 1.5, 2.0, 3.0, 4.0, 5.0]");
    expect(listing).toContain("ndarray dtype='<i4' shape=(2,) order=C [7, 8]");
    const r = pyRepr(loads(b));
    expect(r).toContain("array([0.0, 1.5, 2.0, 3.0, 4.0, 5.0], dtype='<f8', shape=(2, 3))");
    expect(pyRepr(loads(dumps(npScalar('<f8', 1.5)), { exact: true }))).toBe('numpy.float64(1.5)');
  });
});

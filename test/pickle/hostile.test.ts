import { describe, expect, it } from 'vitest';
import { Counter, type NDScalar, OrderedDict, PyException, PyObject, PyUUID, dis, loads, pyClasses, pyEnum, pySetState, tuple } from '../../src/pickle/index.js';
import { DEFAULT_LIMITS } from '../../src/pickle/loads.js';
import { MAX_INT_DIGITS } from '../../src/pickle/model.js';
import { pyKey } from '../../src/pickle/py-key.js';
import { catchErr } from './catch-err.js';


describe('dis: hostile input', () => {
  it('rejects a negative LONG4 byte count (the old code looped until the heap ran out)', () => {
    const e = catchErr(() => dis(Buffer.from([0x8b, 0xfb, 0xff, 0xff, 0xff, 0x2e])));
    expect(e.message).toMatch(/negative byte count/);
  });

  it('rejects a negative BINSTRING byte count', () => {
    const e = catchErr(() => dis(Buffer.from([0x54, 0xfb, 0xff, 0xff, 0xff, 0x2e])));
    expect(e.message).toMatch(/< 0/);
  });

  it('summarises a huge LONG4 instead of converting it to decimal', () => {
    const n = 8192;
    const b = Buffer.alloc(1 + 4 + n + 1, 0x11);
    b[0] = 0x8b;
    b.writeInt32LE(n, 1);
    b[5 + n] = 0x2e;
    expect(dis(b)).toContain('<8192-byte long>');
  });

  it('caps MARK indentation so the listing stays linear in the input', () => {
    const n = 24_000; // the old code threw RangeError "Invalid string length"
    const out = dis(Buffer.concat([Buffer.alloc(n, 0x28), Buffer.from('.')]));
    expect(out.length).toBeLessThan(n * 400);
    expect(out).toContain('[23999] MARK');
    // Shallow nesting is indented as pickletools does it.
    expect(dis(Buffer.from('(K\x01l.', 'latin1'))).toContain("    1: 'K'        BININT1          1");
  });
});

// Pickle fragments after /tmp/np1.py: `numpy.dtype(code)` then BUILD with a version-3 state.
const su = (s: string): Buffer => Buffer.concat([Buffer.from([0x8c, s.length]), Buffer.from(s, 'latin1')]);
const binint = (n: number): Buffer => {
  const b = Buffer.alloc(5);
  b[0] = 0x4a;
  b.writeInt32LE(n, 1);
  return b;
};
const npDtype = (code: string): Buffer => Buffer.concat([Buffer.from('cnumpy\ndtype\n', 'latin1'), su(code), Buffer.from('\x85R', 'latin1')]);
/** `dtype(code)` BUILT as a subarray of `base` with shape `(n,)` and size `elsize`. */
const subDtype = (code: string, base: Buffer, n: number, elsize: number): Buffer =>
  Buffer.concat([npDtype(code), Buffer.from('(K\x03', 'latin1'), su('|'), base, binint(n), Buffer.from('\x85\x86NN', 'latin1'), binint(elsize), Buffer.from('K\x00K\x00tb', 'latin1')]);
const npScalar = (dt: Buffer, raw: Buffer): Buffer =>
  Buffer.concat([Buffer.from('\x80\x02cnumpy.core.multiarray\nscalar\n', 'latin1'), dt, Buffer.from([0x43, raw.length]), raw, Buffer.from('\x86R.', 'latin1')]);

describe('numpy: hostile dtypes', () => {
  it('refuses a scalar whose zero-size subarray dtype expands to a million items', () => {
    // 98 bytes; the old code built a 1M-item array (229 MB) when reading .value, and dis() too.
    const b = npScalar(subDtype('i0', npDtype('i0'), 1_000_000, 0), Buffer.alloc(0));
    expect(catchErr(() => loads(b)).message).toMatch(/expands to/);
    expect(dis(b)).toContain('STOP');
  });

  it('refuses nested zero-size subarrays (1000³ items)', () => {
    let dt = npDtype('i0');
    for (let i = 0; i < 3; i++) dt = subDtype('i0', dt, 1000, 0);
    expect(catchErr(() => loads(npScalar(dt, Buffer.alloc(0)))).message).toMatch(/expands to/);
  });

  it('checks the subarray size against shape × base size, as NumPy does', () => {
    const b = npScalar(subDtype('V8', npDtype('i4'), 1000, 8), Buffer.alloc(8));
    expect(catchErr(() => loads(b)).message).toMatch(/subarray of 1000 × 4 bytes/);
    // The consistent dtype reads fine.
    const ok = loads(npScalar(subDtype('V8', npDtype('i4'), 2, 8), Buffer.from([1, 0, 0, 0, 2, 0, 0, 0])), { exact: true }) as NDScalar;
    expect(ok.value).toEqual([1, 2]);
  });

  it('refuses a dtype that contains itself or is built twice', () => {
    // dtype D memoized, then BUILD with subarray base D (memo get).
    const self = Buffer.concat([
      Buffer.from('\x80\x02cnumpy\ndtype\n', 'latin1'), su('V0'), Buffer.from('\x85R\x94(K\x03', 'latin1'), su('|'),
      Buffer.from('h\x00', 'latin1'), binint(1), Buffer.from('\x85\x86NN', 'latin1'), binint(0), Buffer.from('K\x00K\x00tb.', 'latin1'),
    ]);
    expect(catchErr(() => loads(self)).message).toMatch(/contains itself/);
    const twice = Buffer.concat([Buffer.from('\x80\x02', 'latin1'), subDtype('V0', npDtype('i0'), 1, 0), Buffer.from('(K\x03', 'latin1'), su('|'), Buffer.from('NNNJ\x00\x00\x00\x00K\x00K\x00tb.', 'latin1')]);
    expect(catchErr(() => loads(twice)).message).toMatch(/already set/);
  });

  it('refuses fields outside the item', () => {
    const fields = Buffer.concat([
      Buffer.from('\x80\x02', 'latin1'), npDtype('V4'), Buffer.from('(K\x03', 'latin1'), su('|'), Buffer.from('N', 'latin1'), su('a'), Buffer.from('\x85}', 'latin1'),
      su('a'), npDtype('i4'), binint(2), Buffer.from('\x86sK\x04K\x01K\x00tb.', 'latin1'),
    ]);
    expect(catchErr(() => loads(fields)).message).toMatch(/outside a dtype of 4 bytes/);
  });
});

/** `prefix`, 1, then `k` × (DUP; TUPLE2): a tuple DAG whose full expansion has 2^k leaves. */
const dag = (prefix: string, k: number, tail: number[]): Buffer =>
  Buffer.concat([Buffer.from(`${prefix}K\x01`, 'latin1'), Buffer.alloc(2 * k).fill(Buffer.from([0x32, 0x86])), Buffer.from(tail)]);

describe('exceptions: bounded messages', () => {
  it('does not expand shared args exponentially (80 bytes took 16 s and 134M characters)', () => {
    for (const tail of [[0x85, 0x52, 0x2e], [0x32, 0x86, 0x52, 0x2e]]) {
      const e = loads(dag('\x80\x02cbuiltins\nValueError\n', 26, tail)) as PyException;
      expect(e).toBeInstanceOf(PyException);
      expect(e.message.length).toBeLessThan(20_000);
    }
  });

  it('keeps the messages of ordinary args, and survives cyclic ones', () => {
    expect(new PyException('builtins', 'KeyError', ['zz']).message).toBe('zz');
    expect(new PyException('builtins', 'ValueError', [[1, [2, 3]]]).message).toBe('1,2,3');
    expect(new PyException('builtins', 'ValueError', ['a', 2n, [1, null], { x: 1 }]).message).toBe('["a","2",[1,null],{"x":1}]');
    const l: unknown[] = [1];
    l.push(l);
    expect(new PyException('builtins', 'ValueError', [l, 2]).message).toBe('[[1,"…"],2]');
    const big = new PyException('builtins', 'ValueError', [Buffer.alloc(1 << 20), 1]).message;
    expect(big.length).toBeLessThan(20_000);
  });
});

describe('keys of shared tuples: linear time and size', () => {
  it('a declared enum looks up a DAG value quickly (60 bytes took 1.5 s, doubling every 2 bytes)', () => {
    const Color = pyEnum('app', 'Color', { RED: 1 });
    const t = performance.now();
    const e = catchErr(() => loads(dag('\x80\x02capp\nColor\n', 40, [0x85, 0x52, 0x2e]), { findClass: pyClasses(Color) }));
    expect(e.message).toMatch(/is not a valid Color/);
    expect(e.message.length).toBeLessThan(20_000);
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('pyKey of a tuple DAG is short and distinguishes depths (k=20 gave 6.3M characters)', () => {
    const key = (k: number): string => pyKey(loads(dag('\x80\x02', k, [0x2e]), { exact: true }));
    const k40 = key(40);
    expect(k40.length).toBeLessThan(1000);
    expect(k40).not.toBe(key(39));
    expect(k40).toBe(key(40));
    // Ordinary keys are unchanged.
    expect(pyKey(tuple(1, tuple('a', 2.5)))).toBe('t[i1,t["a",f2.5]]');
  });

  it('enum values that are lists or tuples still find their member', () => {
    const Pair = pyEnum('app', 'Pair', { A: [1, [2, 'x'.repeat(500)]], B: tuple(3, 4) });
    expect(Pair.hook.create([tuple(1, tuple(2, 'x'.repeat(500)))], { via: 'reduce', kwargs: undefined })).toBe(Pair.member('A'));
    expect(Pair.hook.create([[3, 4]], { via: 'reduce', kwargs: undefined })).toBe(Pair.member('B'));
  });
});

describe('collections given bytes or str', () => {
  const call = (name: string, arg: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(arg.length);
    return Buffer.concat([Buffer.from(`\x80\x03ccollections\n${name}\n`, 'latin1'), arg, Buffer.from([0x85, 0x52, 0x2e])]);
  };
  const binbytes = (b: Buffer): Buffer => {
    const h = Buffer.alloc(5);
    h[0] = 0x42;
    h.writeUInt32LE(b.length, 1);
    return Buffer.concat([h, b]);
  };

  it('Counter(bytes) counts byte values as Python does (was one entry per byte, keyed by index)', () => {
    const c = loads(call('Counter', binbytes(Buffer.alloc(1 << 20, 0x78)))) as Counter;
    expect(c).toBeInstanceOf(Counter);
    expect([...c]).toEqual([[120, 1 << 20]]);
    expect([...(loads(call('Counter', su('abca'))) as Counter)]).toEqual([['a', 2], ['b', 1], ['c', 1]]);
  });

  it('OrderedDict and defaultdict of bytes stay placeholders', () => {
    expect(loads(call('OrderedDict', binbytes(Buffer.from('xx'))))).toBeInstanceOf(PyObject);
    expect(loads(call('OrderedDict', Buffer.from(']\x94(]\x94(K\x01K\x02e]\x94(K\x03K\x04ee', 'latin1')), { exact: true })).toEqual(new OrderedDict([[1, 2], [3, 4]]));
  });
});

describe('integer strings past maxIntDigits', () => {
  it('Fraction refuses more digits than the default limit (8M digits took 2.5 s)', () => {
    expect(MAX_INT_DIGITS).toBe(DEFAULT_LIMITS.maxIntDigits);
    const n = MAX_INT_DIGITS + 1;
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(n));
    const b = Buffer.concat([Buffer.from('\x80\x04cfractions\nFraction\n\x8d', 'latin1'), len, Buffer.alloc(n, 0x37), Buffer.from([0x85, 0x52, 0x2e])]);
    const t = performance.now();
    expect(catchErr(() => loads(b)).message).toMatch(/exceeds the limit/);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(String(loads(Buffer.from('\x80\x04cfractions\nFraction\n\x8c\x04-3/4\x85R.', 'latin1')))).toBe('-3/4');
    expect(() => new PyUUID(0n)[pySetState](new Map([['int', '7'.repeat(n)]]))).toThrow(RangeError);
  });
});

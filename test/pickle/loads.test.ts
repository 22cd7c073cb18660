import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ByteArray,
  FrozenSet,
  PyFloat,
  PyGlobal,
  PyObject,
  PyPersistentId,
  Tuple,
  UnpicklingError,
  dumps,
  loads,
} from '../../src/pickle/index.js';
import { catchErr } from './catch-err.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');


describe('loads: default (idiomatic JS) mode', () => {
  it('maps Python types to JS types', () => {
    // {'a': 1} from CPython 3.12 (PROTOCOL.md §4.1)
    expect(loads(hex('8004950a000000000000007d948c0161944b01732e'))).toEqual({ a: 1 });
    expect(loads(dumps(null))).toBe(null);
    expect(loads(dumps(true))).toBe(true);
    expect(loads(dumps(2n ** 70n))).toBe(2n ** 70n);
    expect(loads(dumps(2n ** 53n - 1n))).toBe(2 ** 53 - 1);
    expect(loads(dumps(new PyFloat(2)))).toBe(2);
    const t = loads(dumps(new Tuple<number>(...[]).concat([1, 2]) as unknown as Tuple));
    expect(Array.isArray(t)).toBe(true);
    const b = loads(dumps(ByteArray.fromBytes(Buffer.from('ab')), { protocol: 5 }));
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(loads(dumps(new FrozenSet([1])))).toEqual(new Set([1]));
    expect(loads(dumps(new Map<unknown, unknown>([[1, 'x']])))).toEqual(new Map([[1, 'x']]));
  });

  it('turns a dict into a Map when a non-string key arrives, everywhere it is referenced', () => {
    const d = new Map<unknown, unknown>([
      ['a', 1],
      [2, 'b'],
    ]);
    const v = loads(dumps([d, d])) as Array<Map<unknown, unknown>>;
    expect(v[0]).toBeInstanceOf(Map);
    expect(v[0]).toBe(v[1]);
    expect([...(v[0] as Map<unknown, unknown>)]).toEqual([
      ['a', 1],
      [2, 'b'],
    ]);
  });

  it('promotions stay correct with several dicts and a sparse memo', () => {
    const d1 = new Map<unknown, unknown>([[1, 'a']]);
    const d2 = new Map<unknown, unknown>([
      ['x', 1],
      [2, d1],
    ]);
    const v = loads(dumps([d1, d2, d1, d2])) as unknown[];
    expect(v[0]).toBeInstanceOf(Map);
    expect(v[0]).toBe(v[2]);
    expect(v[1]).toBe(v[3]);
    expect((v[1] as Map<unknown, unknown>).get(2)).toBe(v[0]);
    // EMPTY_DICT LONG_BINPUT 0xfffffff0, {1: 2}, LONG_BINGET 0xfffffff0, TUPLE2
    const sparse = loads(Buffer.from('80027d72f0ffffff4b014b02736af0ffffff862e', 'hex')) as unknown[];
    expect(sparse[0]).toBeInstanceOf(Map);
    expect(sparse[0]).toBe(sparse[1]);
  });

  it('never pollutes prototypes', () => {
    const evil = new Map<unknown, unknown>([
      ['__proto__', new Map([['polluted', true]])],
      ['constructor', new Map([['prototype', new Map([['polluted', true]])]])],
    ]);
    const v = loads(dumps(evil)) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(v, '__proto__')).toBe(true);
    expect((v.__proto__ as Record<string, unknown>).polluted).toBe(true);
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor']);
  });
});

describe('loads: memoized dict keys', () => {
  it('keys fetched from the memo keep their values when a PUT reuses the index, and in nested loads', () => {
    // Protocol 2 with explicit BINPUT 0 twice: [{'ka': 1}, {'ka': 2}, {'kb': 3}, {'kb': 4}] where the
    // second string is put at index 0 over the first.
    const p = Buffer.concat([
      hex('80025d28'), // PROTO 2, EMPTY_LIST, MARK
      hex('7d'), hex('5802000000'), ascii('ka'), hex('7100'), hex('4b0173'), // {'ka': 1}, 'ka' -> memo 0
      hex('7d'), hex('6800'), hex('4b0273'), // {memo[0]: 2}
      hex('7d'), hex('5802000000'), ascii('kb'), hex('7100'), hex('4b0373'), // 'kb' put over memo 0
      hex('7d'), hex('6800'), hex('4b0473'), // {memo[0]: 4}
      hex('652e'), // APPENDS, STOP
    ]);
    expect(loads(p)).toEqual([{ ka: 1 }, { ka: 2 }, { kb: 3 }, { kb: 4 }]);
    // A loads run from a class hook inside another loads shares the interning marks.
    const inner = dumps([{ name: 'x' }, { name: 'y' }]);
    class Marker {}
    const outer = dumps([{ name: 'a' }, new Marker(), { name: 'b' }, { name: 'c' }], {
      reduce: (o) => (o instanceof Marker ? { module: 'm', name: 'f', args: [1] } : undefined),
    });
    let nested = 0;
    const got = loads(outer, {
      findClass: () => {
        expect(loads(inner)).toEqual([{ name: 'x' }, { name: 'y' }]);
        nested++;
        return undefined;
      },
    }) as unknown[];
    expect(nested).toBe(1);
    expect(got[0]).toEqual({ name: 'a' });
    expect(got.slice(2)).toEqual([{ name: 'b' }, { name: 'c' }]);
  });
});

describe('loads: floats', () => {
  it('reads BINFLOAT the same in small inputs and in inputs of 1 KiB and more', () => {
    const values = [0, -0, 1.5, -2.25e-308, 1e308, Number.MAX_VALUE, Number.MIN_VALUE, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1 + 0.2];
    const small = loads(dumps(values)) as number[];
    expect(dumps(values).length).toBeLessThan(1024);
    const big = loads(dumps([...values, ...Array.from({ length: 200 }, (_, i) => i + 0.5)])) as number[];
    for (const got of [small, big.slice(0, values.length)]) {
      got.forEach((v, i) => expect(Object.is(v, values[i])).toBe(true));
    }
    expect(big.slice(values.length)).toEqual(Array.from({ length: 200 }, (_, i) => i + 0.5));
    expect(Number.isNaN(loads(dumps(Number.NaN)))).toBe(true);
  });
});

describe('loads: exact mode', () => {
  it('keeps int vs float, tuple vs list, bytes vs bytearray, set vs frozenset', () => {
    const v = loads(
      dumps([1, new PyFloat(1), new Tuple(), [], Buffer.from('x'), ByteArray.fromBytes(Buffer.from('y')), new Set([1]), new FrozenSet([2])], {
        protocol: 5,
      }),
      { exact: true },
    ) as unknown[];
    expect(v[0]).toBe(1);
    expect(v[1]).toEqual(new PyFloat(1));
    expect(v[2]).toBeInstanceOf(Tuple);
    expect(v[3]).not.toBeInstanceOf(Tuple);
    expect(Buffer.isBuffer(v[4]) && !(v[4] instanceof ByteArray)).toBe(true);
    expect(v[5]).toBeInstanceOf(ByteArray);
    expect(v[6]).toBeInstanceOf(Set);
    expect(v[6]).not.toBeInstanceOf(FrozenSet);
    expect(v[7]).toBeInstanceOf(FrozenSet);
  });

  it('big lists stay correct while they grow (APPENDS batches, APPEND, memo, reduce args)', () => {
    const l = Array.from({ length: 2500 }, (_, i) => i);
    const v = loads(dumps([l, new Set(l), l], { protocol: 2 }), { exact: true }) as [number[], Set<number>, number[]];
    expect(v[0].length).toBe(2500);
    expect(v[0]).toBe(v[2]);
    expect(v[1].size).toBe(2500);
    // EMPTY_LIST MEMOIZE MARK 1000×BININT1 APPENDS BINGET 0 BININT1 7 APPEND POP STOP
    const parts = [Buffer.from('80045d9428', 'hex')];
    for (let i = 0; i < 1000; i++) parts.push(Buffer.from([0x4b, i & 255]));
    parts.push(Buffer.from('6568004b076130682e'.replace('68004b076130682e', '4b0761'), 'hex'), Buffer.from('2e', 'hex'));
    const got = loads(Buffer.concat(parts)) as number[];
    expect(got.length).toBe(1001);
    expect(got[1000]).toBe(7);
    expect(got[999]).toBe(999 & 255);
  });

  it('a run of ints after MARK that is not a list batch is undone and read opcode by opcode', () => {
    // MARK ints TUPLE while a list is on top of the stack; a batch of ints that ends in a str; a
    // growing list whose later batch does; an int opcode cut short at the end of the input.
    const ints = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ((i + from) * 7919) % 70001);
    const shapes: unknown[] = [
      [[], Tuple.of(1, 2, 3, 4)],
      [[], Tuple.of(1, 300, 70000, 4, 5)],
      [ints(3), 'x'],
      [...ints(5), 'x', 7],
      [...ints(1000), 5, 6, 'x'],
      [...ints(2000), ...ints(600, 3), 'x', ...ints(999)],
      [[...ints(1500)], [...ints(700), 'y'], [...ints(1200)]],
    ];
    for (const v of shapes) {
      for (const protocol of [2, 4]) expect(loads(dumps(v, { protocol }), { exact: true })).toEqual(v);
    }
    // EMPTY_LIST MARK BININT1 1 BININT 0x01 0x00 <end>: the last int is truncated.
    const cut = loads.bind(null, Buffer.from('80045d284b014a0100', 'hex'));
    expect(cut).toThrow(UnpicklingError);
  });

  it('keeps cycles and shared references', () => {
    const l: unknown[] = [];
    l.push(l, l);
    const v = loads(dumps(l), { exact: true }) as unknown[];
    expect(v[0]).toBe(v);
    expect(v[1]).toBe(v);
  });
});

describe('loads: text forms of protocols 0 and 1', () => {
  it('INT, LONG, FLOAT, bools', () => {
    expect(loads(ascii('(I1\nI-5\nI01\nI00\nL123456789012345678901234567890L\nL-7\nF1.5\nF-inf\nFnan\nl.'))).toEqual([
      1,
      -5,
      true,
      false,
      123456789012345678901234567890n,
      -7,
      1.5,
      -Infinity,
      NaN,
    ]);
  });

  it('STRING with Python repr escapes (Python 2 str)', () => {
    const p = ascii("S'a\\\\b\\'c\\n\\x41\\101\\t'\np0\n.");
    expect(loads(p)).toBe("a\\b'c\nAA\t");
    expect(loads(ascii('S"q"\n.'), { encoding: 'bytes' })).toEqual(Buffer.from('q'));
    expect(() => loads(ascii("S'\\xe9'\n."))).toThrow(UnpicklingError);
    expect(loads(ascii("S'\\xe9'\n."), { encoding: 'latin1' })).toBe('é');
    expect(loads(ascii("U\x02\xc3\xa9."), { encoding: 'utf-8' })).toBe('é');
  });

  it('UNICODE raw-unicode-escape', () => {
    expect(loads(ascii('Vx\\u000a\\u005c \\u0000\xe9\\U0001f600\\ud800\np0\n.'))).toBe('x\n\\ \0é😀\ud800');
    expect(loads(ascii('V\\\\u0041\n.'))).toBe('\\\\u0041');
  });

  it('memo, DICT, TUPLE, POP, POP_MARK, DUP', () => {
    expect(loads(ascii('(dp0\nVk\np1\n(lp2\ng1\naI3\nasg2\n.'))).toEqual(['k', 3]);
    expect(loads(ascii('((I1\nI2\ntp0\n(I9\n1I3\n2t.'))).toEqual([[1, 2], 3, 3]);
    expect(loads(ascii('I1\nI2\n0.'))).toBe(1);
  });

  it('INST, OBJ and PERSID become placeholders', () => {
    const v = loads(ascii('(I1\ni__main__\nOld\np0\n(dp1\nVx\nI2\nsb.')) as PyObject;
    expect(v).toBeInstanceOf(PyObject);
    expect([v.module, v.name, v.args, v.via]).toEqual(['__main__', 'Old', [1], 'inst']);
    expect(v.state).toEqual({ x: 2 });
    expect(loads(ascii('Pabc\n.'))).toEqual(new PyPersistentId('abc'));
    expect(loads(ascii('Pabc\n.'), { persistentLoad: (pid) => `loaded ${String(pid)}` })).toBe('loaded abc');
  });

  it('maps Python 2 names to Python 3 ones', () => {
    expect(loads(ascii('c__builtin__\nset\n((lI1\natR.'))).toEqual(new Set([1]));
    expect(loads(ascii('c__builtin__\nxrange\n.'))).toEqual(new PyGlobal('builtins', 'range'));
  });
});

describe('loads: globals and hooks', () => {
  it('findClass maps a Python class to a JS class', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }
    const p = dumps(new PyObject(new PyGlobal('app', 'Point'), [1, 2], 'reduce'));
    const v = loads(p, { findClass: (m, n) => (m === 'app' && n === 'Point' ? { create: (a) => new Point(a[0] as number, a[1] as number) } : undefined) });
    expect(v).toEqual(new Point(1, 2));
    expect(v).toBeInstanceOf(Point);
  });

  it('unknown classes round-trip as inert placeholders', () => {
    const o = new PyObject(new PyGlobal('os', 'system'), ['rm -rf /'], 'reduce');
    const v = loads(dumps(o), { exact: true }) as PyObject;
    expect(v).toBeInstanceOf(PyObject);
    expect([v.module, v.name, v.args]).toEqual(['os', 'system', ['rm -rf /']]);
    expect(Buffer.compare(dumps(v), dumps(o))).toBe(0);
  });

  it('EXT codes need a registry; NEXT_BUFFER needs buffers', () => {
    expect(catchErr(() => loads(hex('80028201 2e'))).message).toMatch(/extension code 1/);
    expect(loads(hex('80028201 2e'), { extensions: new Map([[1, ['copyreg', '_reconstructor'] as const]]) })).toEqual(
      new PyGlobal('copyreg', '_reconstructor'),
    );
    expect(catchErr(() => loads(hex('8005972e'))).message).toMatch(/out-of-band/);
    expect(loads(hex('8005972e'), { buffers: [Buffer.from('zz')] })).toEqual(Buffer.from('zz'));
  });
});

describe('loads: malformed input', () => {
  const samples = [
    dumps({ a: [1, 2.5, 'x', Buffer.from('yz'), 2n ** 80n, null, true] }),
    dumps(new Map<unknown, unknown>([[1, new Tuple(1, 2, 3, 4)]]), { protocol: 2 }),
    dumps(['é', new Set([1])], { protocol: 0 }),
    dumps(['abc', 'abc'], { protocol: 1 }),
  ];

  it('every truncation gives a truncated UnpicklingError', () => {
    for (const s of samples) {
      for (let i = 0; i < s.length; i++) {
        const e = catchErr(() => loads(s.subarray(0, i)));
        expect(e.truncated, `cut at ${i} of ${s.toString('hex')}: ${e.message}`).toBe(true);
        expect(e.offset).toBeGreaterThanOrEqual(0);
        expect(e.offset).toBeLessThanOrEqual(i);
      }
    }
  });

  it('invalid input is not reported as truncated, and carries the offset', () => {
    const e = catchErr(() => loads(hex('80044b01ff2e')));
    expect(e.truncated).toBe(false);
    expect(e.offset).toBe(4);
    expect(catchErr(() => loads(hex('80042e'))).message).toMatch(/underflow/);
    expect(catchErr(() => loads(hex('8004682e'.replace('2e', '002e')))).message).toMatch(/memo key 0 missing/);
    expect(catchErr(() => loads(hex('8006 2e'))).message).toMatch(/unsupported pickle protocol/);
    expect(catchErr(() => loads(ascii('Vabc\\u12\n.'))).truncated).toBe(false);
  });

  it('the decoder works normally after a failure', () => {
    expect(() => loads(hex('ff'))).toThrow(UnpicklingError);
    expect(loads(samples[0] as Buffer)).toEqual({ a: [1, 2.5, 'x', Buffer.from('yz'), 2n ** 80n, null, true] });
  });

  it('random bytes and mutated pickles only ever throw UnpicklingError', () => {
    const check = (b: Uint8Array): void => {
      try {
        loads(b, { maxLength: 1 << 20 });
        loads(b, { exact: true, encoding: 'bytes', maxLength: 1 << 20 });
      } catch (e) {
        if (!(e instanceof UnpicklingError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => check(b)), { numRuns: 3000 });
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (s, muts) => {
          const b = Buffer.from(s);
          for (const [i, v] of muts) b[i % b.length] = v;
          check(b);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('loads: limits and resource bounds', () => {
  it('LONG4 of 1 MiB decodes in linear time', () => {
    const n = 1 << 20;
    const b = Buffer.alloc(1 + 4 + n + 1);
    b[0] = 0x8b;
    b.writeInt32LE(n, 1);
    b.fill(0x5a, 5, 5 + n);
    b[5 + n] = 0x2e;
    const t = performance.now();
    const v = loads(b) as bigint;
    expect(typeof v).toBe('bigint');
    expect(v % 256n).toBe(0x5an);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(catchErr(() => loads(b, { maxIntBytes: 1000 })).message).toMatch(/maxIntBytes/);
  });

  it('text LONG with many digits is fast and limited', () => {
    const digits = '9'.repeat(200_000);
    const t = performance.now();
    expect(loads(ascii(`L${digits}L\n.`))).toBe(BigInt(digits));
    expect(performance.now() - t).toBeLessThan(2000);
    expect(catchErr(() => loads(ascii(`L${digits}L\n.`), { maxIntDigits: 4300 })).message).toMatch(/maxIntDigits/);
  });

  it('10M MARKs are bounded in time and memory', () => {
    const marks = Buffer.alloc(10_000_000, 0x28);
    const t = performance.now();
    const e = catchErr(() => loads(marks));
    expect(e.message).toMatch(/maxDepth/);
    expect(e.truncated).toBe(false);
    expect(performance.now() - t).toBeLessThan(1000);
    // 5M MARK/POP_MARK pairs are valid and decode in bounded memory.
    const pairs = Buffer.alloc(10_000_002);
    for (let i = 0; i < 10_000_000; i += 2) {
      pairs[i] = 0x28;
      pairs[i + 1] = 0x31;
    }
    pairs[10_000_000] = 0x4e;
    pairs[10_000_001] = 0x2e;
    const heap = process.memoryUsage().heapUsed;
    expect(loads(pairs)).toBe(null);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(64 * 1024 * 1024);
  });

  it('lengths, memo and depth limits are checked before allocating', () => {
    const huge = hex('8004 8e ffffffffffff0000 2e');
    expect(catchErr(() => loads(huge)).message).toMatch(/maxLength/);
    const big = hex('8004 42 ffffff7f 2e');
    const e = catchErr(() => loads(big));
    expect(e.truncated).toBe(true);
    expect(catchErr(() => loads(dumps([[1], [2], [3]]), { maxMemo: 2 })).message).toMatch(/maxMemo/);
    expect(catchErr(() => loads(Buffer.from('(((((N.', 'latin1'), { maxDepth: 3 })).message).toMatch(/maxDepth/);
    expect(catchErr(() => loads(dumps('x'.repeat(100)), { maxLength: 10 })).message).toMatch(/maxLength/);
  });
});

describe('loads: builtins.list / tuple / dict reductions', () => {
  // multiprocessing's ForkingPickler sends dict views as builtins.list((list(view),)) (rebuild_as_list).
  const keys = '80049525000000000000008c086275696c74696e73948c046c6973749493945d94288c0161948c01629465859452942e';
  const values = '80049521000000000000008c086275696c74696e73948c046c6973749493945d94284b014b0265859452942e';
  const items =
    '8004952d000000000000008c086275696c74696e73948c046c6973749493945d94288c0161944b0186948c0162944b02869465859452942e';

  it('dict views sent by multiprocessing decode to lists in both modes', () => {
    for (const exact of [false, true]) {
      expect(loads(hex(keys), { exact })).toEqual(['a', 'b']);
      expect(loads(hex(values), { exact })).toEqual([1, 2]);
      const it = loads(hex(items), { exact }) as unknown[];
      expect(Array.isArray(it) && !(it instanceof Tuple)).toBe(true);
      expect(it).toHaveLength(2);
      expect((it[0] as unknown[])[0]).toBe('a');
      expect(it[0] instanceof Tuple).toBe(exact);
    }
    // exact mode re-encodes a plain list, as Python's pickle.dumps(list(d.keys())) would.
    expect(dumps(loads(hex(keys), { exact: true }))).toEqual(dumps(['a', 'b']));
  });

  it('protocols 0 and 2 (__builtin__.list) and the empty call', () => {
    const p2 = '8002635f5f6275696c74696e5f5f0a6c6973740a71005d7101284b014b02658571025271032e';
    const p0 = '635f5f6275696c74696e5f5f0a6c6973740a70300a28286c70310a49310a6149320a617470320a5270330a2e';
    expect(loads(hex(p2))).toEqual([1, 2]);
    expect(loads(hex(p0))).toEqual([1, 2]);
    expect(loads(hex('80049518000000000000008c086275696c74696e73948c046c6973749493942952942e'))).toEqual([]);
    // list(a_set) gives the set's items.
    expect(loads(hex('8004951f000000000000008c086275696c74696e73948c046c6973749493948f94284b0390859452942e'))).toEqual([3]);
  });

  it('the result is a new list, not the argument', () => {
    // [L, list(L)]
    const v = loads(hex('80049527000000000000005d94285d94284b014b02658c086275696c74696e73948c046c697374949394680185945294652e')) as unknown[][];
    expect(v[0]).toEqual([1, 2]);
    expect(v[1]).toEqual([1, 2]);
    expect(v[1]).not.toBe(v[0]);
  });

  it('tuple(list) and dict(pairs / mapping)', () => {
    const tup = '80049524000000000000008c086275696c74696e73948c057475706c659493945d94284b018c01619465859452942e';
    expect(loads(hex(tup))).toEqual([1, 'a']);
    const t = loads(hex(tup), { exact: true });
    expect(t).toBeInstanceOf(Tuple);
    expect([...(t as unknown[])]).toEqual([1, 'a']);
    const pairs =
      '8004952d000000000000008c086275696c74696e73948c04646963749493945d94288c0161944b0186948c0162944b02869465859452942e';
    expect(loads(hex(pairs))).toEqual({ a: 1, b: 2 });
    expect(loads(hex(pairs), { exact: true })).toEqual(new Map([['a', 1], ['b', 2]]));
    const intKeys = '80049522000000000000008c086275696c74696e73948c04646963749493947d944b018c01789473859452942e';
    expect(loads(hex(intKeys))).toEqual(new Map([[1, 'x']]));
  });

  it('dict([("__proto__", 1)]) makes an own property, never a prototype', () => {
    const v = loads(hex('8004952c000000000000008c086275696c74696e73948c04646963749493945d948c095f5f70726f746f5f5f944b01869461859452942e')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(v['__proto__']).toBe(1);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('other argument shapes stay placeholders', () => {
    // list('ab'): a str argument is not taken apart
    const v = loads(hex('8004951e000000000000008c086275696c74696e73948c046c6973749493948c02616294859452942e'));
    expect(v).toBeInstanceOf(PyObject);
    expect([(v as PyObject).module, (v as PyObject).name, (v as PyObject).args]).toEqual(['builtins', 'list', ['ab']]);
  });
});

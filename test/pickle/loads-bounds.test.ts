/**
 * Decoding stays linear in time and memory on inputs that used to make it quadratic, exponential
 * or run out of memory: FLOAT lines, shared tuples used as names, dict promotions under a deep
 * stack, long backslash runs, lists filled in parallel, and reductions of one big memoized tuple.
 * Expected values marked "CPython" were produced by CPython 3.12 (and 3.8, identical).
 */
import { describe, expect, it } from 'vitest';
import { UnpicklingError, dis, loads } from '../../src/pickle/index.js';
import { catchErr } from './catch-err.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Milliseconds `f` takes. */
function timed(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

/** `prefix`, then `k` × (DUP, TUPLE2): a tuple DAG whose String() doubles in length per level. */
const dag = (prefix: Buffer, k: number, tail: Buffer): Buffer => Buffer.concat([prefix, Buffer.alloc(2 * k).fill(Buffer.from([0x32, 0x86])), tail]);

describe('FLOAT (protocol 0)', () => {
  it('reads a long run of digits in linear time (n=40k took 3 s: the regex backtracked)', () => {
    const b = Buffer.concat([ascii('F'), Buffer.alloc(40_000, '1'), ascii('x\n.')]);
    let e: UnpicklingError | undefined;
    expect(timed(() => (e = catchErr(() => loads(b))))).toBeLessThan(1000);
    expect(e?.message).toMatch(/could not convert string to float/);
    // A long valid literal is fine.
    expect(loads(Buffer.concat([ascii('F0.'), Buffer.alloc(100_000, '0'), ascii('15\n.')]))).toBe(0);
  });

  it("accepts exactly what CPython's unpickler accepts", () => {
    // [line, CPython's repr of pickle.loads(b'F' + line + b'\n.'), or null when it raises].
    const table: Array<[string, string | null]> = [
      ['1.5\u0000zz', '1.5'], ['1.5', '1.5'], ['1', '1.0'], ['-1', '-1.0'], ['+1', '1.0'], ['1.', '1.0'], ['.5', '0.5'],
      ['-.5', '-0.5'], ['+.5', '0.5'], ['.', null], ['-.', null], ['1e5', '100000.0'], ['1E5', '100000.0'],
      ['1e+05', '100000.0'], ['1e-05', '1e-05'], ['1e', null], ['e5', null], ['1.e5', '100000.0'], ['.e5', null],
      ['.5e5', '50000.0'], ['1e5.', null], ['inf', 'inf'], ['-inf', '-inf'], ['+inf', 'inf'], ['INF', 'inf'],
      ['Infinity', 'inf'], ['-infinity', '-inf'], ['infinit', null], ['nan', 'nan'], ['-nan', 'nan'], ['+nan', 'nan'],
      ['NaN', 'nan'], ['nan(1)', null], ['0x10', null], ['1_0', null], [' 1.5', null], ['1.5 ', null], ['\t1', null],
      ['1.5\r', null], ['', null], ['+', null], ['-', null], ['1e400', null], ['-1e400', null], ['1e-400', '0.0'],
      ['00001.5', '1.5'], ['1..5', null], ['1e5e5', null], ['\u00d9\u00a1', null], ['1.5x', null], ['in', null], ['n', null],
      ['iNf', 'inf'], ['1e0010', '10000000000.0'], ['4.9e-324', '5e-324'], ['2.5e-324', '5e-324'],
      ['1.7976931348623157e308', '1.7976931348623157e+308'], ['1.8e308', null], ['0e0', '0.0'], ['-0.0', '-0.0'],
      ['0x1p3', null], ['1.5L', null], [' ', null], ['infinityx', null],
    ];
    const pyFloat = (r: string): number => (r === 'inf' ? Infinity : r === '-inf' ? -Infinity : r === 'nan' ? NaN : Number(r));
    for (const [line, want] of table) {
      const b = Buffer.concat([ascii(`F${line}`), ascii('\n.')]);
      if (want === null) expect(() => loads(b), JSON.stringify(line)).toThrow(UnpicklingError);
      else expect(Object.is(loads(b), pyFloat(want)), JSON.stringify(line)).toBe(true);
    }
  });
});

describe('decoded values used as names are never turned into strings', () => {
  it("BUILD refuses a state key that is not a str (a 57-byte tuple DAG as a key took 4.4 s)", () => {
    // PROTO 2, EMPTY_DICT, EMPTY_DICT (state), EMPTY_TUPLE, 24 × (DUP TUPLE2), NONE, SETITEM, BUILD, STOP.
    const b = dag(hex('80027d7d29'), 24, hex('4e73622e'));
    let e: UnpicklingError | undefined;
    expect(timed(() => (e = catchErr(() => loads(b))))).toBeLessThan(1000);
    expect(e?.message).toMatch(/attribute name must be string/);
  });

  it('bytes() and _codecs.encode() read their encoding argument only when it is a str', () => {
    // builtins.bytes('x', <DAG>) and _codecs.encode('x', <DAG>): the encoding was String()-ed.
    for (const g of ['cbuiltins\nbytes\n', 'c_codecs\nencode\n']) {
      const b = dag(ascii(`\x80\x02${g}(\x8c\x01x)`), 24, ascii('tR.'));
      expect(timed(() => expect(loads(b)).toBeDefined())).toBeLessThan(1000);
    }
    // _codecs.encode('éa', 'latin1'), as CPython writes bytes at protocol 2.
    expect(loads(ascii('\x80\x02c_codecs\nencode\n\x8c\x03\xc3\xa9a\x8c\x06latin1\x86R.'))).toEqual(Buffer.from([0xe9, 0x61]));
  });

  it('dis() lists an object array holding a tuple DAG in bounded text (D=22 printed 20 MB)', () => {
    // numpy.core.multiarray._reconstruct + BUILD of a 1-item object array whose item is the DAG.
    const su = (s: string): Buffer => Buffer.concat([Buffer.from([0x8c, s.length]), ascii(s)]);
    const head = Buffer.concat([
      ascii('\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R(K\x01K\x01\x85cnumpy\ndtype\n'),
      su('O8'),
      ascii('\x89\x88\x87R(K\x03'),
      su('|'),
      ascii('NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89]K\x01'),
    ]);
    const b = dag(head, 22, ascii('atb.'));
    let out = '';
    expect(timed(() => (out = dis(b)))).toBeLessThan(1000);
    expect(out.length).toBeLessThan(20_000);
    expect(out).toContain("ndarray dtype='|O' shape=(1,)");
    expect(String(loads(b)).length).toBeLessThan(20_000);
  });
});

describe('dict promotion (a key that is not a str arrives)', () => {
  it('is linear under a deep stack (N=50k took 7 s, N=100k 28 s; CPython 15 ms)', () => {
    // PROTO 4, N × NONE, N × (EMPTY_DICT BININT1 1 BININT1 1 SETITEM POP), STOP.
    const n = 50_000;
    const b = Buffer.concat([hex('8004'), Buffer.alloc(n, 0x4e), Buffer.alloc(7 * n).fill(hex('7d4b014b017330')), ascii('.')]);
    expect(timed(() => expect(loads(b)).toBe(null))).toBeLessThan(1500);
  });
});

describe('UNICODE (protocol 0)', () => {
  it('decodes a run of 200k backslashes (was "Maximum call stack size exceeded"; CPython: 200k chars)', () => {
    const v = loads(Buffer.concat([ascii('V'), Buffer.alloc(200_000, 0x5c), ascii('\n.')])) as string;
    expect(v.length).toBe(200_000);
    expect(/^\\+$/.test(v)).toBe(true);
    // An odd run before `u`: the last backslash starts an escape (CPython: 100000 backslashes + 'A').
    const w = loads(Buffer.concat([ascii('V'), Buffer.alloc(100_001, 0x5c), ascii('u0041\n.')])) as string;
    expect(w.length).toBe(100_001);
    expect(w.endsWith('\\A')).toBe(true);
    // An even run: no escape (CPython: 100005 chars).
    expect((loads(Buffer.concat([ascii('V'), Buffer.alloc(100_000, 0x5c), ascii('u0041\n.')])) as string).length).toBe(100_005);
  });
});

describe('memory stays proportional to the input', () => {
  /** Resident memory growth (MiB) while `f` runs, and its result. */
  function rssGrowth<T>(f: () => T): [number, T] {
    const before = process.memoryUsage().rss;
    const v = f();
    return [(process.memoryUsage().rss - before) / 2 ** 20, v];
  }

  it('lists filled side by side share one bound on reserved slots (a 4 MB input took 1 GiB and 3 s)', () => {
    // PROTO 4, MARK, 4000 × (EMPTY_LIST, 2 × (MARK, 512 × NONE, APPENDS)), LIST, STOP.
    const batch = Buffer.concat([Buffer.from([0x28]), Buffer.alloc(512, 0x4e), Buffer.from([0x65])]);
    const one = Buffer.concat([Buffer.from([0x5d]), batch, batch]);
    const k = 4000;
    const b = Buffer.concat([hex('800428'), Buffer.alloc(one.length * k).fill(one), hex('6c2e')]);
    let v: unknown[] = [];
    const t = timed(() => {
      const [mib, r] = rssGrowth(() => loads(b) as unknown[][]);
      v = r;
      expect(mib).toBeLessThan(400);
    });
    expect(t).toBeLessThan(1500);
    expect(v.length).toBe(k);
    expect((v[k - 1] as unknown[]).length).toBe(1024);
  });

  /** PROTO 4, `global` memo 0, `args` memo 1, then `k` × (GET 0, GET 1, REDUCE) in a list. */
  const reduceMany = (global: Buffer, args: Buffer, k: number): Buffer =>
    Buffer.concat([hex('8004'), global, hex('94 30 28'), Buffer.alloc(1_000_000, 0x4e), args, hex('94 30 28'), Buffer.alloc(5 * k).fill(hex('6800 6801 52')), hex('6c 2e')]);

  it('a placeholder keeps its argument tuple (200 reductions of one 1M-item tuple took 1.5 GiB)', () => {
    // app.x(*(1M × None)): the tuple is the argument tuple itself.
    const b = reduceMany(Buffer.concat([hex('8c03'), ascii('app'), hex('8c01'), ascii('x'), hex('93')]), hex('74'), 200);
    let v: Array<{ args: unknown[] }> = [];
    const t = timed(() => {
      const [mib, r] = rssGrowth(() => loads(b) as Array<{ args: unknown[] }>);
      v = r;
      expect(mib).toBeLessThan(400);
    });
    expect(t).toBeLessThan(1000);
    expect(v.length).toBe(200);
    expect(v[0]?.args.length).toBe(1_000_000);
    expect(v[199]?.args).toBe(v[0]?.args);
  });

  it('builtins copies of memoized collections are charged to a budget of 4 items per input byte (+1M)', () => {
    // list((1M × None)): 4 copies fit the budget of a 1 MB input; 100 (774 MiB) do not.
    const list = ascii('cbuiltins\nlist\n');
    expect((loads(reduceMany(list, hex('74 85'), 4)) as unknown[]).length).toBe(4);
    const e = catchErr(() => loads(reduceMany(list, hex('74 85'), 100)));
    expect(e.message).toMatch(/copies more than 4 items per input byte/);
    expect(e.truncated).toBe(false);
  });
});

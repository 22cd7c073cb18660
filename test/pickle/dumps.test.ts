import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PicklingError,
  PyException,
  PyGlobal,
  type PyObject,
  Tuple,
  dis,
  dumps,
  loads,
  pickleCodec,
  pyFloatRepr,
  pyReduce,
  tuple,
  OPCODES,
  OP,
} from '../../src/pickle/index.js';
import { pyDiff, pyValue } from './arbitraries.js';

const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('opcode table', () => {
  it('has every pickletools opcode once, with protocol numbers', () => {
    expect(OPCODES.length).toBe(68);
    expect(new Set(OPCODES.map((o) => o.code)).size).toBe(68);
    expect(OP.FRAME).toBe(0x95);
    expect(OPCODES.find((o) => o.name === 'BYTEARRAY8')?.proto).toBe(5);
  });
});

describe('dumps: CPython byte vectors (PROTOCOL.md)', () => {
  it("{'a': 1} at each sender's default protocol", () => {
    expect(h(dumps({ a: 1 }, { protocol: 2 }))).toBe('80027d710058010000006171014b01732e');
    expect(h(dumps({ a: 1 }, { protocol: 3 }))).toBe('80037d710058010000006171014b01732e');
    expect(h(dumps({ a: 1 }))).toBe('8004950a000000000000007d948c0161944b01732e');
  });

  it('manager request and reply tuples', () => {
    expect(h(dumps(tuple(null, 'dummy', tuple(), {})))).toBe('8004951000000000000000284e8c0564756d6d7994297d9474942e');
    expect(h(dumps(tuple('#RETURN', null)))).toBe('8004950e000000000000008c072352455455524e944e86942e');
  });

  it('#ERROR with a builtin exception', () => {
    expect(h(dumps(tuple('#ERROR', new PyException('builtins', 'KeyError', ['zz']))))).toBe(
      '8004952d000000000000008c06234552524f52948c086275696c74696e73948c084b65794572726f729493948c027a7a948594529486942e',
    );
  });

  it('Token placeholders re-encode to the same bytes', () => {
    const token =
      '8004955300000000000000' +
      '8c186d756c746970726f63657373696e672e6d616e6167657273948c05546f6b656e949394' +
      '298194' +
      '8c0464696374948c093132372e302e302e31944d50c386948c0c376630613162326333643430948794622e';
    const v = loads(Buffer.from(token, 'hex'), { exact: true }) as PyObject;
    expect([v.module, v.name, v.via]).toEqual(['multiprocessing.managers', 'Token', 'newobj']);
    expect(h(dumps(v))).toBe(token);
  });
});

describe('dumps: errors name the path', () => {
  it('functions, symbols and class instances without a reduction', () => {
    let e1: unknown;
    try {
      dumps({ a: [1, { f: () => 1 }] });
    } catch (e) {
      e1 = e;
    }
    expect(e1).toBeInstanceOf(PicklingError);
    expect((e1 as PicklingError).path).toBe('$.a[1].f');
    expect(() => dumps([Symbol('x')])).toThrow(/\$\[0\]/);
    class Foo {}
    expect(() => dumps(new Map([['k', new Foo()]]))).toThrow(/Foo.*\$\.k/);
  });

  it('too deep nesting is a PicklingError, not a crash', () => {
    let v: unknown[] = [];
    for (let i = 0; i < 5000; i++) v = [v];
    expect(() => dumps(v)).toThrow(PicklingError);
  });

  it('user reductions', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      [pyReduce]() {
        return { module: 'app', name: 'Point', args: [this.x, this.y] };
      }
    }
    const v = loads(dumps(new Point(1, 2)), { exact: true }) as PyObject;
    expect(v.callable).toEqual(new PyGlobal('app', 'Point'));
    expect(v.args).toEqual([1, 2]);
  });
});

describe('dumps → loads round trips (JS only)', () => {
  it('random values at every protocol', () => {
    fc.assert(
      fc.property(pyValue, fc.integer({ min: 0, max: 5 }), (v, protocol) => {
        const back = loads(dumps(v, { protocol }), { exact: true });
        const d = pyDiff(v, back);
        if (d) throw new Error(`protocol ${protocol}: ${d}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('cycles through lists, dicts and tuples at every protocol', () => {
    for (let protocol = 0; protocol <= 5; protocol++) {
      const l: unknown[] = [1];
      const t = new Tuple<unknown>();
      t.push(l, 2);
      l.push(t);
      const d = new Map<unknown, unknown>();
      d.set('self', d);
      const v = loads(dumps([l, d], { protocol }), { exact: true }) as [unknown[], Map<unknown, unknown>];
      expect(((v[0][1] as unknown[])[0] as unknown[]) === v[0]).toBe(true);
      expect(v[1].get('self')).toBe(v[1]);
    }
  });

  it('frames payloads of 64 KiB and more separately, like CPython', () => {
    const big = Buffer.alloc(70_000, 1);
    const p = dumps([big, 'x'.repeat(70_000), 1]);
    const back = loads(p) as unknown[];
    expect(Buffer.compare(back[0] as Buffer, big)).toBe(0);
    expect(dis(p)).toMatch(/BINBYTES/);
  });
});

describe('pyFloatRepr', () => {
  it('matches Python repr()', () => {
    const cases: Array<[number, string]> = [
      [1, '1.0'],
      [0.1, '0.1'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [-0, '-0.0'],
      [1.5e300, '1.5e+300'],
      [123456789.125, '123456789.125'],
      [5e-324, '5e-324'],
    ];
    for (const [x, s] of cases) expect(pyFloatRepr(x)).toBe(s);
  });
});

describe('dis', () => {
  it('lists opcodes with offsets and arguments', () => {
    const out = dis(dumps({ a: 1 }));
    expect(out).toContain('PROTO            4');
    expect(out).toContain("SHORT_BINUNICODE 'a'");
    expect(out).toContain('BININT1          1');
    expect(out.trim().split('\n').at(-2)).toMatch(/STOP/);
  });
});

describe('pickleCodec', () => {
  it("'auto' answers in the protocol the peer last sent, per connection", () => {
    const codec = pickleCodec();
    const a = codec.forConnection();
    const b = codec.forConnection();
    expect(h(a.encode(1)).slice(0, 4)).toBe('8004');
    a.decode(dumps('hi', { protocol: 2 }));
    b.decode(dumps('hi', { protocol: 5 }));
    expect(h(a.encode(1)).slice(0, 4)).toBe('8002');
    expect(h(b.encode(1)).slice(0, 4)).toBe('8005');
    expect(a.protocol).toBe(2);
    a.decode(Buffer.from('I1\n.', 'latin1'));
    expect(a.protocol).toBe(2);
  });

  it('a fixed protocol and exact mode', () => {
    const c = pickleCodec({ protocol: 3, exact: true });
    expect(h(c.encode(1)).slice(0, 4)).toBe('8003');
    c.decode(dumps(1, { protocol: 5 }));
    expect(c.protocol).toBe(3);
    expect(c.decode(dumps(tuple(1)))).toBeInstanceOf(Tuple);
  });
});

describe('models', () => {
  it('JS Date encodes as a naive datetime and converts back', async () => {
    const { PyDatetime } = await import('../../src/pickle/index.js');
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    const v = loads(dumps(d)) as InstanceType<typeof PyDatetime>;
    expect(v).toBeInstanceOf(PyDatetime);
    expect(v.microsecond).toBe(678000);
    expect(v.toDate().getTime()).toBe(d.getTime());
  });
});

describe('dumps: -0', () => {
  it('writes -0 as the float -0.0 (pickle.dumps(-0.0)) at every protocol, and 0 as an int', () => {
    expect(h(dumps(-0))).toBe('8004950a000000000000004780000000000000002e');
    expect(h(dumps(-0, { protocol: 2 }))).toBe('80024780000000000000002e');
    expect(h(dumps(-0, { protocol: 1 }))).toBe('4780000000000000002e');
    expect(h(dumps(-0, { protocol: 0 }))).toBe('462d302e300a2e');
    // inside lists and dicts (the inlined paths) too: pickle.dumps([0, -0.0, 1]), pickle.dumps({'a': -0.0})
    expect(h(dumps([0, -0, 1]))).toBe('80049512000000000000005d94284b004780000000000000004b01652e');
    expect(h(dumps({ a: -0 }))).toBe(h(dumps(new Map([['a', -0]]))));
    expect(Object.is(loads(dumps(-0)), -0)).toBe(true);
    expect(h(dumps(0))).toBe('80044b002e');
  });
});

describe('Tuple construction', () => {
  it('tuple() keeps its items (a single number is an item, not a length) and derived arrays are plain', () => {
    const one = tuple(5);
    expect(one).toBeInstanceOf(Tuple);
    expect([...one]).toEqual([5]);
    expect(tuple().length).toBe(0);
    const t = tuple(1, 'a', null);
    expect([...t]).toEqual([1, 'a', null]);
    expect(Object.getPrototypeOf(t.map((x) => x))).toBe(Array.prototype);
    expect(Object.getPrototypeOf(t.slice(1))).toBe(Array.prototype);
    const d = Object.getOwnPropertyDescriptor(Tuple, Symbol.species);
    expect(d?.enumerable).toBe(false);
    expect(typeof d?.get).toBe('function');
    expect(h(dumps(tuple(1, 2, 3, 4)))).toBe('8004950c00000000000000284b014b024b034b0474942e');
  });
});

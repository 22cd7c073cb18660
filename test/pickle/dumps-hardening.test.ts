/**
 * What `dumps` writes for values CPython could not load (list keys, bad Dates), and how it
 * reports values that throw while being read. Expected bytes are CPython 3.12's (3.8 identical).
 */
import { describe, expect, it } from 'vitest';
import { PicklingError } from '../../src/errors.js';
import { FrozenSet, Tuple, dumps, loads, tuple } from '../../src/pickle/index.js';
import { catchErrOf } from './catch-err.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

const pickleErr = (f: () => unknown): PicklingError => catchErrOf(PicklingError, f);

describe('dict keys and set members are written hashable', () => {
  // pickle.dumps({(1, 2): 'a', frozenset([3]): 'b'}, p) and pickle.dumps({(1, 2)}, p).
  const golden: Record<string, Record<number, string>> = {
    keys: {
      2: '80027d7100284b014b028671015801000000617102635f5f6275696c74696e5f5f0a66726f7a656e7365740a71035d71044b03618571055271065801000000627107752e',
      3: '80037d7100284b014b028671015801000000617102636275696c74696e730a66726f7a656e7365740a71035d71044b03618571055271065801000000627107752e',
      4: '80049518000000000000007d94284b014b0286948c016194284b0391948c016294752e',
      5: '80059518000000000000007d94284b014b0286948c016194284b0391948c016294752e',
    },
    set: {
      2: '8002635f5f6275696c74696e5f5f0a7365740a71005d71014b014b02867102618571035271042e',
      3: '8003636275696c74696e730a7365740a71005d71014b014b02867102618571035271042e',
      4: '8004950b000000000000008f94284b014b028694902e',
      5: '8005950b000000000000008f94284b014b028694902e',
    },
  };

  it('default mode round-trips tuple and frozenset keys to the bytes CPython writes (lists and sets were written)', () => {
    for (const [name, byProto] of Object.entries(golden)) {
      for (const [p, h] of Object.entries(byProto)) {
        const b = hex(h);
        const v = loads(b);
        // Default mode: the tuple key is an Array, the frozenset a Set.
        if (name === 'keys') expect([...(v as Map<unknown, unknown>).keys()]).toEqual([[1, 2], new Set([3])]);
        expect(dumps(v, { protocol: Number(p) }).toString('hex'), `${name} protocol ${p}`).toBe(h);
        // Exact mode keeps Tuple/FrozenSet and writes the same bytes, as before.
        expect(dumps(loads(b, { exact: true }), { protocol: Number(p) }).toString('hex')).toBe(h);
      }
    }
  });

  it('converts nested lists and sets inside a key, sharing one tuple per array, and leaves other values alone', () => {
    const inner = [1, 2];
    const key = [inner, new Set([[3, 4]]), inner];
    const m = new Map<unknown, unknown>([[key, [inner]]]);
    const back = loads(dumps(m), { exact: true }) as Map<unknown, unknown>;
    const [k, val] = [...back][0] as [unknown[], unknown[]];
    expect(k).toEqual(tuple(tuple(1, 2), new FrozenSet([tuple(3, 4)]), tuple(1, 2)));
    expect(k[2]).toBe(k[0]);
    // The value stays a list of a list: only keys and set members must be hashable.
    expect(val).toEqual([[1, 2]]);
    expect(val).not.toBeInstanceOf(Tuple);
    expect(val[0]).not.toBeInstanceOf(Tuple);
    expect(loads(dumps(new Set([[1, [2]]])), { exact: true })).toEqual(new Set([tuple(1, tuple(2))]));
    // A self-containing list cannot become a tuple: it is left as it is.
    const selfish: unknown[] = [];
    selfish.push(selfish);
    expect(() => dumps(new Map([[selfish, 1]]))).not.toThrow();
  });
});

describe('Dates CPython cannot load', () => {
  it('raise PicklingError with the path (an invalid Date wrote zeros, year -5 loaded as 65531)', () => {
    expect(pickleErr(() => dumps(new Date(Number.NaN))).path).toBe('$');
    const e = pickleErr(() => dumps({ d: [new Date(Date.UTC(-5, 0, 1))] }));
    expect(e.path).toBe('$.d[0]');
    expect(e.message).toMatch(/year -5/);
    const far = new Date(0);
    far.setUTCFullYear(10_000);
    expect(pickleErr(() => dumps([far])).path).toBe('$[0]');
    // Years 1 and 9999 are fine.
    const first = new Date(0);
    first.setUTCFullYear(1);
    expect(() => dumps([first, new Date(Date.UTC(9999, 11, 31))])).not.toThrow();
  });
});

describe('values that throw while being read', () => {
  it('become PicklingErrors naming the path, with the original error as cause', () => {
    const boom = new TypeError('boom');
    const getter = pickleErr(() =>
      dumps({
        a: [
          {
            get b(): number {
              throw boom;
            },
          },
        ],
      }),
    );
    expect(getter.path).toBe('$.a[0].b');
    expect(getter.cause).toBe(boom);
    expect(getter.message).toMatch(/TypeError: boom/);
    const trap = pickleErr(() =>
      dumps({
        a: new Proxy(
          {},
          {
            ownKeys() {
              throw new Error('trap');
            },
          },
        ),
      }),
    );
    expect(trap.path).toBe('$.a');
    expect((trap.cause as Error).message).toBe('trap');
    const r = Proxy.revocable({}, {});
    r.revoke();
    expect(pickleErr(() => dumps({ x: r.proxy })).path).toBe('$.x');
    expect(pickleErr(() => dumps(r.proxy)).path).toBe('$');
    // A hook's error is wrapped the same way.
    const hook = pickleErr(() => dumps([new URL('http://x')], { reduce: () => { throw new RangeError('no'); } }));
    expect(hook.path).toBe('$[0]');
    expect(hook.cause).toBeInstanceOf(RangeError);
  });

  it('keeps a PicklingError raised by a nested dumps as it is', () => {
    const inner = pickleErr(() => dumps(Symbol('s')));
    const outer = pickleErr(() =>
      dumps([new URL('http://x')], {
        reduce: () => {
          throw inner;
        },
      }),
    );
    expect(outer).toBe(inner);
  });
});

/**
 * Default mode turns a dict into a Map when a key that is not a str arrives. Every reference to
 * it that the decoder made must then be the Map: in lists, tuples, placeholders' state, what hooks
 * receive. Pickles are CPython 3.12's (3.8 writes the same bytes).
 */
import { describe, expect, it } from 'vitest';
import { PyObject, type PyClassHook, loads } from '../../src/pickle/index.js';
import { catchErr } from './catch-err.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

describe('dict promotion replaces every reference', () => {
  it("in a placeholder's state: r = {}; r[1] = N(r) with N keeping self.parent", () => {
    const v = loads(hex('80049524000000000000007d944b018c03617070948c014e9493942981947d948c06706172656e749468007362732e')) as Map<unknown, unknown>;
    expect(v).toBeInstanceOf(Map);
    const n = v.get(1) as PyObject;
    expect(n).toBeInstanceOf(PyObject);
    expect((n.state as Record<string, unknown>).parent).toBe(v);
  });

  it("in a list built from the dict's own items: d = {}; d['a'] = [d]; d[1] = 2", () => {
    const v = loads(hex('80049512000000000000007d94288c0161945d946800614b014b02752e')) as Map<unknown, unknown>;
    expect(v).toBeInstanceOf(Map);
    expect((v.get('a') as unknown[])[0]).toBe(v);
    expect(v.get(1)).toBe(2);
  });

  it('in the arguments a hook receives, and in the state its setState receives', () => {
    // d = {}; lst = [d]; d['a'] = lst; d[1] = 2; pickle.dumps([d, M(lst)], 4), M.__reduce__ = (M, (lst,)).
    const seen: unknown[] = [];
    const hook: PyClassHook = {
      create: (args) => {
        seen.push((args[0] as unknown[])[0]);
        return { made: true };
      },
    };
    const v = loads(hex('80049528000000000000005d94287d94288c0161945d946801614b014b02758c03617070948c014d949394680385945294652e'), {
      findClass: (m, n) => (m === 'app' && n === 'M' ? hook : undefined),
    }) as unknown[];
    expect(v[0]).toBeInstanceOf(Map);
    expect(seen).toEqual([v[0]]);
    expect(seen[0]).toBe(v[0]);
    // The same with NEWOBJ + BUILD: pickle.dumps([d, K(lst)], 4), K keeping self.items.
    const states: unknown[] = [];
    const w = loads(hex('80049533000000000000005d94287d94288c0161945d946801614b014b02758c03617070948c014b9493942981947d948c056974656d739468037362652e'), {
      findClass: () => ({ create: () => ({}), setState: (_o, s) => states.push(((s as { items: unknown[] }).items)[0]) }),
    }) as unknown[];
    expect(w[0]).toBeInstanceOf(Map);
    expect(states[0]).toBe(w[0]);
  });

  it('not in a memo slot that PUT has since reassigned (CPython gives None)', () => {
    // PROTO 4, {} memo 0, {1: 1}, POP, {} memo 1, NONE, BINPUT 1, POP, {1: 1}… via GET 1.
    expect(loads(hex('80047d944b014b0173307d944e7101304b014b01733068012e'))).toBe(null);
  });

  it('bounds the work of resolving values for hooks once a shared dict was promoted', () => {
    // {} memo 0, GET 0 … SETITEM 1: 1 (a dict referenced twice gets an int key), then a 1M-item
    // list memo 1, app.H memo 2, then 100 × H(list): each call would walk the list again.
    const b = Buffer.concat([
      hex('8004 7d94 30 6800 4b01 4b01 73 30 28'),
      Buffer.alloc(1_000_000, 0x4e),
      hex('6c94 30 8c03'),
      Buffer.from('app'),
      hex('8c01'),
      Buffer.from('H'),
      hex('93 94 30 28'),
      Buffer.alloc(600).fill(hex('6802 6801 85 52')),
      hex('6c 2e'),
    ]);
    let calls = 0;
    const t = performance.now();
    const e = catchErr(() => loads(b, { findClass: () => ({ create: () => ++calls }) }));
    expect(performance.now() - t).toBeLessThan(2000);
    expect(e.message).toMatch(/exact: true/);
    expect(calls).toBeLessThan(40);
    // Without the shared dict nothing is walked: all 100 calls run.
    const plain = Buffer.concat([hex('8004 7d94 4b01 4b01 73 30 28'), b.subarray(b.indexOf(Buffer.from([0x4e])))]);
    expect((loads(plain, { findClass: () => ({ create: () => 0 }) }) as unknown[]).length).toBe(100);
  });
});

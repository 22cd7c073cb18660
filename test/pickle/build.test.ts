/**
 * BUILD applies state only where Python would find a `__dict__` or a `__setstate__`: placeholders,
 * models that take state, objects made by hooks (and, as before, dicts decoded as plain objects).
 */
import { describe, expect, it } from 'vitest';
import { OrderedDict, type PyObject, dumps, loads, pyClasses, pyEnum } from '../../src/pickle/index.js';
import { catchErr } from './catch-err.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
/** BUILD of the state {'0': 65} (`'0'` would index into an array or a Buffer). */
const STATE_0 = hex('7d 8c01 30 4b41 73 62');

describe('BUILD targets', () => {
  it('never writes into the input through a bytes view, nor into small bytes', () => {
    // PROTO 4, BINBYTES of 64 KiB (a view on the input), BUILD {'0': 65}, STOP.
    const len = Buffer.alloc(4);
    len.writeUInt32LE(65_536);
    const input = Buffer.concat([hex('8004 42'), len, Buffer.alloc(65_536), STATE_0, ascii('.')]);
    const copy = Buffer.from(input);
    expect(catchErr(() => loads(input)).message).toMatch(/BUILD target \(bytes\) takes no state/);
    expect(input.equals(copy)).toBe(true);
    for (const exact of [false, true]) {
      expect(catchErr(() => loads(Buffer.concat([hex('8004 4303'), ascii('abc'), STATE_0, ascii('.')]), { exact })).message).toMatch(/takes no state/);
    }
  });

  it('refuses sets, dicts decoded as Maps, globals and models without state; lists and tuples as before', () => {
    const refused: Array<[Buffer, boolean]> = [
      [hex('8004 8f'), false], // set
      [hex('8002 7d'), true], // dict, exact mode (a Map)
      [hex('8002 5d'), false], // list
      [hex('8002 29'), true], // tuple
      [ascii('\x80\x02cbuiltins\nlen\n'), false],
      [Buffer.concat([ascii('\x80\x03cdatetime\ndatetime\nC\x0a'), hex('07e4 01 02 00 00 00 000000'), ascii('\x85R')]), false],
    ];
    for (const [head, exact] of refused) {
      expect(catchErr(() => loads(Buffer.concat([head, STATE_0, ascii('.')]), { exact })).message).toMatch(/takes no state/);
    }
    // A dict decoded as a plain object keeps taking str keys (Python itself refuses BUILD on a dict).
    expect(loads(Buffer.concat([hex('8002 7d'), STATE_0, ascii('.')]))).toEqual({ '0': 65 });
    // Placeholders keep their state; objects a hook made get it copied (str keys only).
    const obj = loads(Buffer.concat([ascii('\x80\x02capp\nX\n)R'), STATE_0, ascii('.')])) as PyObject;
    expect(obj.state).toEqual({ '0': 65 });
    const made = loads(Buffer.concat([ascii('\x80\x02capp\nX\n)R'), STATE_0, ascii('.')]), { findClass: () => ({ create: () => ({}) }) });
    expect(made).toEqual({ '0': 65 });
    // State {1: 2} (a Map in default mode too): no attribute named 1.
    const e = catchErr(() => loads(ascii('\x80\x02capp\nX\n)R}K\x01K\x02sb.'), { findClass: () => ({ create: () => ({}) }) }));
    expect(e.message).toMatch(/attribute name must be string/);
  });

  it('refuses state on enum members, which stay frozen and shared (BUILD set Color.RED.value = 99 for good)', () => {
    const Color = pyEnum('app', 'Color', { RED: 1, GREEN: 2 });
    const findClass = pyClasses(Color);
    // Color(1), then BUILD {'value': 99}.
    expect(catchErr(() => loads(hex('8002636170700a436f6c6f720a4b0185527d8c0576616c75654b6373622e'), { findClass })).message).toMatch(/enum member takes no state/);
    // getattr(Color, 'RED') (CPython 3.11.0–3.11.4), then the same BUILD.
    const viaGetattr = ascii('\x80\x02cbuiltins\ngetattr\ncapp\nColor\n\x8c\x03RED\x86R}\x8c\x05valueKcsb.');
    expect(catchErr(() => loads(viaGetattr, { findClass })).message).toMatch(/enum member takes no state/);
    expect(Color.member('RED').value).toBe(1);
    expect(Object.isFrozen(Color.member('RED'))).toBe(true);
    expect(loads(hex('8002636170700a436f6c6f720a4b018552 2e'), { findClass })).toBe(Color.member('RED'));
  });

  it("keeps an OrderedDict's attributes and writes them back as CPython does", () => {
    // od = OrderedDict(a=1); od.x = 5; pickle.dumps(od, 4) (CPython 3.12 and 3.6).
    const p = hex('80049533000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0161944b01737d948c0178944b0573622e');
    for (const exact of [false, true]) {
      const od = loads(p, { exact }) as OrderedDict;
      expect(od).toBeInstanceOf(OrderedDict);
      expect([...od]).toEqual([['a', 1]]);
      expect(od.state).toEqual(exact ? new Map([['x', 5]]) : { x: 5 });
      expect(dumps(od, { protocol: 4 }).equals(p)).toBe(true);
    }
  });
});

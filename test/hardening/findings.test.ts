/**
 * Regression tests for what the hardening work found (SECURITY.md, "Findings"):
 * 1. GLOBAL/INST module names that are Object.prototype members (`__proto__`, `constructor`, …)
 *    resolved through the Python 2 name table to Object.prototype or to functions.
 * 2. BUILD could copy `length` (or a large index) onto a list: 22 bytes gave a 2**31-slot array.
 * 3. A manager type's `methodToTypeid` was read through the prototype chain (`toString`, …).
 * 4. Complete frames that arrived in the same chunk as an over-limit header were dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bytesCodec, listen } from '../../src/index.js';
import { type ManagerServer, connectManager, serveManager } from '../../src/managers/index.js';
import { type PyGlobal, type PyObject, loads } from '../../src/pickle/index.js';
import { ProtocolError, UnpicklingError } from '../../src/errors.js';
import { frame, rawConnect } from './helpers.js';

const P = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('1. global names are never looked up on Object.prototype', () => {
  it.each(['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__lookupGetter__', 'isPrototypeOf'])('module %s', (mod) => {
    const g = loads(P(`c${mod}\nx\n.`)) as PyGlobal;
    expect(g.module).toBe(mod);
    const inst = loads(P(`(i${mod}\nx\n.`)) as PyObject;
    expect(inst.module).toBe(mod);
    let seen: unknown;
    loads(P(`c${mod}\nx\n)R.`), { findClass: (m) => void (seen = m) });
    expect(seen).toBe(mod);
  });
  it('the real Python 2 names are still mapped', () => {
    expect((loads(P('c__builtin__\nlong\n.')) as PyGlobal).toString()).toBe('builtins.int');
    expect((loads(P('ccopy_reg\n_reconstructor\n.')) as PyGlobal).module).toBe('copyreg');
  });
});

describe('2. BUILD never copies state onto lists or tuples', () => {
  it('a length bomb is refused', () => {
    const bomb = Buffer.concat([P(']}(X\x06\x00\x00\x00lengthJ'), Buffer.from([0xff, 0xff, 0xff, 0x7f]), P('ub.')]);
    expect(bomb.length).toBe(22);
    expect(() => loads(bomb)).toThrow(UnpicklingError);
    expect(() => loads(bomb, { exact: true })).toThrow(/no __dict__/);
    const index = P(']}(X\x0a\x00\x00\x004294967294K\x01ub.');
    expect(() => loads(index)).toThrow(/no __dict__/);
    const onTuple = P('\x80\x02)}(X\x06\x00\x00\x00lengthK\x05ub.');
    expect(() => loads(onTuple, { exact: true })).toThrow(/tuple/);
  });
  it('BUILD still works on placeholders, dicts and hooked objects', () => {
    const state = '}(X\x01\x00\x00\x00aK\x01ub.';
    expect((loads(P('\x80\x02cm\nC\n)R' + state)) as PyObject).state).toEqual({ a: 1 });
    expect(loads(P('\x80\x02cm\nC\n)R' + state), { findClass: () => ({ create: () => ({}) }) })).toEqual({ a: 1 });
  });
});

describe('3. manager methodToTypeid is read as own keys only', () => {
  let server: ManagerServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  it('an exposed method named like an Object.prototype member returns its value, not a proxy of a bogus typeid', async () => {
    class Box {
      toString(): string {
        return 'a box';
      }
      open(): number[] {
        return [1, 2];
      }
    }
    server = await serveManager({
      address: ['127.0.0.1', 0],
      authkey: 'k',
      registry: { Box: { callable: () => new Box(), exposed: ['toString', 'valueOf', 'open'], methodToTypeid: { open: 'list' } } },
    });
    const m = await connectManager(server.address, { authkey: 'k' });
    try {
      const box = await m.create('Box');
      expect(await box.call('toString')).toBe('a box');
      const opened = await box.call('open');
      expect(typeof (opened as { call?: unknown }).call).toBe('function'); // a proxy, from the own key
    } finally {
      await m.close();
    }
  });
});

describe('4. frames before an over-limit header are delivered', () => {
  it('two good frames, then the bad header: both frames, then ProtocolError, then write-only', async () => {
    const listener = await listen(['127.0.0.1', 0], { maxMessageSize: 10, codec: bytesCodec });
    const raw = await rawConnect(listener.address);
    const conn = await listener.accept();
    const bad = Buffer.alloc(4);
    bad.writeInt32BE(11);
    raw.socket.write(Buffer.concat([frame('one'), frame('two'), bad]));
    await new Promise((r) => setTimeout(r, 50)); // let the whole chunk arrive before reading
    expect((await conn.recvBytes()).toString()).toBe('one');
    expect((await conn.recvBytes()).toString()).toBe('two');
    await expect(conn.recvBytes()).rejects.toBeInstanceOf(ProtocolError);
    expect(conn.readable).toBe(false);
    await expect(conn.recvBytes()).rejects.toThrow('write-only');
    conn.close();
    raw.socket.destroy();
    await listener.close();
  });
});

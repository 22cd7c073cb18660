/**
 * Fuzzer of the unpickler (src/pickle/loads.ts): random bytes, grammar-aware opcode soup, and
 * mutations of golden vectors (hostile pickles written by CPython, manager messages, and pickles
 * of random values at every protocol). Whatever the input, `loads` returns or throws an
 * UnpicklingError with a byte offset; `findClass` only ever sees two strings; no function comes
 * out; nothing is polluted; a decoded value re-encodes or gives a PicklingError.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PicklingError, UnpicklingError } from '../../src/errors.js';
import { type PyClassHook, dumps, loads } from '../../src/pickle/index.js';
import { pyValue } from '../pickle/arbitraries.js';
import { FUZZ_TIMEOUT, assertNotPolluted, prototypeSnapshot, reportInputs, runs, tried } from './budget.js';

reportInputs('pickle');
const SNAPSHOT = prototypeSnapshot();
afterAll(() => assertNotPolluted(SNAPSHOT));

const hostile = (JSON.parse(readFileSync(new URL('../hardening/hostile-vectors.json', import.meta.url), 'utf8')) as { vectors: Array<{ hex: string }> }).vectors.map((v) =>
  Buffer.from(v.hex, 'hex'),
);
const managerVectors = Object.values(JSON.parse(readFileSync(new URL('../managers/vectors.json', import.meta.url), 'utf8')) as Record<string, unknown>)
  .filter((v): v is string => typeof v === 'string' && /^[0-9a-f]*$/.test(v))
  .map((h) => Buffer.from(h, 'hex'));
const SEEDS = [...hostile, ...managerVectors];

/** A user hook for one made-up module, so BUILD's property-copy path and hooks are exercised. */
const testHook: PyClassHook = { create: (args) => ({ made: args.length }) };

/** Decode `data` in one mode and check every invariant; returns the value or undefined. */
function check(data: Uint8Array, exact: boolean): unknown {
  const seen: Array<[unknown, unknown]> = [];
  let value: unknown;
  try {
    value = loads(data, {
      exact,
      findClass: (module, name) => {
        seen.push([module, name]);
        return module === 'mpwire.test' ? testHook : undefined;
      },
    });
  } catch (e) {
    if (!(e instanceof UnpicklingError)) throw new Error(`foreign error ${String(e)}`, { cause: e });
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(data.length);
    value = undefined;
  }
  for (const [m, n] of seen) {
    expect(typeof m).toBe('string');
    expect(typeof n).toBe('string');
  }
  assertNotPolluted();
  if (value !== undefined) inspect(value);
  return value;
}

const ALLOWED_PROTOS = new Set<unknown>([null]);

/** Walk what `loads` returned (own keys only, bounded): no functions, no foreign prototypes. */
function inspect(root: unknown): void {
  const stack: unknown[] = [root];
  const seen = new Set<unknown>();
  let budget = 5000;
  while (stack.length > 0 && budget-- > 0) {
    const v = stack.pop();
    if (typeof v === 'function') throw new Error('a function came out of loads');
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    const proto = Object.getPrototypeOf(v) as object | null;
    // Any prototype must be a class's prototype (it has its own `constructor`), never a decoded value.
    if (!ALLOWED_PROTOS.has(proto) && !(proto !== null && Object.hasOwn(proto, 'constructor'))) throw new Error('an object with a decoded prototype');
    if ('polluted' in v && !Object.hasOwn(v, 'polluted')) throw new Error('inherited "polluted" property');
    if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else if (v instanceof Set) for (const x of v) stack.push(x);
    if (ArrayBuffer.isView(v)) continue;
    for (const k of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, k);
      if (d && 'value' in d) stack.push(d.value);
    }
  }
}

/** Re-encoding what was decoded works or throws PicklingError; the result decodes again. */
function reencode(value: unknown, protocol: number): void {
  let bytes: Uint8Array;
  try {
    bytes = dumps(value, { protocol });
  } catch (e) {
    if (e instanceof PicklingError) return;
    throw new Error(`dumps threw a foreign error: ${String(e)}`, { cause: e });
  }
  loads(bytes, { exact: true });
}

const NAMES = [
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'length', '__reduce__', '__setstate__',
  'builtins', '__builtin__', 'os', 'posix', 'nt', 'system', 'eval', 'exec', 'getattr', '__import__', 'subprocess', 'Popen',
  'copyreg', 'copy_reg', '_reconstructor', '__newobj__', 'object', 'list', 'dict', 'set', 'frozenset', 'bytearray', 'bytes', 'tuple',
  'collections', 'OrderedDict', 'defaultdict', 'deque', 'Counter', 'datetime', 'date', 'timedelta', 'timezone', 'decimal', 'Decimal',
  'uuid', 'UUID', 'fractions', 'Fraction', 'complex', 'range', 'slice', 'Exception', 'KeyError', '_codecs', 'encode', 'latin1',
  'mpwire.test', 'Thing', 'multiprocessing.managers', 'RebuildProxy', 'Token', '', 'a', 'polluted',
];

const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
const le = (n: number, w: number): Buffer => {
  const b = Buffer.alloc(w);
  if (w === 8) b.writeBigUInt64LE(BigInt(n));
  else b.writeUIntLE(n, 0, w);
  return b;
};
const op = (c: string, ...rest: Buffer[]): Buffer => Buffer.concat([Buffer.from(c, 'latin1'), ...rest]);

const name = fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 6 }));
/** Memo indexes: mostly the few a short pickle memoizes, sometimes anything. */
const memoIdx = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3 }), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 0xffffffff }), weight: 1 });
const smallInt = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xffffffff, 0x7fffffff, 2 ** 31, 65535, 1000000));
const digits = fc.oneof(fc.integer().map(String), fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String), fc.constantFrom('01', '00', '0x1f', '--1', '', '1_0', ' 7 '));

/** One opcode with a plausible argument. */
const token: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(...'(.012N\x88\x89}])\x8f\x85\x86\x87tld\x91\x90aesuR\x81\x92b\x93\x94oQ\x97\x98\x82'.split('').map((c) => op(c))),
  fc.constantFrom(...'(((((}}]]'.split('').map((c) => op(c))),
  smallInt.map((n) => op('K', u8(n))),
  smallInt.map((n) => op('M', le(n & 0xffff, 2))),
  fc.integer().map((n) => op('J', Buffer.from(new Int32Array([n]).buffer))),
  fc.uint8Array({ maxLength: 12 }).map((b) => op('\x8a', u8(b.length), Buffer.from(b))),
  fc.uint8Array({ maxLength: 6 }).map((b) => op('\x8b', le(b.length, 4), Buffer.from(b))),
  fc.double().map((d) => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(d);
    return op('G', b);
  }),
  name.map((s) => {
    const b = Buffer.from(s, 'utf8');
    return op('\x8c', u8(b.length), b);
  }),
  name.map((s) => {
    const b = Buffer.from(s, 'utf8');
    return op('X', le(b.length, 4), b);
  }),
  fc.uint8Array({ maxLength: 10 }).map((b) => op('C', u8(b.length), Buffer.from(b))),
  fc.uint8Array({ maxLength: 10 }).map((b) => op('B', le(b.length, 4), Buffer.from(b))),
  fc.uint8Array({ maxLength: 10 }).map((b) => op('\x96', le(b.length, 8), Buffer.from(b))),
  memoIdx.map((n) => op('q', u8(n))),
  memoIdx.map((n) => op('r', le(n >>> 0, 4))),
  memoIdx.map((n) => op('h', u8(n))),
  memoIdx.map((n) => op('j', le(n >>> 0, 4))),
  memoIdx.map((n) => op('g', Buffer.from(`${n}\n`))),
  memoIdx.map((n) => op('p', Buffer.from(`${n}\n`))),
  digits.map((d) => op('I', Buffer.from(`${d}\n`))),
  digits.map((d) => op('L', Buffer.from(`${d}L\n`))),
  fc.oneof(fc.double().map(String), fc.constantFrom('nan', 'inf', '-inf', '1e999', 'x')).map((s) => op('F', Buffer.from(`${s}\n`))),
  name.map((s) => op('S', Buffer.from(`'${s.replace(/[\\'\n]/g, '')}'\n`, 'latin1'))),
  name.map((s) => op('V', Buffer.from(`${s.replace(/[\\\n]/g, '')}\n`, 'latin1'))),
  name.map((s) => op('U', u8(Buffer.byteLength(s, 'latin1')), Buffer.from(s, 'latin1'))),
  fc.tuple(name, name).map(([m, n]) => op('c', Buffer.from(`${m.replace(/\n/g, '')}\n${n.replace(/\n/g, '')}\n`, 'utf8'))),
  fc.tuple(name, name).map(([m, n]) => op('i', Buffer.from(`${m.replace(/\n/g, '')}\n${n.replace(/\n/g, '')}\n`, 'utf8'))),
  fc.integer({ min: 0, max: 6 }).map((p) => op('\x80', u8(p))),
  fc.integer({ min: 0, max: 64 }).map((n) => op('\x95', le(n, 8))),
  name.map((s) => op('P', Buffer.from(`${s.replace(/\n/g, '')}\n`, 'latin1'))),
);

const soup = fc
  .tuple(fc.integer({ min: 0, max: 5 }), fc.array(token, { maxLength: 40 }), fc.integer({ min: 0, max: 9 }))
  .map(([p, ops, stop]) => Buffer.concat([op('\x80', u8(p)), ...ops, ...(stop > 0 ? [op('.')] : [])]));

/** Byte-level mutations of a seed: flips, interesting bytes, deletions, insertions, duplications, splices. */
function mutate(seed: Buffer, muts: Array<{ kind: number; at: number; arg: number }>, other: Buffer): Buffer {
  let b = Buffer.from(seed);
  for (const m of muts) {
    const i = b.length === 0 ? 0 : m.at % b.length;
    switch (m.kind) {
      case 0:
        if (b.length > 0) b[i] = (b[i] as number) ^ (1 << (m.arg & 7));
        break;
      case 1:
        if (b.length > 0) b[i] = [0x00, 0xff, 0x7f, 0x80, 0x28, 0x2e, 0x94, 0x52, 0x62, 0x63][m.arg % 10] as number;
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + (m.arg % 4))]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, i), u8(m.arg), b.subarray(i)]);
        break;
      case 4: {
        const len = 1 + (m.arg % 16);
        b = Buffer.concat([b.subarray(0, i), b.subarray(i, i + len), b.subarray(i)]);
        break;
      }
      case 5: {
        const j = other.length === 0 ? 0 : m.arg % other.length;
        b = Buffer.concat([b.subarray(0, i), other.subarray(j)]);
        break;
      }
      default:
        b = b.subarray(0, i);
    }
  }
  return b;
}

const mutation = fc.record({ kind: fc.integer({ min: 0, max: 6 }), at: fc.nat(), arg: fc.nat(255) });

describe('unpickler fuzz', () => {
  it(
    'random bytes',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), fc.boolean(), (b, exact) => {
          tried('random-bytes');
          check(b, exact);
        }),
        { numRuns: runs(3) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'grammar-aware opcode soup (hostile names, memo indexes, limits), decoded and re-encoded',
    () => {
      fc.assert(
        fc.property(soup, fc.boolean(), fc.integer({ min: 0, max: 5 }), (b, exact, protocol) => {
          tried('opcode-soup');
          const v = check(b, exact);
          if (v !== undefined) reencode(v, protocol);
        }),
        { numRuns: runs(6) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'mutated golden vectors (CPython hostile pickles, manager messages)',
    () => {
      fc.assert(
        fc.property(fc.nat(SEEDS.length - 1), fc.nat(SEEDS.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (s, o, muts, exact) => {
          tried('mutated-golden');
          check(mutate(SEEDS[s] as Buffer, muts, SEEDS[o] as Buffer), exact);
        }),
        { numRuns: runs(6) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'mutated pickles of random values at every protocol',
    () => {
      fc.assert(
        fc.property(pyValue, fc.integer({ min: 0, max: 5 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (value, protocol, muts, exact) => {
          tried('mutated-values');
          const seed = dumps(value, { protocol });
          const v = check(mutate(seed, muts, seed), exact);
          if (v !== undefined) reencode(v, protocol);
        }),
        { numRuns: runs(3) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'every truncation of every golden vector is refused with truncated: true or decodes',
    () => {
      let n = 0;
      for (const seed of SEEDS) {
        for (let i = 0; i < seed.length; i++) {
          n++;
          try {
            loads(seed.subarray(0, i));
          } catch (e) {
            expect(e).toBeInstanceOf(UnpicklingError);
            expect((e as UnpicklingError).truncated).toBe(true);
          }
        }
      }
      tried('truncations', n);
      expect(n).toBeGreaterThan(1000);
    },
    FUZZ_TIMEOUT,
  );
});

/**
 * Fuzzer of the TypeScript manager server's request handling (src/managers/server.ts): requests
 * on an object-call channel (`accept_connection`) and server-method requests on fresh
 * authenticated connections, as structured requests with hostile idents, method names, args and
 * kwds, as mutated golden manager messages, and as random bytes. Every request gets exactly one
 * well-formed reply (`#RETURN`, `#ERROR`, `#TRACEBACK`, `#PROXY` or `#UNSERIALIZABLE`), the server
 * survives, nothing is polluted, and a regular client still works afterwards.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect } from '../../src/index.js';
import { type ManagerServer, connectManager, serveManager } from '../../src/managers/index.js';
import { Tuple, dumps, loads, tuple } from '../../src/pickle/index.js';
import { pyValue } from '../pickle/arbitraries.js';
import { FUZZ_TIMEOUT, assertNotPolluted, prototypeSnapshot, reportInputs, runs, tried } from './budget.js';

reportInputs('manager');

const KEY = 'fuzz-manager-key';
const REPLY_KINDS = new Set(['#RETURN', '#ERROR', '#TRACEBACK', '#PROXY', '#UNSERIALIZABLE']);
const SNAPSHOT = prototypeSnapshot();

/** A user object served to clients (public methods exposed). */
class Echo {
  calls = 0;
  echo(x: unknown): unknown {
    this.calls++;
    return x;
  }
  add(a: unknown, b: unknown): unknown {
    return typeof a === 'number' && typeof b === 'number' ? a + b : null;
  }
}

let server: ManagerServer;
const idents: string[] = [];
let channel: Connection;

async function request(conn: Connection, frame: Uint8Array): Promise<unknown> {
  await conn.sendBytes(frame);
  return loads(await conn.recvBytes(undefined, { timeout: 10_000 }), { exact: true });
}

const kinds = new Map<string, number>();
const lastLines = new Map<string, number>();

function expectReply(reply: unknown): void {
  const kind = String((reply as unknown[])[0]);
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  if (process.env.MPWIRE_FUZZ_DEBUG && kind === '#UNSERIALIZABLE') console.log(String((reply as unknown[])[1]));
  if (process.env.MPWIRE_FUZZ_DEBUG && kind !== '#RETURN') {
    const v = (reply as unknown[])[1];
    const line = (typeof v === 'string' ? v.trim().split('\n').pop() ?? '' : String(v)).replace(/[0-9a-f]{6,}|\d+/g, 'N').slice(0, 70);
    lastLines.set(`${kind} ${line}`, (lastLines.get(`${kind} ${line}`) ?? 0) + 1);
  }
  expect(reply).toBeInstanceOf(Tuple);
  expect((reply as unknown[]).length).toBe(2);
  expect(REPLY_KINDS.has((reply as unknown[])[0] as string)).toBe(true);
}

beforeAll(async () => {
  server = await serveManager({ address: null, authkey: KEY, registry: { Echo: () => new Echo() } });
  for (const [typeid, args] of [['dict', []], ['list', [[1, 2, 3]]], ['Namespace', []], ['Value', ['i', 7]], ['Echo', []]] as const) {
    const c = await connect(server.address, { authkey: KEY });
    const reply = (await request(c, dumps(tuple(null, 'create', tuple(typeid, ...args), new Map()), { protocol: 4 }))) as unknown[];
    c.close();
    expect(reply[0]).toBe('#RETURN');
    idents.push(String((reply[1] as unknown[])[0]));
  }
  channel = await connect(server.address, { authkey: KEY });
  expect(((await request(channel, dumps(tuple(null, 'accept_connection', tuple('Fuzz'), new Map()), { protocol: 2 }))) as unknown[])[0]).toBe('#RETURN');
});

afterAll(async () => {
  channel?.close();
  // The server still serves a regular client.
  const m = await connectManager(server.address, { authkey: KEY });
  const d = await m.create('dict');
  await d.call('__setitem__', ['k', 1]);
  expect(await d.call('__getitem__', ['k'])).toBe(1);
  await m.close();
  await server.close();
  assertNotPolluted(SNAPSHOT);
});

// Methods of the served objects (the blocking or memory-multiplying ones left out), plus hostile names.
const METHODS = [
  '__getitem__', '__setitem__', '__delitem__', '__contains__', '__len__', '__iter__', 'get', 'items', 'keys', 'values', 'pop', 'popitem', 'setdefault',
  'update', 'copy', 'clear', 'append', 'extend', 'insert', 'index', 'count', 'remove', 'reverse', 'sort', '__add__', '__reversed__', 'fromkeys',
  '__getattribute__', '__setattr__', '__delattr__', 'set', 'echo', 'add', 'calls', '#GETVALUE', '__repr__', '__str__',
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__class__', '__init__', '__reduce__', '_callmethod', 'then', '',
];
const SERVER_METHODS = ['dummy', 'create', 'incref', 'decref', 'get_methods', 'number_of_objects', 'debug_info', 'unknown', '__proto__', 'constructor', 'toString'];
const TYPEIDS = ['dict', 'list', 'set', 'Namespace', 'Value', 'Array', 'Event', 'Queue', 'Echo', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'Iterator', 'nope'];

const smallValue = fc.oneof({ arbitrary: pyValue, weight: 3 }, { arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', '#GETVALUE'), weight: 1 });
const kwds = fc.oneof(
  fc.constant(new Map()),
  fc.array(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'key', 'default', 'value', 'timeout', 'block'), smallValue), { maxLength: 3 }).map((e) => new Map(e)),
  smallValue,
);
const args = fc.oneof({ arbitrary: fc.array(smallValue, { maxLength: 3 }).map((a) => tuple(...a)), weight: 4 }, { arbitrary: smallValue, weight: 1 });

/** Methods per created object (same order as `idents`): dict, list, Namespace, Value, Echo. */
const BY_TYPE = [
  ['__getitem__', '__setitem__', '__delitem__', '__contains__', '__len__', '__iter__', 'get', 'items', 'keys', 'values', 'pop', 'popitem', 'setdefault', 'update', 'copy', 'clear', 'fromkeys', '__or__', '__ior__'],
  ['__getitem__', '__setitem__', '__delitem__', '__contains__', '__len__', 'append', 'extend', 'insert', 'index', 'count', 'remove', 'reverse', 'sort', '__add__', '__reversed__', 'pop', 'copy'],
  ['__getattribute__', '__setattr__', '__delattr__'],
  ['get', 'set'],
  ['echo', 'add', 'calls'],
];

const objectCall = fc
  .tuple(
    fc.nat(4),
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: fc.constantFrom('0', '', '__proto__', 'constructor'), weight: 1 }, { arbitrary: smallValue, weight: 1 }),
    fc.oneof({ arbitrary: fc.nat(30), weight: 6 }, { arbitrary: fc.constantFrom(...METHODS), weight: 2 }, { arbitrary: fc.string({ maxLength: 8 }), weight: 1 }),
    args,
    kwds,
    fc.integer({ min: 0, max: 5 }),
  )
  .map(([i, badIdent, m, a, k, protocol]) => {
    const id = badIdent === undefined ? (idents[i] as string) : badIdent;
    const methods = BY_TYPE[i] as string[];
    const method = typeof m === 'number' ? (methods[m % methods.length] as string) : m;
    try {
      return dumps(tuple(id, method, a, k), { protocol });
    } catch {
      return dumps(tuple(String(id), method, tuple(), new Map()), { protocol });
    }
  });

const serverCall = fc
  .tuple(fc.constantFrom(...SERVER_METHODS), fc.oneof(fc.constantFrom(...TYPEIDS).map((t) => [t]), fc.array(smallValue, { maxLength: 2 })), fc.nat(20), fc.integer({ min: 0, max: 5 }))
  .map(([method, a, i, protocol]) => {
    const argv = method === 'incref' || method === 'decref' || method === 'get_methods' ? [i % 3 === 0 ? 'ffff' : (idents[i % idents.length] as string)] : a;
    try {
      return dumps(tuple(null, method, tuple(...argv), new Map()), { protocol });
    } catch {
      return dumps(tuple(null, method, tuple(), new Map()), { protocol });
    }
  });

const seeds = Object.values(JSON.parse(readFileSync(new URL('../managers/vectors.json', import.meta.url), 'utf8')) as Record<string, unknown>)
  .filter((v): v is string => typeof v === 'string' && /^[0-9a-f]*$/.test(v))
  .map((h) => Buffer.from(h, 'hex'));

const mutated = fc.tuple(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 })).map(([s, flips]) => {
  const b = Buffer.from(seeds[s] as Buffer);
  for (const [at, x] of flips) if (b.length > 0) b[at % b.length] = (b[at % b.length] as number) ^ x;
  return b;
});

describe('manager server fuzz', () => {
  it(
    'object-call channel: structured, mutated and random requests each get one well-formed reply',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof({ arbitrary: objectCall, weight: 6 }, { arbitrary: mutated, weight: 2 }, { arbitrary: fc.uint8Array({ maxLength: 120 }), weight: 1 }), async (frame) => {
          tried('object-calls');
          expectReply(await request(channel, frame));
          assertNotPolluted();
        }),
        { numRuns: runs(2) },
      );
      console.log(`[fuzz] manager reply kinds: ${JSON.stringify(Object.fromEntries(kinds))}`);
      if (process.env.MPWIRE_FUZZ_DEBUG) console.log([...lastLines].sort((a, b) => b[1] - a[1]).slice(0, 30));
      // The generator reaches real method calls, not only refusals.
      if (runs(2) >= 100) expect(kinds.get('#RETURN') ?? 0).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT,
  );

  it(
    'server methods on fresh authenticated connections: one well-formed reply, then the connection ends',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof({ arbitrary: serverCall, weight: 4 }, { arbitrary: mutated, weight: 1 }, { arbitrary: fc.uint8Array({ maxLength: 80 }), weight: 1 }), async (frame) => {
          tried('server-methods');
          const c = await connect(server.address, { authkey: KEY });
          try {
            const reply = await request(c, frame);
            expectReply(reply);
            // CPython-style dispatch: a channel stays open only for accept_connection.
            await expect(c.recvBytes(undefined, { timeout: 10_000 })).rejects.toThrow();
          } finally {
            c.close();
          }
          assertNotPolluted();
        }),
        { numRuns: runs(0.25) },
      );
    },
    FUZZ_TIMEOUT,
  );
});

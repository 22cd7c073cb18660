/**
 * Issue #9, Faults: live CPython peers (`peers/fault_peer.py`) SIGKILLed at every stage of the
 * protocol, for the oldest and the newest CPython 3.x found. Each pending operation must reject
 * with an mpwire error (not a timeout, not an untyped error) well within its timeout, no file
 * descriptor may stay open, and our listeners must keep serving: a fresh connection succeeds
 * afterwards.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { type Address, EOFError, type Listener, ProtocolError, connect, listen } from '../../src/index.js';
import { type ManagerServer, PyDict, connectManager, serveManager } from '../../src/managers/index.js';
import { Matrix, type Peer, interpreters, label, startPeer } from '../harness.js';
import { KEY, describeError, fdCount, isOneOf, kill, lines, names, oldestAndNewest, rejection, settleFds } from './helpers.js';

const found = await interpreters();
const pythons = await oldestAndNewest();
const matrix = new Matrix('hardening: peer SIGKILLed at each stage');
/** Generous bound for "rejects within its timeout": the operation's own timeout. */
const OP_TIMEOUT = 20_000;

afterAll(() => {
  // The other interpreters are skipped on purpose, not missing: their cells read n/a.
  const ran = new Set(pythons.map(label));
  for (const py of found) if (!ran.has(label(py))) for (const sc of matrix.scenarios) matrix.set(label(py), sc, 'n/a');
  console.log(matrix.report(found));
  console.log(`kill-at-stage faults ran with: ${names(pythons)}`);
});

/** The peer died mid-connection: the operation ends with EOFError or ProtocolError. */
function endedTyped(error: unknown): void {
  expect(isOneOf(error, [EOFError, ProtocolError]), describeError(error)).toBe(true);
}

/** The peer died inside a frame: the read fails as a truncated frame. */
function truncatedFrame(error: unknown): void {
  expect(error, describeError(error)).toBeInstanceOf(ProtocolError);
  expect((error as ProtocolError).reason).toBe('truncated');
}

/**
 * SIGKILL `peer` as soon as it prints a line starting with `stage`, then check how `op` (begun at
 * `started`) failed: `check` judges the error, and it must come before the operation's own timeout.
 */
async function killAt(peer: Peer, stage: string, op: Promise<unknown>, started: number, check: (error: unknown) => void = endedTyped): Promise<void> {
  const outcome = rejection(op, started);
  await peer.line(stage);
  await kill(peer);
  const { error, ms } = await outcome;
  check(error);
  expect(ms).toBeLessThan(OP_TIMEOUT);
}

/** A listener stays usable: a fresh TS client authenticates and round-trips a pickled value. */
async function freshRoundTrip(listener: Listener): Promise<void> {
  const server = listener.accept({ timeout: OP_TIMEOUT });
  await using c = await connect(listener.address, { authkey: KEY, timeout: OP_TIMEOUT });
  await using s = await server;
  await c.send({ fresh: [1, 2, 3] });
  expect(await s.recv({ timeout: OP_TIMEOUT })).toEqual({ fresh: [1, 2, 3] });
}

function tcp(port: string | number): Address {
  return ['127.0.0.1', Number(port)];
}

describe.each(pythons.map((py) => [label(py), py] as const))('CPython %s', (name, py: PythonInfo) => {
  const rec = (scenario: string, fn: () => Promise<void>) => matrix.record(name, scenario, fn);

  it('TS Listener: Python client killed during the handshake, inside a frame header, inside a payload', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    const [host, port] = listener.address as [string, number];
    const baseline = fdCount();
    for (const stage of ['handshake', 'header', 'payload'] as const) {
      await rec(`listener ← client killed: ${stage}`, async () => {
        const peer = startPeer(py, 'fault_peer.py', ['client', host, String(port), KEY, stage]);
        const started = Date.now();
        if (stage === 'handshake') {
          await killAt(peer, 'STAGE', listener.accept({ timeout: OP_TIMEOUT }), started);
        } else {
          await using conn = await listener.accept({ timeout: OP_TIMEOUT });
          await killAt(peer, 'STAGE', conn.recv({ timeout: OP_TIMEOUT }), started, truncatedFrame);
          // The connection is finished for reading; later calls fail at once, typed.
          expect(isOneOf(await rejection(conn.recv()).then((r) => r.error), [ProtocolError, EOFError])).toBe(true);
        }
        await freshRoundTrip(listener);
        expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
      });
    }
    // And a Python client too, after all the carnage.
    await rec('listener serves a Python client afterwards', async () => {
      const peer = startPeer(py, 'peer.py', ['client', JSON.stringify(listener.address), KEY, '0,1,65536']);
      const conn = await listener.accept({ timeout: OP_TIMEOUT });
      for (let i = 0; i < 3; i++) await conn.sendBytes(await conn.recvBytes(undefined, { timeout: OP_TIMEOUT }));
      expect(await peer.line('OK')).toBe('sent 3');
      conn.close();
      await peer.proc;
    });
  });

  it('TS connect: Python Listener killed during the handshake, inside a frame header, inside a payload', async () => {
    const baseline = fdCount();
    for (const stage of ['handshake', 'header', 'payload'] as const) {
      await rec(`connect → server killed: ${stage}`, async () => {
        const peer = startPeer(py, 'fault_peer.py', ['server', KEY, stage]);
        const address = tcp(await peer.line('READY'));
        const started = Date.now();
        if (stage === 'handshake') {
          await killAt(peer, 'STAGE', connect(address, { authkey: KEY, timeout: OP_TIMEOUT }), started);
        } else {
          await using conn = await connect(address, { authkey: KEY, timeout: OP_TIMEOUT });
          await killAt(peer, 'STAGE', conn.recvBytes(undefined, { timeout: OP_TIMEOUT }), started, truncatedFrame);
        }
        expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
      });
    }
  });

  it('TS manager client: Python manager server killed between request and reply, and while a proxy is being created', async () => {
    const baseline = fdCount();
    await rec('manager client ← server killed: during calls', async () => {
      const peer = startPeer(py, 'fault_peer.py', ['manager', KEY]);
      const m = await connectManager(tcp(await peer.line('READY')), { authkey: KEY, controlTimeout: OP_TIMEOUT });
      const a = await m.create('Sleeper');
      const b = await m.create('Sleeper');
      expect(await a.call('ping')).toBe('pong');
      const started = Date.now();
      // Two calls pending, each on its own pooled connection.
      const pending = [a, b].map((s) => rejection(s.call('hang', [], undefined, { timeout: OP_TIMEOUT }), started));
      await lines(peer, 'STAGE call', 2);
      await kill(peer);
      for (const p of pending) {
        const { error, ms } = await p;
        endedTyped(error);
        expect(ms).toBeLessThan(OP_TIMEOUT);
      }
      // The client stays coherent: new requests fail typed (nothing listens any more) and close() ends.
      const again = await rejection(a.call('ping', [], undefined, { timeout: OP_TIMEOUT }));
      expect(isOneOf(again.error, [ProtocolError, EOFError]), describeError(again.error)).toBe(true);
      const created = await rejection(m.create('dict', [], undefined, { timeout: OP_TIMEOUT }));
      expect(created.error, describeError(created.error)).toBeInstanceOf(ProtocolError);
      await m.close({ timeout: 2_000 });
      expect(m.openConnections).toBe(0);
    });
    await rec('manager client ← server killed: during create', async () => {
      const peer = startPeer(py, 'fault_peer.py', ['manager', KEY]);
      const m = await connectManager(tcp(await peer.line('READY')), { authkey: KEY, controlTimeout: OP_TIMEOUT });
      const started = Date.now();
      await killAt(peer, 'STAGE create', m.create('slow', [], undefined, { timeout: OP_TIMEOUT }), started);
      expect(m.liveProxies).toBe(0);
      await m.close({ timeout: 2_000 });
    });
    expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
  });

  it('TS manager server: Python client killed between request and reply, and while a proxy is being created', async () => {
    let entered: (what: string) => void = () => undefined;
    const inside = (what: string) => new Promise<void>((r) => (entered = (w) => w === what && r()));
    const server: ManagerServer = await serveManager({
      address: ['127.0.0.1', 0],
      authkey: KEY,
      registry: {
        get_hang: () => ({
          hang: () => {
            entered('call');
            return new Promise(() => undefined); // never answers
          },
        }),
        get_slow: () => {
          entered('create');
          return new Promise(() => undefined); // never finishes creating
        },
        get_dict: () => new PyDict(),
      },
    });
    try {
      const port = (server.address as [string, number])[1];
      const baseline = fdCount();
      for (const stage of ['call', 'create'] as const) {
        await rec(`manager server ← client killed: ${stage}`, async () => {
          const reached = inside(stage);
          const peer = startPeer(py, 'fault_peer.py', ['mclient', '127.0.0.1', String(port), KEY, stage]);
          await reached;
          await kill(peer);
          // The server notices the dead client and frees its connection although the call never ends.
          expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
          const ok = startPeer(py, 'fault_peer.py', ['mclient', '127.0.0.1', String(port), KEY, 'ok']);
          expect(await ok.line('OK')).toBe('1');
          await ok.proc;
          await using m = await connectManager(['127.0.0.1', port], { authkey: KEY });
          await using d = await m.create('get_dict');
          await d.call('__setitem__', ['n', 2]);
          expect(await d.call('__getitem__', ['n'])).toBe(2);
        });
      }
      expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
    } finally {
      await server.close();
    }
  });
});

it('ran on at least one CPython 3.x', () => {
  expect(pythons.length, 'no CPython 3.x found').toBeGreaterThan(0);
});

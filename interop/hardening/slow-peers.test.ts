/**
 * Issue #9, Faults: half-open and slow peers (newest CPython 3.x found, `peers/fault_peer.py`).
 * A client that connects and never speaks, one that trickles its handshake a byte a second
 * (slowloris: cut by the handshake deadline, which no byte extends), one that half-closes during
 * and after the handshake; and the same silent/slow behaviour from a Python Listener towards
 * `connect`. Listeners keep serving and no descriptor stays open.
 */
import { describe, expect, it } from 'vitest';
import { EOFError, ProtocolError, TimeoutError, connect, listen } from '../../src/index.js';
import { PyDict, connectManager, serveManager } from '../../src/managers/index.js';
import { label, startPeer } from '../harness.js';
import { KEY, describeError, fdCount, isOneOf, kill, python3s, rejection, settleFds, settleSockets, socketCount } from './helpers.js';

const py = (await python3s()).at(-1);
const OP_TIMEOUT = 20_000;
/** Short handshake deadline for these tests. */
const HANDSHAKE = 1_000;
/** Bytes of the handshake answer frame the slowloris client would need to send (4 + `{sha256}` + 32). */
const ANSWER_FRAME = 4 + 8 + 32;

describe.runIf(py)(`half-open and slow peers (CPython ${py ? label(py) : 'none'})`, () => {
  it('a TS Listener drops a silent client at the handshake deadline and keeps serving', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY, handshakeTimeout: HANDSHAKE });
    const [host, port] = listener.address as [string, number];
    const baseline = fdCount();
    const socketBaseline = socketCount();
    const started = Date.now();
    const accepted = rejection(listener.accept({ timeout: OP_TIMEOUT }), started);
    const peer = startPeer(py!, 'fault_peer.py', ['client', host, String(port), KEY, 'silent']);
    await peer.line('STAGE');
    const { error, ms } = await accepted;
    expect(error, describeError(error)).toBeInstanceOf(TimeoutError);
    expect(ms).toBeGreaterThanOrEqual(HANDSHAKE - 20);
    expect(ms).toBeLessThan(OP_TIMEOUT);
    // Our side of the socket is gone while the peer still sleeps.
    expect(await settleSockets(socketBaseline)).toBeLessThanOrEqual(socketBaseline);
    await kill(peer);
    expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
    const serverSide = listener.accept({ timeout: OP_TIMEOUT });
    await using c = await connect(listener.address, { authkey: KEY });
    await using s = await serverSide;
    await c.send('still serving');
    expect(await s.recv({ timeout: OP_TIMEOUT })).toBe('still serving');
  });

  it('slowloris: a client sending its answer a byte a second is cut by the deadline, not kept alive per byte', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY, handshakeTimeout: HANDSHAKE });
    const [host, port] = listener.address as [string, number];
    const started = Date.now();
    const accepted = rejection(listener.accept({ timeout: OP_TIMEOUT }), started);
    const peer = startPeer(py!, 'fault_peer.py', ['client', host, String(port), KEY, 'slow']);
    const { error, ms } = await accepted;
    expect(error, describeError(error)).toBeInstanceOf(TimeoutError);
    expect(ms).toBeLessThan(OP_TIMEOUT);
    // The peer sees the connection close long before it could finish: well under the 44 bytes.
    const cut = Number(await peer.line('CUT'));
    expect(cut).toBeLessThan(ANSWER_FRAME);
    await peer.proc;
  });

  it('a client that half-closes during the handshake is dropped at once (EOF, not the deadline)', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    const [host, port] = listener.address as [string, number];
    const started = Date.now();
    const accepted = rejection(listener.accept({ timeout: OP_TIMEOUT }), started);
    const peer = startPeer(py!, 'fault_peer.py', ['client', host, String(port), KEY, 'halfclose-handshake']);
    const { error, ms } = await accepted;
    expect(isOneOf(error, [EOFError, ProtocolError]), describeError(error)).toBe(true);
    expect(ms).toBeLessThan(OP_TIMEOUT);
    expect(await peer.line('CLOSED')).toBe('');
    await peer.proc;
  });

  it('a client that half-closes after sending still gets every message and our reply', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    const [host, port] = listener.address as [string, number];
    const peer = startPeer(py!, 'fault_peer.py', ['client', host, String(port), KEY, 'halfclose']);
    await using conn = await listener.accept({ timeout: OP_TIMEOUT });
    const got: unknown[] = [];
    for (let i = 0; i < 3; i++) got.push(await conn.recv({ timeout: OP_TIMEOUT }));
    expect(got).toEqual([{ seq: 0 }, { seq: 1 }, { seq: 2 }]);
    const { error } = await rejection(conn.recv({ timeout: OP_TIMEOUT }));
    expect(error, describeError(error)).toBeInstanceOf(EOFError);
    expect(conn.writable).toBe(true);
    await conn.send(['bye', 3]);
    expect(await peer.line('REPLY')).toBe("['bye', 3]");
    await peer.proc;
  });

  it('connect() to a Python Listener that never speaks, or trickles its challenge, ends at the handshake deadline', async () => {
    const baseline = fdCount();
    await Promise.all(
      (['silent', 'slow'] as const).map(async (stage) => {
        const peer = startPeer(py!, 'fault_peer.py', ['server', KEY, stage]);
        const port = Number(await peer.line('READY'));
        const { error, ms } = await rejection(connect(['127.0.0.1', port], { authkey: KEY, handshakeTimeout: HANDSHAKE }));
        expect(error, `${stage}: ${describeError(error)}`).toBeInstanceOf(TimeoutError);
        expect(ms).toBeLessThan(OP_TIMEOUT);
        if (stage === 'slow') {
          // The 35-byte challenge frame would take 35 s.
          const cut = Number(await peer.line('CUT'));
          expect(cut).toBeLessThan(4 + 11 + 20);
          await peer.proc;
        } else {
          await kill(peer);
        }
      }),
    );
    expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
  });

  it('a TS manager server drops a silent client at its handshake deadline and keeps serving', async () => {
    await using server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY, handshakeTimeout: HANDSHAKE, registry: { get_dict: () => new PyDict() } });
    const port = (server.address as [string, number])[1];
    const baseline = fdCount();
    const socketBaseline = socketCount();
    const silent = startPeer(py!, 'fault_peer.py', ['client', '127.0.0.1', String(port), KEY, 'silent']);
    await silent.line('STAGE');
    const slow = startPeer(py!, 'fault_peer.py', ['client', '127.0.0.1', String(port), KEY, 'slow']);
    const cut = Number(await slow.line('CUT'));
    expect(cut).toBeLessThan(ANSWER_FRAME);
    await slow.proc;
    // The silent client's socket was closed by the deadline too (the peer itself still sleeps).
    expect(await settleSockets(socketBaseline)).toBeLessThanOrEqual(socketBaseline);
    await kill(silent);
    expect(await settleFds(baseline)).toBeLessThanOrEqual(baseline);
    const ok = startPeer(py!, 'fault_peer.py', ['mclient', '127.0.0.1', String(port), KEY, 'ok']);
    expect(await ok.line('OK')).toBe('1');
    await ok.proc;
    await using m = await connectManager(['127.0.0.1', port], { authkey: KEY });
    await using d = await m.create('get_dict');
    await d.call('__setitem__', ['x', 'y']);
    expect(await d.call('__getitem__', ['x'])).toBe('y');
  });
});

it('found a CPython 3.x for the slow-peer tests', () => {
  expect(py, 'no CPython 3.x found').toBeDefined();
});

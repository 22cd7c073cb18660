/**
 * Frames over 2 GiB in both directions against a CPython 3.8+ peer (`make test-huge`; not in the
 * default run: about 12 GiB of memory at peak).
 */
import { describe, expect, it } from 'vitest';
import { connect, listen } from '../src/index.js';
import { atLeast, interpreters, startPeer } from './harness.js';

const SIZE = 2 ** 31 + 4096 + 17;
const MIB = 1 << 20;
const py = (await interpreters()).filter((p) => atLeast(p, 3, 8)).at(-1);

function mark(): Buffer {
  const m = Buffer.alloc(MIB);
  for (let i = 0; i < MIB; i++) m[i] = (i * 7 + 3) & 0xff;
  return m;
}

function make(): Buffer {
  const b = Buffer.alloc(SIZE);
  const m = mark();
  m.copy(b, 0);
  m.copy(b, SIZE - MIB);
  return b;
}

function check(b: Buffer): void {
  const m = mark();
  expect(b.length).toBe(SIZE);
  expect(b.subarray(0, MIB).equals(m)).toBe(true);
  expect(b.subarray(SIZE - MIB).equals(m)).toBe(true);
}

describe(`frames over 2 GiB with CPython ${py?.version}`, () => {
  it('a Python Client sends 2 GiB+ to a TS Listener and receives it back', { timeout: 600_000 }, async () => {
    expect(py, 'needs CPython 3.8+').toBeDefined();
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'huge', maxMessageSize: Number.POSITIVE_INFINITY });
    const [host, port] = listener.address as [string, number];
    const peer = startPeer(py!, 'huge_peer.py', ['client', host, String(port), String(SIZE)]);
    const conn = await listener.accept();
    let frame: Buffer | undefined = await conn.recvBytes();
    check(frame);
    await conn.sendBytes(frame);
    frame = undefined;
    expect(await peer.line('OK')).toBe(`client ${SIZE}`);
    conn.close();
  });

  it('a TS client sends 2 GiB+ to a Python Listener and receives it back', { timeout: 600_000 }, async () => {
    const peer = startPeer(py!, 'huge_peer.py', ['server', String(SIZE)]);
    const port = Number(await peer.line('READY'));
    const conn = await connect(['127.0.0.1', port], { authkey: 'huge', maxMessageSize: Number.POSITIVE_INFINITY });
    await conn.sendBytes(make());
    check(await conn.recvBytes());
    expect(await peer.line('OK')).toBe(`server ${SIZE}`);
    conn.close();
  });
});

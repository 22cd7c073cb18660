/**
 * Raw-socket helpers for the hardening tests: a client that speaks bytes (no mpwire code on its
 * side) and a parser of the frames it received.
 */
import net from 'node:net';
import type { Address } from '../../src/wire/index.js';

/** Length-prefixed frame (4-byte big-endian header), built by hand. */
export function frame(payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : Buffer.from(payload);
  const head = Buffer.alloc(4);
  head.writeInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Split a byte stream into frames (short headers only); a trailing partial frame is returned as `rest`. */
export function splitFrames(stream: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= stream.length) {
    const n = stream.readInt32BE(pos);
    if (n < 0 || pos + 4 + n > stream.length) break;
    frames.push(stream.subarray(pos + 4, pos + 4 + n));
    pos += 4 + n;
  }
  return { frames, rest: stream.subarray(pos) };
}

export interface RawSession {
  socket: net.Socket;
  /** Resolves with everything received once the server closed the connection (or after `ms`). */
  closed: Promise<{ data: Buffer; closedByPeer: boolean }>;
  /** Resolves with all bytes received so far once at least `n` bytes are in. */
  received(n: number): Promise<Buffer>;
}

/** Open a raw TCP/Unix connection to `address` and record every byte the server sends. */
export function rawConnect(address: Address, ms = 10_000): Promise<RawSession> {
  return new Promise((resolve, reject) => {
    const socket = Array.isArray(address) ? net.connect({ host: address[0] as string, port: address[1] as number }) : net.connect({ path: address as string });
    const chunks: Buffer[] = [];
    let total = 0;
    const waiters: Array<{ n: number; resolve: (b: Buffer) => void }> = [];
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      total += c.length;
      for (const w of waiters.splice(0)) {
        if (total >= w.n) w.resolve(Buffer.concat(chunks));
        else waiters.push(w);
      }
    });
    const closed = new Promise<{ data: Buffer; closedByPeer: boolean }>((res) => {
      const timer = setTimeout(() => {
        socket.destroy();
        res({ data: Buffer.concat(chunks), closedByPeer: false });
      }, ms);
      socket.on('close', () => {
        clearTimeout(timer);
        res({ data: Buffer.concat(chunks), closedByPeer: true });
      });
    });
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        closed,
        received: (n) => (total >= n ? Promise.resolve(Buffer.concat(chunks)) : new Promise((r) => waiters.push({ n, resolve: r }))),
      }),
    );
    socket.once('error', reject);
  });
}

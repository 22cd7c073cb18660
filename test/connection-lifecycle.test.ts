/**
 * Queue accounting, long timeouts, `wait()` on closed and unreadable connections, `Pipe()` ends
 * that go away, and what `close()` releases.
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AbortError, ConnectionClosedError, EOFError, MpwireError, ProtocolError } from '../src/errors.js';
import { Connection } from '../src/wire/connection.js';
import { Pipe, connect, listen, wait } from '../src/wire/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
/** `'pending'` when `p` has not settled within `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> => Promise.race([p, sleep(ms).then(() => 'pending' as const)]);

/** `count` frames of `size` bytes each, in one chunk. */
function flood(count: number, size: number): Buffer {
  const one = Buffer.alloc(4 + size);
  one.writeInt32BE(size, 0);
  return Buffer.concat(Array.from({ length: count }, () => one));
}

describe('highWaterMark counts every queued frame, not only its bytes', () => {
  it.each([0, 1])('a flood of %i-byte frames nobody reads pauses the stream; reading resumes it', async (size) => {
    const stream = new PassThrough();
    const conn = new Connection(stream, { highWaterMark: 64 * 1024 });
    stream.write(flood(10_000, size));
    await tick();
    expect(stream.isPaused()).toBe(true);
    for (let i = 0; i < 10_000; i++) expect((await conn.recvBytes()).length).toBe(size);
    expect(stream.isPaused()).toBe(false);
    conn.destroy();
  });
});

describe('Pipe(): an end that goes away fails the sends waiting on it', () => {
  it('sends blocked on an end that closes without reading reject like a socket write to a closed peer', async () => {
    const [a, b] = Pipe();
    const sends = [...Array.from({ length: 100 }, () => a.sendBytes(Buffer.alloc(64 * 1024))), ...Array.from({ length: 50 }, () => a.sendBytes(Buffer.alloc(100)))];
    const settled = Promise.allSettled(sends);
    await tick();
    b.close();
    const results = await within(settled, 2000);
    expect(results).not.toBe('pending');
    const rejected = (results as PromiseSettledResult<void>[]).filter((r) => r.status === 'rejected');
    // 4 MiB (b's highWaterMark) of the 6.4 MiB were taken before b closed; the rest was waiting.
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toMatchObject({ reason: 'socket', message: 'socket error: write EPIPE' });
    await expect(a.sendBytes(Buffer.from('later'))).rejects.toBeInstanceOf(ProtocolError);
    await expect(a.recvBytes()).rejects.toBeInstanceOf(EOFError);
    a.close();
  });

  it('sends blocked when their own end is destroyed reject with ConnectionClosedError', async () => {
    const [a, b] = Pipe();
    const settled = Promise.allSettled(Array.from({ length: 100 }, () => a.sendBytes(Buffer.alloc(64 * 1024))));
    await tick();
    a.destroy();
    const results = await within(settled, 2000);
    expect(results).not.toBe('pending');
    const rejected = (results as PromiseSettledResult<void>[]).filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toBeInstanceOf(ConnectionClosedError);
    b.close();
  });
});

describe('timeouts beyond 2^31-1 ms and Infinity', () => {
  it('poll() and wait() keep waiting instead of firing after 1 ms', async () => {
    const [a, b] = Pipe();
    const ac = new AbortController();
    const polls = [a.poll(Infinity, { signal: ac.signal }), a.poll(3e6, { signal: ac.signal })].map((p) => p.catch((e: unknown) => e));
    const waits = [wait([a], Infinity, { signal: ac.signal }), wait([a], 3e6, { signal: ac.signal })].map((p) => p.catch((e: unknown) => e));
    for (const p of [...polls, ...waits]) expect(await within(p, 100)).toBe('pending');
    await b.sendBytes(Buffer.from('x'));
    expect(await Promise.all(polls)).toEqual([true, true]);
    expect(await Promise.all(waits)).toEqual([[a], [a]]);
    a.close();
    b.close();
  });

  it.each([Infinity, 3e9])('a listener with handshakeTimeout %d does not drop a client that is slow to answer', async (handshakeTimeout) => {
    const errors: MpwireError[] = [];
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', handshakeTimeout, onHandshakeError: (e) => errors.push(e) });
    const raw = net.connect((listener.address as [string, number])[1], '127.0.0.1');
    await sleep(100);
    expect(errors).toEqual([]);
    raw.destroy();
    const conn = await connect(listener.address, { authkey: 'k' });
    const accepted = await listener.accept({ timeout: 5000 }).catch(() => listener.accept({ timeout: 5000 }));
    expect(accepted.authDialect).toBe('modern');
    conn.close();
    accepted.close();
  });

  it('connect() with handshakeTimeout Infinity waits for a silent server', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = connect(['127.0.0.1', (server.address() as net.AddressInfo).port], { authkey: 'k', handshakeTimeout: Infinity }).catch((e: unknown) => e);
    expect(await within(p, 100)).toBe('pending');
    for (const s of sockets) s.destroy();
    expect(await p).toBeInstanceOf(MpwireError);
    server.close();
  });
});

describe('wait() on closed and unreadable connections', () => {
  it('a closed connection rejects with ConnectionClosedError instead of returning [] at once', async () => {
    const [a, b] = Pipe();
    const [c] = Pipe();
    c.close();
    await expect(wait([a, c], null)).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(wait([a, c], 5)).rejects.toThrow('handle is closed');
    // closed while waiting
    const pending = wait([a, b], null);
    b.close();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
    a.close();
  });

  it('a connection an oversized frame made unreadable is ready: recv raises the ProtocolError, then write-only', async () => {
    const [a, b] = Pipe(true, { maxMessageSize: 10 });
    const waiting = wait([b], null);
    await a.sendBytes(Buffer.alloc(11));
    expect(await waiting).toEqual([b]);
    expect(await b.poll()).toBe(true);
    await expect(b.recvBytes()).rejects.toMatchObject({ reason: 'bad-length' });
    expect(b.readable).toBe(false);
    expect(await wait([b], null)).toEqual([b]);
    await expect(b.recvBytes()).rejects.toThrow('connection is write-only');
    // an oversized frame that arrives while nobody waits is reported the same way
    const [c, d] = Pipe(true, { maxMessageSize: 10 });
    await c.sendBytes(Buffer.alloc(11));
    await tick();
    expect(await wait([d], 0)).toEqual([d]);
    await expect(d.recvBytes()).rejects.toBeInstanceOf(ProtocolError);
    for (const x of [a, b, c, d]) x.close();
  });

  it('a write-only end is ready (its recv raises at once)', async () => {
    const [r, w] = Pipe(false);
    expect(await wait([r, w], null)).toEqual([w]);
    await expect(w.recvBytes()).rejects.toThrow('connection is write-only');
    r.close();
    w.close();
  });

  it('abort ends any wait with AbortError, including one on no objects', async () => {
    const ac = new AbortController();
    const empty = wait([], null, { signal: ac.signal });
    const [a, b] = Pipe();
    const one = wait([a], null, { signal: ac.signal });
    ac.abort(new Error('stop'));
    expect(await within(empty.catch((e: unknown) => e), 2000)).toBeInstanceOf(AbortError);
    expect(await within(one.catch((e: unknown) => e), 2000)).toBeInstanceOf(AbortError);
    await expect(wait([a], null, { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
    await b.sendBytes(Buffer.from('x'));
    expect(await a.poll(5)).toBe(true);
    // something ready wins over an aborted signal
    expect(await wait([a], null, { signal: ac.signal })).toEqual([a]);
    a.close();
    b.close();
  });
});

describe('close() releases what it can no longer deliver', () => {
  /** A connection holding `count` unread 1 MiB frames; weak references to their memory. */
  async function unread(count: number): Promise<{ conn: Connection; memory: Array<WeakRef<ArrayBufferLike>> }> {
    const stream = new PassThrough();
    const conn = new Connection(stream, { highWaterMark: 64 * 1024 * 1024 });
    const memory: Array<WeakRef<ArrayBufferLike>> = [];
    for (let i = 0; i < count; i++) {
      const frame = Buffer.alloc(4 + 1024 * 1024, 1);
      frame.writeInt32BE(1024 * 1024, 0);
      memory.push(new WeakRef(frame.buffer));
      stream.write(frame);
    }
    await tick();
    expect(await conn.poll()).toBe(true);
    return { conn, memory };
  }

  it('unread frames are dropped at once, while the connection is still referenced', async () => {
    const { conn, memory } = await unread(8);
    conn.close();
    await tick();
    gc();
    expect(memory.filter((m) => m.deref() !== undefined)).toEqual([]);
    await expect(conn.recvBytes()).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('a partly received frame is dropped too', async () => {
    const stream = new PassThrough();
    const conn = new Connection(stream);
    const memory = (() => {
      const start = Buffer.alloc(4 + 256 * 1024, 1);
      start.writeInt32BE(512 * 1024, 0); // the other half never comes
      stream.write(start);
      return new WeakRef(start.buffer);
    })();
    await tick();
    expect(await conn.poll()).toBe(true);
    conn.close();
    await tick();
    gc();
    expect(memory.deref()).toBeUndefined();
  });

  it('the flush timer is cleared when the stream closes, so it does not keep the connection alive', async () => {
    const { ref, closed } = await (async () => {
      const stream = new PassThrough();
      const conn = new Connection(stream);
      const streamClosed = new Promise<void>((r) => stream.once('close', () => r()));
      conn.close();
      return { ref: new WeakRef(conn), closed: streamClosed };
    })();
    await closed;
    await tick();
    gc();
    expect(ref.deref()).toBeUndefined();
  });
});

describe('addresses', () => {
  it("an empty socket path is refused instead of meaning TCP on localhost; listen('') picks a fresh address as in CPython", async () => {
    await expect(connect('')).rejects.toThrow('empty socket path');
    await using listener = await listen('');
    expect(typeof listener.address).toBe('string');
    expect(listener.address).not.toBe('');
  });
});

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  BufferTooShort,
  ConnectionClosedError,
  EOFError,
  Pipe,
  ProtocolError,
  TimeoutError,
  type Connection,
  MpwireError,
  jsonCodec,
  listen,
  connect,
  wait,
} from '../src/index.js';

/** A TS listener on loopback and a raw socket connected to it, to script arbitrary bytes. */
async function rawPeer(options = {}): Promise<{ conn: Connection; raw: net.Socket; close(): Promise<void> }> {
  const listener = await listen(['127.0.0.1', 0], options);
  const [host, port] = listener.address as [string, number];
  const raw = net.connect(port, host);
  await new Promise((r) => raw.once('connect', r));
  const conn = await listener.accept({ timeout: 5000 });
  return {
    conn,
    raw,
    close: async () => {
      raw.destroy();
      conn.close();
      await listener.close();
    },
  };
}

describe('Connection over Pipe()', () => {
  it('sends and receives frames both ways, including empty ones', async () => {
    const [a, b] = Pipe();
    await a.sendBytes(Buffer.from('hi'));
    await a.sendBytes(new Uint8Array(0));
    await b.sendBytes(Buffer.alloc(100_000, 3));
    expect((await b.recvBytes()).toString()).toBe('hi');
    expect((await b.recvBytes()).length).toBe(0);
    expect((await a.recvBytes()).equals(Buffer.alloc(100_000, 3))).toBe(true);
    a.close();
    await expect(b.recvBytes()).rejects.toBeInstanceOf(EOFError);
    await expect(b.recvBytes()).rejects.toBeInstanceOf(EOFError);
  });

  it('sendBytes offset/size count bytes, and bad arguments send nothing', async () => {
    const [a, b] = Pipe();
    await a.sendBytes(Buffer.from('0123456789'), 2, 3);
    expect((await b.recvBytes()).toString()).toBe('234');
    const ints = new Int32Array([1, 2, 3]);
    await a.sendBytes(ints, 4, 4);
    expect((await b.recvBytes()).readInt32LE(0)).toBe(2);
    await expect(a.sendBytes(Buffer.from('ab'), -1)).rejects.toThrow('offset is negative');
    await expect(a.sendBytes(Buffer.from('ab'), 3)).rejects.toThrow('buffer length < offset');
    await expect(a.sendBytes(Buffer.from('ab'), 0, -1)).rejects.toThrow('size is negative');
    await expect(a.sendBytes(Buffer.from('ab'), 1, 2)).rejects.toThrow('buffer length < offset + size');
    expect(await b.poll()).toBe(false);
    await a.sendBytes(Buffer.from('z'));
    expect((await b.recvBytes()).toString()).toBe('z');
  });

  it('recvBytes(maxlength): a longer frame fails and the connection becomes write-only', async () => {
    const [a, b] = Pipe();
    await a.sendBytes(Buffer.from('abcd'));
    expect((await b.recvBytes(4)).toString()).toBe('abcd');
    await a.sendBytes(Buffer.from('abcde'));
    await expect(b.recvBytes(4)).rejects.toMatchObject({ reason: 'bad-length' });
    expect(b.readable).toBe(false);
    expect(b.writable).toBe(true);
    await expect(b.recvBytes()).rejects.toThrow('connection is write-only');
    await b.sendBytes(Buffer.from('still writes'));
    expect((await a.recvBytes()).toString()).toBe('still writes');
    await expect(b.recvBytes(-1)).rejects.toThrow();
  });

  it('recvBytes(maxlength) checks a frame that arrives while the call waits, before buffering it', async () => {
    const [a, b] = Pipe();
    const p = b.recvBytes(10);
    await a.sendBytes(Buffer.alloc(1000));
    await expect(p).rejects.toMatchObject({ reason: 'bad-length' });
    expect(b.readable).toBe(false);
  });

  it('a read-only end is closed after a bad length', async () => {
    const [r, w] = Pipe(false);
    expect(r.writable).toBe(false);
    expect(w.readable).toBe(false);
    await expect(r.sendBytes(Buffer.from('x'))).rejects.toThrow('connection is read-only');
    await expect(w.recvBytes()).rejects.toThrow('connection is write-only');
    await w.sendBytes(Buffer.from('long'));
    await expect(r.recvBytes(1)).rejects.toBeInstanceOf(ProtocolError);
    expect(r.closed).toBe(true);
  });

  it('recvBytesInto: offset in bytes, BufferTooShort carries the whole message and the stream stays usable', async () => {
    const [a, b] = Pipe();
    const buf = Buffer.alloc(8, 0x2e);
    await a.sendBytes(Buffer.from('xyz'));
    expect(await b.recvBytesInto(buf, 2)).toBe(3);
    expect(buf.toString()).toBe('..xyz...');
    await a.sendBytes(Buffer.from('0123456789'));
    const err = await b.recvBytesInto(buf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BufferTooShort);
    expect((err as BufferTooShort).data.toString()).toBe('0123456789');
    await a.sendBytes(Buffer.from('ok'));
    expect((await b.recvBytes()).toString()).toBe('ok');
    await expect(b.recvBytesInto(buf, 9)).rejects.toThrow('offset too large');
    await expect(b.recvBytesInto(buf, -1)).rejects.toThrow('negative offset');
  });

  it('concurrent recv calls are served in order', async () => {
    const [a, b] = Pipe();
    const ps = [b.recvBytes(), b.recvBytes(), b.recvBytes()];
    for (const s of ['1', '2', '3']) await a.sendBytes(Buffer.from(s));
    expect((await Promise.all(ps)).map(String)).toEqual(['1', '2', '3']);
  });

  it('timeout and abort reject a waiting recv without losing the next frame', async () => {
    const [a, b] = Pipe();
    await expect(b.recvBytes(undefined, { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const p = b.recv({ signal: ac.signal });
    ac.abort(new Error('stop'));
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toMatchObject({ message: 'stop' });
    await expect(b.recv({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await a.sendBytes(Buffer.from('after'));
    expect((await b.recvBytes()).toString()).toBe('after');
  });

  it('poll: false when idle, true with data, true at EOF; seconds and null', async () => {
    const [a, b] = Pipe();
    expect(await b.poll()).toBe(false);
    expect(await b.poll(0.02)).toBe(false);
    expect(await b.poll(-1)).toBe(false);
    const waiting = b.poll(null);
    await a.sendBytes(Buffer.from('x'));
    expect(await waiting).toBe(true);
    expect(await b.poll()).toBe(true);
    await b.recvBytes();
    a.close();
    expect(await b.poll(1)).toBe(true);
    await expect(b.recvBytes()).rejects.toBeInstanceOf(EOFError);
  });

  it('send/recv go through the codec; async iteration ends at EOF', async () => {
    const [a, b] = Pipe(true, { codec: jsonCodec });
    await a.send({ n: 1 });
    await a.send([1, 'two']);
    a.close();
    const got: unknown[] = [];
    for await (const v of b) got.push(v);
    expect(got).toEqual([{ n: 1 }, [1, 'two']]);
  });

  it('close is idempotent, rejects pending calls and closed calls raise', async () => {
    const [a, b] = Pipe();
    const p = b.recvBytes();
    b.close();
    b.close();
    await expect(p).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(b.recvBytes()).rejects.toThrow('handle is closed');
    await expect(b.sendBytes(Buffer.from('x'))).rejects.toThrow('handle is closed');
    await expect(a.recvBytes()).rejects.toBeInstanceOf(EOFError);
    {
      await using c = Pipe()[0];
      expect(c.closed).toBe(false);
    }
  });

  it('wait() returns the ready connections, [] on timeout', async () => {
    const [a, b] = Pipe();
    const [c, d] = Pipe();
    expect(await wait([b, d], 0.02)).toEqual([]);
    const w = wait([b, d], 5);
    await c.sendBytes(Buffer.from('x'));
    expect(await w).toEqual([d]);
    await a.sendBytes(Buffer.from('y'));
    expect(await wait([b, d])).toEqual([b, d]);
  });

  it('wait() includes a listener with a pending connection', async () => {
    await using listener = await listen(['127.0.0.1', 0]);
    const w = wait([listener], 5);
    const client = await connect(listener.address);
    expect(await w).toEqual([listener]);
    client.close();
  });
});

describe('Connection over TCP with scripted bytes', () => {
  it('EOF at every byte offset of a frame: EOFError only at the boundary', async () => {
    const frame = Buffer.from('0000000a30313233343536373839', 'hex');
    for (let cut = 0; cut <= frame.length; cut++) {
      const { conn, raw, close } = await rawPeer();
      raw.end(frame.subarray(0, cut));
      if (cut === frame.length) {
        expect((await conn.recvBytes()).toString()).toBe('0123456789');
        await expect(conn.recvBytes()).rejects.toBeInstanceOf(EOFError);
      } else if (cut === 0) {
        await expect(conn.recvBytes()).rejects.toBeInstanceOf(EOFError);
      } else {
        await expect(conn.recvBytes()).rejects.toMatchObject({ reason: 'truncated' });
      }
      await close();
    }
  });

  it('frames already received are delivered before the truncation error', async () => {
    const { conn, raw, close } = await rawPeer();
    raw.end(Buffer.from('00000001610000000262', 'hex'));
    expect((await conn.recvBytes()).toString()).toBe('a');
    await expect(conn.recvBytes()).rejects.toMatchObject({ reason: 'truncated' });
    await close();
  });

  it('a peer that half-closes still receives replies after our EOFError', async () => {
    const { conn, raw, close } = await rawPeer();
    const got: Buffer[] = [];
    raw.on('data', (c: Buffer) => got.push(c));
    raw.end(Buffer.from('0000000171', 'hex'));
    expect((await conn.recvBytes()).toString()).toBe('q');
    await expect(conn.recvBytes()).rejects.toBeInstanceOf(EOFError);
    await conn.sendBytes(Buffer.from('reply'));
    conn.close();
    await new Promise((r) => raw.once('end', r));
    expect(Buffer.concat(got).toString('hex')).toBe('000000057265706c79');
    await close();
  });

  it('a header announcing 2^62 bytes is refused without buffering', async () => {
    const { conn, raw, close } = await rawPeer();
    raw.write(Buffer.from('ffffffff4000000000000000', 'hex'));
    await expect(conn.recvBytes()).rejects.toMatchObject({ reason: 'bad-length' });
    expect(conn.readable).toBe(false);
    await close();
  });

  it('maxMessageSize is checked from the header', async () => {
    const { conn, raw, close } = await rawPeer({ maxMessageSize: 1000 });
    raw.write(Buffer.from('000003e9', 'hex')); // 1001, no payload sent
    await expect(conn.recvBytes()).rejects.toMatchObject({ reason: 'bad-length' });
    await close();
  });

  it('poll is true with only a partial header received', async () => {
    const { conn, raw, close } = await rawPeer();
    raw.write(Buffer.from('00', 'hex'));
    expect(await conn.poll(2)).toBe(true);
    await expect(conn.recvBytes(undefined, { timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    raw.write(Buffer.from('00000161', 'hex'));
    expect((await conn.recvBytes()).toString()).toBe('a');
    await close();
  });

  it('sets TCP_NODELAY and writes a small frame with one write', async () => {
    const { conn, raw, close } = await rawPeer();
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    await conn.sendBytes(Buffer.alloc(16 * 1024, 1));
    await new Promise((r) => setTimeout(r, 50));
    expect(Buffer.concat(chunks).length).toBe(16 * 1024 + 4);
    await close();
  });

  it('backpressure: a peer that stops reading stalls sendBytes instead of buffering without bound', async () => {
    const { conn, raw, close } = await rawPeer();
    raw.pause();
    const chunk = Buffer.alloc(1024 * 1024, 9);
    let sent = 0;
    const stalled = await (async () => {
      for (let i = 0; i < 512; i++) {
        const r = await Promise.race([conn.sendBytes(chunk).then(() => 'sent'), new Promise((r) => setTimeout(() => r('stalled'), 300))]);
        if (r === 'stalled') return true;
        sent++;
      }
      return false;
    })();
    expect(stalled).toBe(true);
    expect(sent).toBeLessThan(128);
    let received = 0;
    raw.on('data', (c: Buffer) => (received += c.length));
    raw.resume();
    await conn.sendBytes(Buffer.from('end'));
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toBeGreaterThan(sent * chunk.length);
    await close();
  });

  it('many concurrent sends to a peer that does not read add no stream listeners and fail typed on close', async () => {
    const { conn, raw, close } = await rawPeer();
    raw.pause();
    const warnings: Error[] = [];
    const onWarning = (w: Error): number => warnings.push(w);
    process.on('warning', onWarning);
    // small frames take the copy-and-write path, whose backpressure waits for 'drain'
    const small = Buffer.alloc(16 * 1024, 1);
    const sends = Array.from({ length: 600 }, () => conn.sendBytes(small));
    const settled = Promise.allSettled(sends);
    await new Promise((r) => setTimeout(r, 100));
    raw.destroy();
    const results = await settled;
    process.off('warning', onWarning);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(MpwireError);
    await close();
  });

  it('a handshake with a silent peer times out with a typed error', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', handshakeTimeout: 200 });
    const raw = net.connect((listener.address as [string, number])[1], '127.0.0.1');
    await expect(listener.accept({ timeout: 5000 })).rejects.toBeInstanceOf(TimeoutError);
    raw.destroy();
  });

  it('connect() to a silent server times out with a typed error', async () => {
    const server = net.createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await expect(connect(['127.0.0.1', port], { authkey: 'k', handshakeTimeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
    server.close();
  });

  it('a handshake frame over 256 bytes is refused', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k' });
    const raw = net.connect((listener.address as [string, number])[1], '127.0.0.1');
    raw.once('data', () => raw.write(Buffer.concat([Buffer.from('00000101', 'hex'), Buffer.alloc(257)])));
    await expect(listener.accept({ timeout: 5000 })).rejects.toMatchObject({ reason: 'bad-length' });
    raw.destroy();
  });

  it('connection refused rejects at once with a ProtocolError', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    await expect(connect(['127.0.0.1', port])).rejects.toMatchObject({ reason: 'socket' });
  });
});

/**
 * The Listener's own queue bounded by `backlog`, options checked before binding, and errors of a
 * failed bind that name the address.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DigestName } from '../src/auth/handshake.js';
import { EOFError, MpwireError } from '../src/errors.js';
import { type Connection, type ListenOptions, connect, listen } from '../src/wire/index.js';

const freshPath = (): string => join(mkdtempSync(join(tmpdir(), 'mpwire-listener-test-')), 'sock');

/**
 * Open a raw socket (no mpwire code on its side) and report what the listener did with it:
 * `'challenge'` when the handshake started (a byte arrived), `'closed'` when it was closed first.
 */
async function rawClient(port: number): Promise<{ socket: net.Socket; outcome: 'challenge' | 'closed' }> {
  const socket = net.connect(port, '127.0.0.1');
  const outcome = await new Promise<'challenge' | 'closed'>((resolve, reject) => {
    socket.once('data', () => resolve('challenge'));
    socket.once('close', () => resolve('closed'));
    socket.once('error', reject);
  });
  return { socket, outcome };
}

describe('backlog bounds the connections accept() has not taken', () => {
  it('a flood of clients that never authenticate: `backlog` get a challenge, the rest are closed before any handshake work', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', backlog: 4 });
    const port = (listener.address as [string, number])[1];
    const clients: net.Socket[] = [];
    const outcomes: string[] = [];
    // One after another, so that the kernel's own backlog of 4 never drops a SYN.
    for (let i = 0; i < 12; i++) {
      const { socket, outcome } = await rawClient(port);
      clients.push(socket);
      outcomes.push(outcome);
    }
    expect(outcomes).toEqual([...Array(4).fill('challenge'), ...Array(8).fill('closed')]);

    // The four in their handshake give up: their failures wait in the queue, still within the
    // bound, until accept() reports them; then a new client is served again.
    for (const c of clients) c.destroy();
    for (let i = 0; i < 4; i++) await expect(listener.accept({ timeout: 5000 })).rejects.toBeInstanceOf(MpwireError);
    const again = await rawClient(port);
    expect(again.outcome).toBe('challenge');
    again.socket.destroy();
  });

  it('authenticated connections nobody accepts: the next client is refused until accept() takes one', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', backlog: 2 });
    const a = await connect(listener.address, { authkey: 'k' });
    const b = await connect(listener.address, { authkey: 'k' });
    // Closed by the listener before its challenge: the client sees the end of the stream.
    await expect(connect(listener.address, { authkey: 'k', timeout: 5000 })).rejects.toBeInstanceOf(EOFError);

    const first = await listener.accept({ timeout: 5000 });
    const c = await connect(listener.address, { authkey: 'k', timeout: 5000 });
    const rest = [await listener.accept({ timeout: 5000 }), await listener.accept({ timeout: 5000 })];
    // Served in order of arrival, each one a live connection.
    const served: Connection[] = [first, ...rest];
    const clients = [a, b, c];
    for (const [i, client] of clients.entries()) await client.sendBytes(Buffer.from(`client ${i}`));
    expect(await Promise.all(served.map(async (s) => (await s.recvBytes()).toString()))).toEqual(['client 0', 'client 1', 'client 2']);
    for (const x of [...clients, ...served]) x.close();
  });

  it('without an authkey the bound holds too: a connection over it is closed at once', async () => {
    await using listener = await listen(['127.0.0.1', 0], { backlog: 1 });
    const a = await connect(listener.address);
    const b = await connect(listener.address);
    await expect(b.recvBytes()).rejects.toBeInstanceOf(EOFError);
    const served = await listener.accept({ timeout: 5000 });
    await a.sendBytes(Buffer.from('a'));
    expect((await served.recvBytes()).toString()).toBe('a');
    for (const x of [a, b, served]) x.close();
  });
});

describe('digest options are checked before any socket exists', () => {
  const bad: Array<[string, ListenOptions]> = [
    ["unsupported digest 'sha1'", { digest: 'sha1' as DigestName }],
    ["unsupported minDigest 'SHA256'", { minDigest: 'SHA256' as DigestName }],
    ['unsupported digest 5', { digest: 5 as unknown as DigestName }],
  ];

  it.each(bad)('listen() rejects with TypeError (%s) and binds nothing', async (message, options) => {
    const path = freshPath();
    const err = await listen(path, { authkey: 'k', ...options }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).toContain('expected one of md5, sha256');
    expect(existsSync(path)).toBe(false);
  });

  it.each(bad)('connect() rejects with TypeError (%s) without connecting', async (message, options) => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const err = await connect(['127.0.0.1', port], { authkey: 'k', timeout: 1000, ...options }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toContain(message);
    await new Promise((r) => server.close(r));
    expect(connections).toBe(0);
  });

  it('every accepted name still listens and connects', async () => {
    for (const digest of ['md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384'] as const) {
      await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', digest, minDigest: 'md5' });
      const [client, server] = await Promise.all([connect(listener.address, { authkey: 'k', digest, minDigest: 'md5' }), listener.accept()]);
      expect(server.authDigest).toBe(digest);
      client.close();
      server.close();
    }
  });
});

describe('a failed bind names the address', () => {
  it('EADDRINUSE on a TCP port: message, code, errno, syscall and cause', async () => {
    await using first = await listen(['127.0.0.1', 0]);
    const port = (first.address as [string, number])[1];
    const err = await listen(['127.0.0.1', port]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(MpwireError);
    expect((err as Error).message).toBe(`listen 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'listen', errno: expect.any(Number) });
    expect((err as Error).cause).toMatchObject({ code: 'EADDRINUSE' });
    // The listener that holds the port is untouched.
    const client = await connect(first.address);
    (await first.accept({ timeout: 5000 })).close();
    client.close();
  });

  it('EADDRINUSE on a Unix socket path in use', async () => {
    const path = freshPath();
    await using first = await listen(path);
    const err = await listen(path).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`listen ${path}: address already in use (EADDRINUSE)`);
    expect(err).toMatchObject({ code: 'EADDRINUSE', cause: expect.objectContaining({ code: 'EADDRINUSE' }) });
    expect(existsSync(path)).toBe(true);
    expect(first.closed).toBe(false);
  });
});

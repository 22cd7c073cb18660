/**
 * The Listener's own queue bounded by `backlog`, options checked before binding, and errors of a
 * failed bind that name the address.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DigestName, clientHandshake } from '../src/auth/handshake.js';
import { EOFError, MpwireError } from '../src/errors.js';
import { Connection, type ListenOptions, connect, listen } from '../src/wire/index.js';

const freshPath = (): string => join(mkdtempSync(join(tmpdir(), 'mpwire-listener-test-')), 'sock');

/**
 * Open a raw socket (no mpwire code on its side) and report what the listener did with it within
 * `ms`: `'challenge'` when the handshake started (a byte arrived), `'closed'` when it was closed
 * first, `'waiting'` when neither happened (the listener holds it unserved).
 */
async function rawClient(port: number, ms = 300): Promise<{ socket: net.Socket; outcome: 'challenge' | 'closed' | 'waiting' }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const outcome = await new Promise<'challenge' | 'closed' | 'waiting'>((resolve, reject) => {
    const timer = setTimeout(() => resolve('waiting'), ms);
    socket.once('data', () => (clearTimeout(timer), resolve('challenge')));
    socket.once('close', () => (clearTimeout(timer), resolve('closed')));
    socket.once('error', reject);
  });
  return { socket, outcome };
}

/** Resolves when the first byte arrives on `socket` (a parked client's challenge). */
const firstByte = (socket: net.Socket): Promise<void> => new Promise((resolve) => socket.once('data', () => resolve()));

describe('backlog bounds the connections accept() has not taken', () => {
  it('a flood of clients that never authenticate: `backlog` get a challenge, 3 × `backlog` wait unserved, the rest are closed', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', backlog: 2 });
    const port = (listener.address as [string, number])[1];
    const clients: net.Socket[] = [];
    const outcomes: string[] = [];
    // One after another, so that the kernel's own backlog never drops a SYN.
    for (let i = 0; i < 10; i++) {
      const { socket, outcome } = await rawClient(port);
      clients.push(socket);
      outcomes.push(outcome);
    }
    expect(outcomes).toEqual([...Array(2).fill('challenge'), ...Array(6).fill('waiting'), ...Array(2).fill('closed')]);

    // The two in their handshake give up: their failures wait in the queue, still within the
    // bound, until accept() reports them; then the first waiting clients get their challenges,
    // in order of arrival.
    const next = [firstByte(clients[2] as net.Socket), firstByte(clients[3] as net.Socket)];
    (clients[0] as net.Socket).destroy();
    (clients[1] as net.Socket).destroy();
    for (let i = 0; i < 2; i++) await expect(listener.accept({ timeout: 5000 })).rejects.toBeInstanceOf(MpwireError);
    await Promise.all(next);
    for (const c of clients) c.destroy();
  });

  it('authenticated connections nobody accepts: the next clients wait for accept(), and are served in order', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', backlog: 2 });
    const a = await connect(listener.address, { authkey: 'k' });
    const b = await connect(listener.address, { authkey: 'k' });
    let cDone = false;
    const cPending = connect(listener.address, { authkey: 'k', timeout: 5000 }).then((c) => ((cDone = true), c));
    await new Promise((r) => setTimeout(r, 200));
    // No challenge yet: the third client waits while two connections wait for accept().
    expect(cDone).toBe(false);
    const first = await listener.accept({ timeout: 5000 });
    const c = await cPending;
    const rest = [await listener.accept({ timeout: 5000 }), await listener.accept({ timeout: 5000 })];
    const served: Connection[] = [first, ...rest];
    const clients = [a, b, c];
    for (const [i, client] of clients.entries()) await client.sendBytes(Buffer.from(`client ${i}`));
    expect(await Promise.all(served.map(async (s) => (await s.recvBytes()).toString()))).toEqual(['client 0', 'client 1', 'client 2']);
    for (const x of [...clients, ...served]) x.close();
  });

  it('without an authkey the bound holds too: over it connections wait, past 3 × it they are closed at once', async () => {
    await using listener = await listen(['127.0.0.1', 0], { backlog: 1 });
    const clients: Connection[] = [];
    for (let i = 0; i < 5; i++) clients.push(await connect(listener.address));
    // The fifth: nothing is queued for it, the listener closed it.
    await expect((clients[4] as Connection).recvBytes()).rejects.toBeInstanceOf(EOFError);
    const served: Connection[] = [];
    for (let i = 0; i < 4; i++) served.push(await listener.accept({ timeout: 5000 }));
    for (const [i, client] of clients.slice(0, 4).entries()) await client.sendBytes(Buffer.from(`c${i}`));
    expect(await Promise.all(served.map(async (s) => (await s.recvBytes()).toString()))).toEqual(['c0', 'c1', 'c2', 'c3']);
    for (const x of [...clients, ...served]) x.close();
  });

  it('a burst of clients whose handshakes overlap, with an application accepting: every one is served', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', backlog: 4 });
    const port = (listener.address as [string, number])[1];
    const accepted: Connection[] = [];
    const acceptor = (async () => {
      for (let i = 0; i < 16; i++) accepted.push(await listener.accept({ timeout: 10_000 }));
    })();
    // 16 sockets connected one after another (so the kernel's own queue never drops one), then 16
    // handshakes at once, as Python's Client() does from many threads: more handshakes than
    // `backlog` overlap. Before, the connections over the bound were closed unserved.
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 16; i++) {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      sockets.push(socket);
    }
    const clients = sockets.map((socket) => new Connection(socket));
    const results = await Promise.allSettled(clients.map((c) => clientHandshake(c, 'k', 'legacy-md5')));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    await acceptor;
    expect(accepted).toHaveLength(16);
    for (const x of [...clients, ...accepted]) x.close();
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

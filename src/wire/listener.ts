/**
 * `listen`/`Listener` and `connect`: the two ends of CPython's `multiprocessing.connection`
 * `Listener`/`Client`, with authentication in every dialect.
 * @module
 */
import { lookup } from 'node:dns/promises';
import { rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import {
  type ClientDialect,
  ClientAuthFailure,
  type HandshakeOptions,
  clientHandshake,
  serverHandshake,
} from '../auth/handshake.js';
import { ConnectionClosedError, MpwireError, ProtocolError, TimeoutError } from '../errors.js';
import { type Address, type Family, addressType, arbitraryAddress, checkSupported, formatAddress, isAbstract } from './addresses.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { type WaitOptions, startTimer, waitFor } from './deadline.js';

/**
 * Authentication options shared by both roles.
 * @example
 * ```ts
 * const listener = await listen(['127.0.0.1', 6000], { authkey: 'secret', digest: 'sha256', handshakeTimeout: 5_000 });
 * ```
 */
export interface AuthOptions extends HandshakeOptions {
  /**
   * The shared key (a string is UTF-8 encoded). `undefined`/`null`: no authentication, as in
   * Python. An empty key authenticates with an empty HMAC key, as CPython 3.13 does (servers of
   * CPython ≤ 3.12 skip authentication for an empty key, and their clients then hang).
   */
  authkey?: Uint8Array | string | null;
  /** Milliseconds the whole handshake may take before the connection is dropped (`Infinity`: no limit). Default 20000. */
  handshakeTimeout?: number;
}

/**
 * Options of {@link listen}.
 * @example
 * ```ts
 * const listener = await listen('/tmp/jobs.sock', {
 *   authkey: 'secret',
 *   backlog: 64,
 *   onHandshakeError: (err) => console.warn('refused a client:', err.code),
 * });
 * ```
 */
export interface ListenOptions extends ConnectionOptions, AuthOptions {
  /** Pending-connection queue length of the listening socket. Default 128. */
  backlog?: number;
  /** Address family; default from the address shape (`AF_INET` for a tuple). */
  family?: Family;
  /** Called for each connection whose handshake failed (the `for await` loop skips them). */
  onHandshakeError?: (err: MpwireError) => void;
}

/**
 * Options of {@link connect}.
 * @example
 * ```ts
 * const conn = await connect(['127.0.0.1', 6000], { authkey: 'secret', dialect: 'auto', timeout: 10_000 });
 * ```
 */
export interface ConnectOptions extends ConnectionOptions, AuthOptions, WaitOptions {
  /** Address family; default from the address shape. */
  family?: Family;
  /**
   * How to answer a bare 20-byte challenge, which legacy (MD5) and RHEL (raw SHA-256) servers both
   * send: `'legacy-md5'` (default), `'rhel-sha256'`, or `'auto'` (answer MD5, and after a failure
   * reconnect once and answer SHA-256; opt-in because a plain Python `Listener.accept()` raises on
   * the failed attempt).
   */
  dialect?: ClientDialect;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 20_000;

async function resolveHost(host: string, family: Family): Promise<string> {
  if (net.isIP(host)) return host;
  const { address } = await lookup(host, { family: family === 'AF_INET6' ? 6 : 4 });
  return address;
}

/**
 * Run a handshake with a deadline; on expiry the connection is destroyed and the call rejects with
 * {@link TimeoutError}. `ms` may be `Infinity` (no deadline) or exceed 2^31-1 (which a plain
 * `setTimeout` would fire after 1 ms). Other failures destroy it too unless `destroyOnError` is
 * false (a manager server still sends a `#TRACEBACK` frame after a failed handshake).
 */
export async function withHandshakeDeadline<T>(conn: Connection, ms: number, run: () => Promise<T>, destroyOnError = true): Promise<T> {
  let cancelTimer: (() => void) | undefined;
  let expired = false;
  const deadline = new Promise<never>((_, reject) => {
    if (ms === Number.POSITIVE_INFINITY) return;
    cancelTimer = startTimer(ms, () => {
      expired = true;
      conn.destroy();
      reject(new TimeoutError(`authentication handshake timed out after ${ms} ms`));
    });
  });
  // Until the peer has authenticated, a frame header claiming a huge payload must not make us
  // allocate it (a 10-byte message made the listener allocate 1 GiB).
  conn._joinInPlace = false;
  try {
    return await Promise.race([run(), deadline]);
  } catch (e) {
    if (expired) throw new TimeoutError(`authentication handshake timed out after ${ms} ms`, { cause: e });
    if (destroyOnError) conn.destroy();
    throw e;
  } finally {
    conn._joinInPlace = true;
    cancelTimer?.();
    deadline.catch(() => undefined);
  }
}

type Accepted = { conn: Connection } | { error: MpwireError };

/**
 * A listening socket that accepts authenticated {@link Connection}s, like Python's
 * `multiprocessing.connection.Listener`. Create it with {@link listen}.
 * @example
 * ```ts
 * await using listener = await listen(['127.0.0.1', 0], { authkey: 'secret' });
 * for await (const conn of listener) handle(conn);
 * ```
 */
export class Listener implements AsyncIterable<Connection>, AsyncDisposable {
  /** The bound address in Python's shape (real port, real path). */
  readonly address: Address;
  /** Family of the bound address. */
  readonly family: Family;
  /** Peer address of the last accepted connection (`null` before the first). */
  lastAccepted: unknown = null;
  readonly #server: net.Server;
  readonly #options: ListenOptions;
  readonly #queue: Accepted[] = [];
  readonly #waiters: Array<{ resolve(a: Accepted): void }> = [];
  readonly #readyWaiters: Array<() => void> = [];
  readonly #handshaking = new Set<Connection>();
  #closed = false;
  readonly #cleanupPath: string | undefined;
  readonly #cleanupDir: string | undefined;

  /** @internal use {@link listen}. */
  constructor(server: net.Server, address: Address, family: Family, options: ListenOptions, cleanup?: { path?: string; dir?: string }) {
    this.#server = server;
    this.address = address;
    this.family = family;
    this.#options = options;
    this.#cleanupPath = cleanup?.path;
    this.#cleanupDir = cleanup?.dir;
    server.on('connection', (socket) => this.#onSocket(socket));
    // Errors after listen() (e.g. EMFILE while accepting) must not crash the process: the next
    // accept() reports them and `for await` loops skip them.
    server.on('error', (err: Error) => {
      this.#deliver({ error: new ProtocolError(`listener error: ${err.message}`, 'socket', { cause: err }) });
    });
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  #onSocket(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const tcp = this.family === 'AF_INET' || this.family === 'AF_INET6';
    if (tcp) socket.setNoDelay(true);
    const peer = tcp ? [socket.remoteAddress ?? '', socket.remotePort ?? 0] : '';
    const conn = new Connection(socket, { ...this.#options, peer });
    const authkey = this.#options.authkey;
    if (authkey === undefined || authkey === null) {
      this.#deliver({ conn });
      return;
    }
    this.#handshaking.add(conn);
    withHandshakeDeadline(conn, this.#options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT, () =>
      serverHandshake(conn, authkey, this.#options),
    ).then(
      (result) => {
        this.#handshaking.delete(conn);
        conn.authDialect = result.dialect;
        conn.authDigest = result.digest;
        this.#deliver({ conn });
      },
      (e: unknown) => {
        this.#handshaking.delete(conn);
        if (this.#closed) return;
        const error = e instanceof MpwireError ? e : new ProtocolError(String(e), 'handshake', { cause: e });
        this.#options.onHandshakeError?.(error);
        this.#deliver({ error });
      },
    );
  }

  #deliver(item: Accepted): void {
    if (this.#closed) {
      if ('conn' in item) item.conn.close();
      return;
    }
    if ('conn' in item) this.lastAccepted = item.conn.peer;
    const w = this.#waiters.shift();
    if (w) w.resolve(item);
    else this.#queue.push(item);
    for (const r of this.#readyWaiters.splice(0)) r();
  }

  /** Internal: true when `accept()` would not wait (used by `wait()`). */
  get _ready(): boolean {
    return this.#queue.length > 0 || this.#closed;
  }

  /** Internal: resolves when `_ready` may have changed. */
  _onReady(cb: () => void): () => void {
    this.#readyWaiters.push(cb);
    return () => {
      const i = this.#readyWaiters.indexOf(cb);
      if (i >= 0) this.#readyWaiters.splice(i, 1);
    };
  }

  /**
   * Wait for the next connection that completed the handshake. Like Python's `accept()`, it
   * rejects with `AuthenticationError` when a client failed authentication (or `TimeoutError` when
   * its handshake timed out); the next call accepts the next client.
   * @example
   * ```ts
   * const conn = await listener.accept({ timeout: 10_000 });
   * ```
   */
  async accept(options?: WaitOptions): Promise<Connection> {
    if (this.#closed) throw new ConnectionClosedError('listener is closed');
    const queued = this.#queue.shift();
    const item =
      queued ??
      (await waitFor<Accepted>(
        options,
        (resolve) => {
          const w = { resolve };
          this.#waiters.push(w);
          return () => {
            const i = this.#waiters.indexOf(w);
            if (i >= 0) this.#waiters.splice(i, 1);
          };
        },
        'accept',
      ));
    if ('error' in item) throw item.error;
    return item.conn;
  }

  /**
   * Accept connections until the listener is closed; clients that fail the handshake are skipped
   * (see `onHandshakeError`).
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (!this.#closed) {
      try {
        yield await this.accept();
      } catch (e) {
        if (this.#closed || e instanceof ConnectionClosedError) return;
        if (e instanceof MpwireError) continue;
        throw e;
      }
    }
  }

  /** Stop listening (idempotent); removes a Unix socket file, like Python. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Like Python's Listener.close(): stop listening without waiting for accepted connections,
    // which live on independently (net.Server's close callback would wait for all of them).
    this.#server.close();
    for (const w of this.#waiters.splice(0)) w.resolve({ error: new ConnectionClosedError('listener is closed') });
    for (const item of this.#queue.splice(0)) if ('conn' in item) item.conn.close();
    for (const c of this.#handshaking) c.destroy();
    for (const r of this.#readyWaiters.splice(0)) r();
    if (this.#cleanupPath) {
      try {
        unlinkSync(this.#cleanupPath);
      } catch {
        // already removed by libuv
      }
    }
    if (this.#cleanupDir) rmSync(this.#cleanupDir, { recursive: true, force: true });
  }

  /** `await using listener = await listen(...)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Listen on `address` (default: a fresh Unix socket path, like Python's default family on POSIX)
 * and accept authenticated connections. With an `authkey`, every handshake dialect is accepted.
 * @example
 * ```ts
 * const listener = await listen(['127.0.0.1', 0], { authkey: 'secret' });
 * console.log(listener.address); // ['127.0.0.1', 40121]
 * const conn = await listener.accept();
 * ```
 */
export async function listen(address?: Address | null, options: ListenOptions = {}): Promise<Listener> {
  const family = options.family ?? (address ? addressType(address) : 'AF_UNIX');
  // `||`, as CPython's `address or arbitrary_address(family)`: '' is no address.
  const addr = address || arbitraryAddress(family);
  checkSupported(addr, family);
  // allowHalfOpen: a peer that shuts down its sending side can still receive our replies, as with
  // a CPython Connection (the socket is fully closed by close()).
  const server = net.createServer({ noDelay: family === 'AF_INET' || family === 'AF_INET6', allowHalfOpen: true });
  const backlog = options.backlog ?? 128;
  if (family === 'AF_INET' || family === 'AF_INET6') {
    if (!Array.isArray(addr)) throw new TypeError(`${family} address must be [host, port], got ${formatAddress(addr)}`);
    const host = await resolveHost(addr[0] as string, family);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: addr[1], backlog, ipv6Only: family === 'AF_INET6' }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const info = server.address() as net.AddressInfo;
    const bound: Address = family === 'AF_INET6' ? [info.address, info.port, 0, 0] : [info.address, info.port];
    return new Listener(server, bound, family, options);
  }
  if (typeof addr !== 'string') throw new TypeError(`AF_UNIX address must be a string, got ${formatAddress(addr)}`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: addr, backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const cleanup = isAbstract(addr) ? {} : { path: addr, ...(address ? {} : { dir: dirname(addr) }) };
  return new Listener(server, addr, family, options, cleanup);
}

async function openSocket(address: Address, family: Family, options: WaitOptions): Promise<net.Socket> {
  let target: net.NetConnectOpts;
  if (family === 'AF_INET' || family === 'AF_INET6') {
    if (!Array.isArray(address)) throw new TypeError(`${family} address must be [host, port], got ${formatAddress(address)}`);
    target = { host: address[0] as string, port: address[1] as number, family: family === 'AF_INET6' ? 6 : 4, noDelay: true, allowHalfOpen: true };
  } else {
    target = { path: address as string, allowHalfOpen: true };
  }
  return waitFor<net.Socket>(
    options,
    (resolve, reject) => {
      const socket = net.connect(target);
      const onError = (err: Error): void => {
        socket.destroy();
        reject(new ProtocolError(`cannot connect to ${formatAddress(address)}: ${err.message}`, 'socket', { cause: err }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
      return () => socket.destroy();
    },
    'connect',
  );
}

async function connectOnce(address: Address, family: Family, options: ConnectOptions, bare: 'legacy-md5' | 'rhel-sha256'): Promise<Connection> {
  const socket = await openSocket(address, family, options);
  const tcp = family === 'AF_INET' || family === 'AF_INET6';
  if (tcp) socket.setNoDelay(true);
  const conn = new Connection(socket, { ...options, peer: address });
  const authkey = options.authkey;
  if (authkey === undefined || authkey === null) return conn;
  const ms = Math.min(options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT, options.timeout ?? Number.POSITIVE_INFINITY);
  const result = await withHandshakeDeadline(conn, ms, () => clientHandshake(conn, authkey, bare, options));
  conn.authDialect = result.dialect;
  conn.authDigest = result.digest;
  return conn;
}

/**
 * Connect to a Python `Listener` (or an mpwire one), like Python's `Client(address, authkey=…)`.
 * @example
 * ```ts
 * const conn = await connect(['127.0.0.1', 6000], { authkey: 'secret' });
 * console.log(conn.authDialect); // 'modern' against 3.12+, 'legacy-md5' against ≤3.11
 * ```
 */
export async function connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
  const family = options.family ?? addressType(address);
  checkSupported(address, family);
  const dialect = options.dialect ?? 'legacy-md5';
  if (dialect !== 'legacy-md5' && dialect !== 'rhel-sha256' && dialect !== 'auto') {
    throw new TypeError(`unknown dialect ${String(dialect)}`);
  }
  try {
    return await connectOnce(address, family, options, dialect === 'rhel-sha256' ? 'rhel-sha256' : 'legacy-md5');
  } catch (e) {
    if (dialect === 'auto' && e instanceof ClientAuthFailure && e.bareChallengeRejected) {
      return connectOnce(address, family, options, 'rhel-sha256');
    }
    throw e;
  }
}

export type { ClientDialect };

/**
 * `listen`/`Listener` and `connect`: the two ends of CPython's `multiprocessing.connection`
 * `Listener`/`Client`, with authentication in every dialect.
 * @module
 */
import { lookup } from 'node:dns/promises';
import { rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import {
  type ClientDialect,
  ClientAuthFailure,
  type HandshakeOptions,
  checkDigestOptions,
  clientHandshake,
  serverHandshake,
} from '../auth/handshake.js';
import { AbortError, ConnectionClosedError, MpwireError, ProtocolError, TimeoutError } from '../errors.js';
import {
  type Address,
  type Family,
  addressText,
  addressType,
  arbitraryAddress,
  checkSupported,
  formatAddress,
  isAbstract,
} from './addresses.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { type WaitOptions, startTimer, waitFor, waitInLine } from './deadline.js';

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
  /**
   * Pending-connection queue length of the listening socket, and the bound of the listener's own
   * queue: connections not yet taken by `accept()` (authenticated ones, failed handshakes waiting
   * to be reported, and those still in their handshake) never number more than `backlog`. Node
   * takes every connection off the kernel's queue at once, so the listener keeps the kernel's
   * part itself: up to 3 × `backlog` more connections wait unserved (paused: no challenge, no
   * buffers) and start their handshake in arrival order as `accept()` takes connections or
   * handshakes end, as a burst of clients would wait in a kernel's listen queue. Only a connection
   * that arrives while all of those wait is closed at once, so a listener nobody accepts from, or a
   * flood of clients that never authenticate, cannot grow memory. Default 128; at least 1.
   */
  backlog?: number;
  /** Address family; default from the address shape (`AF_INET` for a tuple). */
  family?: Family;
  /** Called for each connection whose handshake failed (the `for await` loop skips them). */
  onHandshakeError?: (err: MpwireError) => void;
  /**
   * Cancels the start (looking up the host name and binding): `listen` then rejects with
   * `AbortError` (`cause`: the signal's reason) and leaves nothing bound, no socket file and no
   * temporary directory. Aborting it after `listen` resolved does nothing; use `close()`.
   */
  signal?: AbortSignal;
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

/**
 * Milliseconds a handshake may take when `handshakeTimeout` is not given: the default of
 * `listen`, `connect`, `serveManager` and `spawnPython` alike.
 * @internal
 */
export const DEFAULT_HANDSHAKE_TIMEOUT = 20_000;

/** Error listener of a parked socket (see `Listener`): the connection is dropped when its turn comes. */
function ignoreError(): void {
  // Nothing to do: #unpark skips a socket that has been destroyed.
}

/** `backlog` when not given (Python's `Listener` uses 1; Node's own default is 511). */
const DEFAULT_BACKLOG = 128;

/** The bound of a listener's queue for a `backlog` option: at least 1, like Linux's `listen(fd, 0)`; NaN gives the default. */
function queueBound(backlog: number | undefined): number {
  if (backlog === undefined || Number.isNaN(backlog)) return DEFAULT_BACKLOG;
  return Math.max(1, Math.floor(backlog));
}

/**
 * The error `listen()` rejects with when binding fails: Node's error as `cause`, its `code`
 * (`'EADDRINUSE'`, `'EACCES'`, …), `errno` and `syscall` copied, and a message naming the address.
 */
function bindError(address: Address, err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const { code, errno, syscall } = err as NodeJS.ErrnoException;
  const known = typeof errno === 'number' ? getSystemErrorMap().get(errno) : undefined;
  const text = known !== undefined && known[0] === code ? known[1] : err.message;
  const error = new Error(`listen ${addressText(address)}: ${text}${code === undefined ? '' : ` (${code})`}`, { cause: err });
  return Object.assign(error, {
    ...(code === undefined ? {} : { code }),
    ...(errno === undefined ? {} : { errno }),
    ...(syscall === undefined ? {} : { syscall }),
  });
}

async function resolveHost(host: string, family: Family): Promise<string> {
  if (net.isIP(host)) return host;
  const { address } = await lookup(host, { family: family === 'AF_INET6' ? 6 : 4 });
  return address;
}

/**
 * Run a handshake with a deadline; on expiry the connection is destroyed and the call rejects with
 * {@link TimeoutError}. `ms` may be `Infinity` (no deadline: {@link startTimer} arms nothing) or
 * exceed 2^31-1 (which a plain `setTimeout` would fire after 1 ms). Other failures destroy it too unless `destroyOnError` is
 * false (a manager server still sends a `#TRACEBACK` frame after a failed handshake).
 */
export async function withHandshakeDeadline<T>(conn: Connection, ms: number, run: () => Promise<T>, destroyOnError = true): Promise<T> {
  let cancelTimer: (() => void) | undefined;
  let expired = false;
  const deadline = new Promise<never>((_, reject) => {
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
  readonly #waiters: Array<(a: Accepted) => void> = [];
  readonly #readyWaiters: Array<() => void> = [];
  readonly #handshaking = new Set<Connection>();
  /** Most connections that may wait for `accept()`, those in their handshake included (`backlog`). */
  readonly #bound: number;
  /** Connections beyond the bound, paused in arrival order until there is room (at most 3 × the bound). */
  readonly #parked: net.Socket[] = [];
  #closed = false;
  readonly #cleanupPath: string | undefined;
  readonly #cleanupDir: string | undefined;

  /** @internal use {@link listen}. */
  constructor(server: net.Server, address: Address, family: Family, options: ListenOptions, cleanup?: { path?: string; dir?: string }) {
    this.#server = server;
    this.address = address;
    this.family = family;
    this.#options = options;
    this.#bound = queueBound(options.backlog);
    this.#cleanupPath = cleanup?.path;
    this.#cleanupDir = cleanup?.dir;
    server.on('connection', (socket) => this.#onSocket(socket));
    // Errors after listen() (e.g. EMFILE while accepting) must not crash the process: the next
    // accept() reports them and `for await` loops skip them. Within the bound too: while the
    // queue is full and nobody accepts, they are dropped.
    server.on('error', (err: Error) => {
      if (this.#waiters.length === 0 && this.#waiting >= this.#bound) return;
      this.#deliver({ error: new ProtocolError(`listener error: ${err.message}`, 'socket', { cause: err }) });
    });
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Connections not yet taken by `accept()`: queued (failed handshakes included) or in their handshake. */
  get #waiting(): number {
    return this.#queue.length + this.#handshaking.size;
  }

  #onSocket(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    if (this.#waiting < this.#bound && this.#parked.length === 0) {
      this.#serve(socket);
      return;
    }
    // Full: wait unserved, as in a kernel's listen queue (a burst of clients whose handshakes
    // overlap must be delayed, not refused); past 3 × the bound, refuse before any work.
    if (this.#parked.length >= 3 * this.#bound) {
      socket.destroy();
      return;
    }
    socket.pause();
    // A paused socket reads nothing, but an error on it (a write never happens) must not go unhandled.
    socket.on('error', ignoreError);
    this.#parked.push(socket);
  }

  /** Start the handshakes of parked connections while there is room. */
  #unpark(): void {
    while (!this.#closed && this.#parked.length > 0 && this.#waiting < this.#bound) {
      const socket = this.#parked.shift() as net.Socket;
      socket.off('error', ignoreError);
      if (socket.destroyed) continue;
      this.#serve(socket);
      socket.resume();
    }
  }

  #serve(socket: net.Socket): void {
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
        this.#unpark();
      },
      (e: unknown) => {
        this.#handshaking.delete(conn);
        if (this.#closed) return;
        const error = e instanceof MpwireError ? e : new ProtocolError(String(e), 'handshake', { cause: e });
        this.#options.onHandshakeError?.(error);
        this.#deliver({ error });
        this.#unpark();
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
    if (w) w(item);
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
    if (queued !== undefined) this.#unpark();
    const item =
      queued ??
      (await waitInLine(this.#waiters, options, 'accept'));
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
    for (const w of this.#waiters.splice(0)) w({ error: new ConnectionClosedError('listener is closed') });
    for (const item of this.#queue.splice(0)) if ('conn' in item) item.conn.close();
    for (const c of this.#handshaking) c.destroy();
    for (const socket of this.#parked.splice(0)) socket.destroy();
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
 *
 * Rejects with a `TypeError` for a `digest`/`minDigest` that is not a `DigestName`, before
 * binding. When binding fails it rejects with an `Error` whose message names the address, e.g.
 * `listen 127.0.0.1:6000: address already in use (EADDRINUSE)`, with Node's `code`, `errno` and
 * `syscall` copied onto it and Node's error as `cause`.
 * @example
 * ```ts
 * const listener = await listen(['127.0.0.1', 0], { authkey: 'secret' });
 * console.log(listener.address); // ['127.0.0.1', 40121]
 * const conn = await listener.accept();
 * ```
 */
export async function listen(address?: Address | null, listenOptions: ListenOptions = {}): Promise<Listener> {
  // The signal governs the start only: the Listener (and each Connection) never sees it.
  const { signal, ...options } = listenOptions;
  checkDigestOptions(options);
  if (signal?.aborted) throw new AbortError('listen aborted', { cause: signal.reason });
  const family = options.family ?? (address ? addressType(address) : 'AF_UNIX');
  // `||`, as CPython's `address or arbitrary_address(family)`: '' is no address.
  const addr = address || arbitraryAddress(family);
  checkSupported(addr, family);
  // allowHalfOpen: a peer that shuts down its sending side can still receive our replies, as with
  // a CPython Connection (the socket is fully closed by close()).
  const server = net.createServer({ noDelay: family === 'AF_INET' || family === 'AF_INET6', allowHalfOpen: true });
  const backlog = options.backlog ?? DEFAULT_BACKLOG;
  if (family === 'AF_INET' || family === 'AF_INET6') {
    if (!Array.isArray(addr)) throw new TypeError(`${family} address must be [host, port], got ${formatAddress(addr)}`);
    await bind(server, addr, signal, async () => ({ host: await resolveHost(addr[0] as string, family), port: addr[1], backlog, ipv6Only: family === 'AF_INET6' }));
    const info = server.address() as net.AddressInfo;
    const bound: Address = family === 'AF_INET6' ? [info.address, info.port, 0, 0] : [info.address, info.port];
    return new Listener(server, bound, family, options);
  }
  if (typeof addr !== 'string') throw new TypeError(`AF_UNIX address must be a string, got ${formatAddress(addr)}`);
  // The temporary directory of a generated path goes when the start is aborted.
  const dir = address ? undefined : dirname(addr);
  try {
    await bind(server, addr, signal, async () => ({ path: addr, backlog }));
  } catch (e) {
    if (dir !== undefined && e instanceof AbortError) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const cleanup = isAbstract(addr) ? {} : { path: addr, ...(dir === undefined ? {} : { dir }) };
  return new Listener(server, addr, family, options, cleanup);
}

/**
 * `server.listen()` on what `target()` resolves to (a host name is looked up first); a failure of
 * either step rejects with {@link bindError}'s error, which names `address`. When `signal` aborts
 * first it rejects with `AbortError` instead, and the server is closed (a late lookup result is
 * ignored; a socket already bound is released, its Unix socket file removed).
 */
async function bind(server: net.Server, address: Address, signal: AbortSignal | undefined, target: () => Promise<net.ListenOptions>): Promise<void> {
  try {
    await waitFor<void>(
      { signal },
      (resolve, reject) => {
        let stopped = false;
        /** Close the server; a Unix socket file we bound goes too (libuv usually removes it already). */
        const release = (): void => {
          const bound = server.listening;
          server.close();
          if (!bound || typeof address !== 'string' || isAbstract(address)) return;
          try {
            unlinkSync(address);
          } catch {
            // already gone
          }
        };
        target().then((options) => {
          if (stopped) return;
          server.once('error', reject);
          // Node may still look the host up (asynchronously) inside listen(): an abort can land
          // before the socket is bound, so the callback releases what it bound after one.
          server.listen(options, () => {
            server.off('error', reject);
            if (stopped) release();
            else resolve();
          });
        }, reject);
        return () => {
          stopped = true;
          release();
        };
      },
      'listen',
    );
  } catch (e) {
    if (e instanceof AbortError) throw e;
    throw bindError(address, e);
  }
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
 * Rejects with a `TypeError` before connecting for a `digest`/`minDigest` that is not a
 * `DigestName`, or for an unknown `dialect`.
 * @example
 * ```ts
 * const conn = await connect(['127.0.0.1', 6000], { authkey: 'secret' });
 * console.log(conn.authDialect); // 'modern' against 3.12+, 'legacy-md5' against ≤3.11
 * ```
 */
export async function connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
  checkDigestOptions(options);
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

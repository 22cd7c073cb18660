/**
 * Object-call channels (connections that sent `accept_connection`, PROTOCOL.md §5.3) and the
 * small pool a manager client keeps of them. A channel carries strictly one request at a time,
 * like the per-thread connection of a CPython client.
 * @module
 */
import { AbortError, ConnectionClosedError, TimeoutError } from '../errors.js';
import type { Connection } from '../wire/index.js';
import { type WaitOptions, waitInLine } from '../wire/deadline.js';
import type { ManagerCodec, ProxyHook } from './codec.js';
import { type Reply, parseReply } from './protocol.js';

/**
 * Default most object-call connections a client keeps open to one manager. Each connection is one
 * server thread; calls that block on the server (a `Queue.get`, a `Lock.acquire`, an `Event.wait`)
 * each hold one while they wait. 16 allows that many concurrent blocking calls; more calls queue
 * in FIFO order (see `maxConnections`).
 * @example
 * ```ts
 * // More concurrent blocking calls (e.g. 40 consumers waiting on one queue):
 * const m = await connectManager(address, { authkey: 'abc', maxConnections: DEFAULT_MAX_CONNECTIONS * 4 });
 * ```
 */
export const DEFAULT_MAX_CONNECTIONS = 16;

/**
 * Throw, before anything is sent, when a call's `signal` has already fired or its `timeout` has
 * already run out: a cancelled call must never reach the server (an aborted `q.get()` would
 * otherwise still take an item there).
 * @internal
 */
export function checkNotCancelled(options: WaitOptions | undefined, what: string): void {
  if (options === undefined) return;
  if (options.signal?.aborted) throw new AbortError(`${what} aborted`, { cause: options.signal.reason });
  if (options.timeout !== undefined && !(options.timeout > 0)) throw new TimeoutError(`${what} timed out after ${options.timeout} ms`);
}

/**
 * `options` with what is left of its `timeout` after waiting since `started` (a `Date.now()`);
 * `options` itself when it has no timeout.
 * @internal
 */
export function remainingOptions(options: WaitOptions | undefined, started: number): WaitOptions | undefined {
  if (options?.timeout === undefined) return options;
  return { ...options, timeout: options.timeout - (Date.now() - started) };
}

/**
 * A request to send on a channel after the reply of an abandoned call arrived (see
 * {@link LateReplyHandler}).
 * @example
 * ```ts
 * const giveBack: LateRequest = { method: 'release', args: [] };
 * ```
 */
export interface LateRequest {
  /** Method to call on the same referent, on the same connection (the same server thread). */
  readonly method: string;
  /** Its positional arguments. */
  readonly args: readonly unknown[];
}

/**
 * What to do with the reply of a call that was abandoned (abort or JS-side timeout) after it was
 * sent: the channel is kept, the reply read in the background and passed here; a returned
 * {@link LateRequest} is sent on the same channel (its reply is read and ignored). Used by lock
 * acquires, so that an acquire the server completes after the abort is given back at once.
 * @example
 * ```ts
 * const releaseIfAcquired: LateReplyHandler = (reply) => (reply.kind === RETURN && reply.value === true ? { method: 'release', args: [] } : undefined);
 * ```
 */
export type LateReplyHandler = (reply: Reply) => LateRequest | undefined;

/**
 * At most `size` holders at once, the others waiting in FIFO order under their own
 * `{ timeout, signal }`. The manager client passes every connection attempt through one, because
 * CPython's manager listener has a backlog of 16 and authenticates one client at a time: a burst
 * of simultaneous connects overflows its accept queue and the excess wait for a challenge that
 * comes only after the kernel's SYN retries (or never).
 * @example
 * ```ts
 * const gate = new Gate(8);
 * const leave = await gate.enter({ timeout: 5_000 });
 * try {
 *   // at most 8 of these run at once
 * } finally {
 *   leave();
 * }
 * ```
 */
export class Gate {
  readonly #size: number;
  #inside = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('the gate size must be a positive integer');
    this.#size = size;
  }

  /** Holders inside now. */
  get inside(): number {
    return this.#inside;
  }

  /** Wait for a place; resolves with the function that gives it back (call it exactly once). */
  async enter(options?: WaitOptions): Promise<() => void> {
    if (this.#inside < this.#size && this.#waiting.length === 0) this.#inside++;
    else {
      // The place is handed over by `leave` (the count stays as it is).
      await waitInLine(this.#waiting, options, 'waiting to connect');
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inside--;
    };
  }
}

/**
 * One authenticated connection in object-call mode.
 * @example
 * ```ts
 * const ch = new Channel(await connect(address, { authkey: 'abc', codec: bytesCodec }), managerCodec('pickle'));
 * const ids = await ch.request(null, 'debug_info', [], {}, { timeout: 5_000 });
 * ch.close();
 * ```
 */
export class Channel {
  readonly #conn: Connection;
  readonly #codec: ManagerCodec;
  /** A request is on the wire (or handed the channel and about to start). */
  #busy = false;
  /** Requests waiting for the channel, first first. */
  readonly #queue: Array<() => void> = [];
  /** Where the reply frame lands (see `Connection._recvFrame`). */
  readonly #slot: { frame: Buffer | undefined } = { frame: undefined };
  #broken = false;
  /** Settles once the reply of an abandoned call has been dealt with (see {@link LateReplyHandler}). */
  #lingering: Promise<void> | undefined;

  constructor(conn: Connection, codec: ManagerCodec) {
    this.#conn = conn;
    this.#codec = codec;
  }

  /** False once a call failed in a way that leaves the stream out of step (the connection is closed then). */
  get usable(): boolean {
    return !this.#broken && !this.#conn.closed;
  }

  /**
   * While the reply of an abandoned call is still awaited in the background: a promise that
   * settles once it has been dealt with (the channel is free again then, unless it broke).
   */
  get lingering(): Promise<void> | undefined {
    return this.#lingering;
  }

  /**
   * Send one request and read its reply. Calls on one channel run one after another; one waiting
   * for its turn is bounded by its own `options` (and leaves the queue when they fire). A call
   * whose signal has fired or whose time has run out is not sent. An I/O error, a timeout or an
   * abort while waiting for the reply closes the channel, since a late reply would otherwise
   * answer the next request — unless `late` is given: then the channel is kept, the late reply
   * read in the background and handed to `late` (see {@link LateReplyHandler}).
   */
  request(
    ident: string | null,
    method: string,
    args: readonly unknown[],
    kwds: unknown,
    options: WaitOptions | undefined,
    onProxy?: ProxyHook,
    late?: LateReplyHandler,
  ): Promise<Reply> {
    // An idle channel starts at once: no promise chain per call (bench/managers/dict.mjs).
    if (!this.#busy) return this.#run(ident, method, args, kwds, options, onProxy, late);
    const started = options?.timeout === undefined ? 0 : Date.now();
    const turn =
      options?.signal === undefined && options?.timeout === undefined
        ? new Promise<void>((resolve) => this.#queue.push(resolve))
        : waitInLine(this.#queue, options, 'waiting for a busy manager connection');
    return turn.then(() => this.#run(ident, method, args, kwds, remainingOptions(options, started), onProxy, late));
  }

  async #run(
    ident: string | null,
    method: string,
    args: readonly unknown[],
    kwds: unknown,
    options: WaitOptions | undefined,
    onProxy: ProxyHook | undefined,
    late: LateReplyHandler | undefined,
  ): Promise<Reply> {
    this.#busy = true;
    let handOver = true;
    try {
      if (!this.usable) throw new ConnectionClosedError('manager connection is closed');
      checkNotCancelled(options, 'manager call');
      const whole = this.#codec.frameRequest(ident, method, args, kwds);
      const payload = whole === undefined ? this.#codec.encodeRequest(ident, method, args, kwds) : undefined;
      let frame: Buffer;
      try {
        const sending = payload === undefined ? this.#conn._sendFramedNow(whole as Uint8Array) : this.#conn._sendNow(payload);
        if (sending !== undefined) await sending;
        if (options?.timeout === undefined && options?.signal === undefined) {
          const slot = this.#slot;
          const waiting = this.#conn._recvFrame(slot);
          if (waiting !== undefined) await waiting;
          frame = slot.frame as Buffer;
          slot.frame = undefined;
        } else {
          frame = await this.#conn.recvBytes(undefined, options);
        }
      } catch (e) {
        if (late !== undefined && (e instanceof AbortError || e instanceof TimeoutError) && this.usable) {
          // The request is on the server: keep the channel until its reply has been dealt with.
          handOver = false;
          this.#linger(ident, late);
        } else {
          this.destroy();
        }
        throw e;
      }
      return parseReply(this.#codec.decode(frame, onProxy));
    } finally {
      if (handOver) this.#handOver();
    }
  }

  /** Give the channel to the next queued request, or mark it idle. */
  #handOver(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#busy = false;
  }

  /** Read the reply of an abandoned call in the background, let `late` answer it, then hand over. */
  #linger(ident: string | null, late: LateReplyHandler): void {
    let settle = (): void => undefined;
    this.#lingering = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const conn = this.#conn;
    const codec = this.#codec;
    void (async () => {
      try {
        const reply = parseReply(codec.decode(await conn.recvBytes()));
        const follow = late(reply);
        if (follow !== undefined) {
          await conn.sendBytes(codec.encodeRequest(ident, follow.method, follow.args, {}));
          parseReply(codec.decode(await conn.recvBytes()));
        }
      } catch {
        this.destroy();
      } finally {
        this.#lingering = undefined;
        settle();
        this.#handOver();
      }
    })();
  }

  /** Mark the channel unusable and destroy its connection at once, discarding unsent data. */
  destroy(): void {
    this.#broken = true;
    this.#conn.destroy();
  }

  /** Mark the channel unusable and close its connection gracefully (unsent frames are flushed). */
  close(): void {
    this.#broken = true;
    this.#conn.close();
  }
}

/**
 * A FIFO pool of at most `max` channels, opened on demand. `close()` closes the idle channels and
 * destroys the busy ones, whose calls then reject with `ConnectionClosedError`.
 * @example
 * ```ts
 * const pool = new ChannelPool(async () => new Channel(await connect(address, { authkey: 'abc', codec: bytesCodec }), managerCodec('pickle')), 4);
 * const n = await pool.use((ch) => ch.request(null, 'number_of_objects', [], {}, undefined));
 * pool.close();
 * ```
 */
export class ChannelPool {
  readonly #open: () => Promise<Channel>;
  readonly #max: number;
  readonly #idle: Channel[] = [];
  /** Channels lent to a call right now. */
  readonly #busy = new Set<Channel>();
  /** Channels given up by the pool while they wait for the reply of an abandoned call. */
  readonly #lingering = new Set<Channel>();
  /** Calls waiting for a channel: handed one, or `null` to try again (a place became free). */
  readonly #waiters: Array<(ch: Channel | null) => void> = [];
  #size = 0;
  #closed = false;

  constructor(open: () => Promise<Channel>, max = DEFAULT_MAX_CONNECTIONS) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxConnections must be a positive integer');
    this.#open = open;
    this.#max = max;
  }

  /** Open channels (idle and busy). */
  get size(): number {
    return this.#size;
  }
  /** Open channels waiting in the pool for a request. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Run `fn` with a channel to itself; the channel goes back to the pool (or is dropped when broken). */
  use<T>(fn: (ch: Channel) => Promise<T>, options?: WaitOptions): Promise<T> {
    // An idle channel is taken without waiting for #acquire's promise.
    if (!this.#closed) {
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        if (idle.usable) return this.#useWith(idle, fn);
        this.#size--;
      }
    }
    return this.#acquire(options).then((ch) => this.#useWith(ch, fn));
  }

  /** `fn(ch)`, with `ch` released once it settles (before the caller's continuation runs). */
  #useWith<T>(ch: Channel, fn: (ch: Channel) => Promise<T>): Promise<T> {
    this.#busy.add(ch);
    let p: Promise<T>;
    try {
      p = fn(ch);
    } catch (e) {
      this.#release(ch);
      return Promise.reject(e);
    }
    const release = (): void => this.#release(ch);
    p.then(release, release);
    return p;
  }

  async #acquire(options?: WaitOptions): Promise<Channel> {
    for (;;) {
      if (this.#closed) throw new ConnectionClosedError('manager client is closed');
      const idle = this.#idle.pop();
      if (idle) {
        if (idle.usable) return idle;
        this.#size--;
        continue;
      }
      if (this.#size < this.#max) {
        this.#size++;
        let ch: Channel;
        try {
          ch = await this.#open();
        } catch (e) {
          this.#size--;
          this.#wakeOne();
          throw e;
        }
        if (this.#closed) {
          // Closed while this one was being opened: nothing may use it.
          ch.close();
          this.#size--;
          throw new ConnectionClosedError('manager client is closed');
        }
        return ch;
      }
      const ch = await waitInLine(this.#waiters, options, 'waiting for a manager connection');
      if (ch) return ch;
    }
  }

  #release(ch: Channel): void {
    this.#busy.delete(ch);
    if (this.#closed) {
      ch.close();
      this.#size--;
      return;
    }
    const lingering = ch.lingering;
    if (lingering !== undefined) {
      // The server thread of this channel is still busy with an abandoned call (a lock acquire):
      // the pool lets it go, so that its place serves other calls, and closes it once it is done.
      this.#size--;
      this.#lingering.add(ch);
      void lingering.then(() => {
        this.#lingering.delete(ch);
        ch.close();
      });
      this.#wakeOne();
      return;
    }
    if (!ch.usable) {
      this.#size--;
      this.#wakeOne();
      return;
    }
    const w = this.#waiters.shift();
    if (w) w(ch);
    else this.#idle.push(ch);
  }

  /** Let one waiter try again (a slot became free). */
  #wakeOne(): void {
    this.#waiters.shift()?.(null);
  }

  /**
   * Close idle channels now and destroy busy ones (their calls reject with
   * `ConnectionClosedError`), as well as those still waiting for an abandoned call's reply.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ch of this.#idle.splice(0)) {
      ch.close();
      this.#size--;
    }
    for (const ch of this.#busy) ch.destroy();
    for (const ch of this.#lingering) ch.destroy();
    this.#lingering.clear();
    for (const w of this.#waiters.splice(0)) w(null);
  }
}

/**
 * Object-call channels (connections that sent `accept_connection`, PROTOCOL.md §5.3) and the
 * small pool a manager client keeps of them. A channel carries strictly one request at a time,
 * like the per-thread connection of a CPython client.
 * @module
 */
import { ConnectionClosedError } from '../errors.js';
import type { Connection } from '../wire/index.js';
import { type WaitOptions, waitFor } from '../wire/deadline.js';
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

  constructor(conn: Connection, codec: ManagerCodec) {
    this.#conn = conn;
    this.#codec = codec;
  }

  /** False once a call failed in a way that leaves the stream out of step (the connection is closed then). */
  get usable(): boolean {
    return !this.#broken && !this.#conn.closed;
  }

  /**
   * Send one request and read its reply. Calls on one channel run one after another. An I/O
   * error, a timeout or an abort while waiting for the reply closes the channel, since a late reply
   * would otherwise answer the next request.
   */
  request(ident: string | null, method: string, args: readonly unknown[], kwds: unknown, options: WaitOptions | undefined, onProxy?: ProxyHook): Promise<Reply> {
    // An idle channel starts at once: no promise chain per call (bench/managers/dict.mjs).
    if (!this.#busy) return this.#run(ident, method, args, kwds, options, onProxy);
    return new Promise<void>((resolve) => this.#queue.push(resolve)).then(() => this.#run(ident, method, args, kwds, options, onProxy));
  }

  async #run(ident: string | null, method: string, args: readonly unknown[], kwds: unknown, options: WaitOptions | undefined, onProxy?: ProxyHook): Promise<Reply> {
    this.#busy = true;
    try {
      if (!this.usable) throw new ConnectionClosedError('manager connection is closed');
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
        this.destroy();
        throw e;
      }
      return parseReply(this.#codec.decode(frame, onProxy));
    } finally {
      // Hand the channel to the next request (it stays busy until that one ends).
      const next = this.#queue.shift();
      if (next) next();
      else this.#busy = false;
    }
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

interface Waiter {
  resolve(ch: Channel | null): void;
}

/**
 * A FIFO pool of at most `max` channels, opened on demand.
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
  readonly #waiters: Waiter[] = [];
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
        try {
          return await this.#open();
        } catch (e) {
          this.#size--;
          this.#wakeOne();
          throw e;
        }
      }
      const ch = await waitFor<Channel | null>(
        options,
        (resolve) => {
          const w: Waiter = { resolve };
          this.#waiters.push(w);
          return () => {
            const i = this.#waiters.indexOf(w);
            if (i >= 0) this.#waiters.splice(i, 1);
          };
        },
        'waiting for a manager connection',
      );
      if (ch) return ch;
    }
  }

  #release(ch: Channel): void {
    if (this.#closed) {
      ch.close();
      this.#size--;
      return;
    }
    if (!ch.usable) {
      this.#size--;
      this.#wakeOne();
      return;
    }
    const w = this.#waiters.shift();
    if (w) w.resolve(ch);
    else this.#idle.push(ch);
  }

  /** Let one waiter try again (a slot became free). */
  #wakeOne(): void {
    this.#waiters.shift()?.resolve(null);
  }

  /** Close idle channels now; busy ones close when their call ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ch of this.#idle.splice(0)) {
      ch.close();
      this.#size--;
    }
    for (const w of this.#waiters.splice(0)) w.resolve(null);
  }
}

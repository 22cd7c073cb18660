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
 */
export const DEFAULT_MAX_CONNECTIONS = 16;

/** One authenticated connection in object-call mode. */
export class Channel {
  readonly #conn: Connection;
  readonly #codec: ManagerCodec;
  #tail: Promise<unknown> = Promise.resolve();
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
    const run = async (): Promise<Reply> => {
      if (!this.usable) throw new ConnectionClosedError('manager connection is closed');
      const payload = this.#codec.encodeRequest(ident, method, args, kwds);
      let frame: Buffer;
      try {
        await this.#conn.sendBytes(payload);
        frame = await this.#conn.recvBytes(undefined, options);
      } catch (e) {
        this.destroy();
        throw e;
      }
      return parseReply(this.#codec.decode(frame, onProxy));
    };
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  destroy(): void {
    this.#broken = true;
    this.#conn.destroy();
  }

  close(): void {
    this.#broken = true;
    this.#conn.close();
  }
}

interface Waiter {
  resolve(ch: Channel | null): void;
}

/** A FIFO pool of at most `max` channels, opened on demand. */
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
  get idle(): number {
    return this.#idle.length;
  }

  /** Run `fn` with a channel to itself; the channel goes back to the pool (or is dropped when broken). */
  async use<T>(fn: (ch: Channel) => Promise<T>, options?: WaitOptions): Promise<T> {
    const ch = await this.#acquire(options);
    try {
      return await fn(ch);
    } finally {
      this.#release(ch);
    }
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

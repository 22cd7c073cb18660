/**
 * `Pipe()` inside one process and `adoptFd()` for inherited descriptors.
 * @module
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import { Connection, type ConnectionOptions } from './connection.js';

/**
 * The error a write to a closed pipe end fails with: what a socket write to a closed peer gets
 * (`EPIPE`), so that a `Pipe()` connection reports it as TCP and Unix connections do
 * (`ProtocolError`, reason `'socket'`).
 */
function brokenPipe(): NodeJS.ErrnoException {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' });
}

/**
 * One end of an in-memory byte stream pair: writes on one end are read on the other, with
 * backpressure (a write's callback waits until the other end has room).
 */
class MemoryEnd extends Duplex {
  other!: MemoryEnd;
  /** Callback of the other end's write that waits for this end to read. */
  #pending: ((error?: Error | null) => void) | undefined;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.other.destroyed) {
      callback(brokenPipe());
      return;
    }
    if (this.other.push(chunk)) callback();
    else this.other.#pending = callback;
  }

  override _read(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.other.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const other = this.other;
    if (!other.destroyed && !other.readableEnded) other.push(null);
    // A write of the other end waiting for this end to read would otherwise never complete: fail
    // it as a socket write to a closed peer fails. Our own write waiting on the other end is failed
    // too, or it and every write queued behind it would stay pending forever.
    const theirs = this.#pending;
    this.#pending = undefined;
    theirs?.(brokenPipe());
    const ours = other.#pending;
    other.#pending = undefined;
    ours?.(error ?? brokenPipe());
    callback(error);
  }
}

function memoryPair(): [MemoryEnd, MemoryEnd] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}

/**
 * A connected pair of {@link Connection}s in this process, like Python's `Pipe()`. With
 * `duplex = false` the first end only receives and the second only sends.
 * @example
 * ```ts
 * const [a, b] = Pipe();
 * await a.send(Buffer.from('hi'));
 * await b.recvBytes(); // <Buffer 68 69>
 * ```
 */
export function Pipe(duplex = true, options: ConnectionOptions = {}): [Connection, Connection] {
  const [x, y] = memoryPair();
  if (duplex) return [new Connection(x, options), new Connection(y, options)];
  return [new Connection(x, { ...options, writable: false }), new Connection(y, { ...options, readable: false })];
}

/**
 * Options of {@link adoptFd}.
 * @example
 * ```ts
 * // The parent passed a read-only pipe as fd 3:
 * const conn = adoptFd(3, { writable: false });
 * ```
 */
export interface AdoptFdOptions extends ConnectionOptions {
  /** Whether the fd is read from. Default true. */
  readable?: boolean;
  /** Whether the fd is written to. Default true. */
  writable?: boolean;
}

/**
 * Wrap an inherited file descriptor (a socket or pipe a parent passed down, e.g. Python's
 * `subprocess.Popen(..., pass_fds=[fd])`) in a {@link Connection}. The connection owns the fd.
 * @example
 * ```ts
 * const conn = adoptFd(Number(process.env.MPWIRE_FD));
 * ```
 */
export function adoptFd(fd: number, options: AdoptFdOptions = {}): Connection {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError('invalid handle');
  const readable = options.readable ?? true;
  const writable = options.writable ?? true;
  const socket = new net.Socket({ fd, readable, writable });
  return new Connection(socket, { ...options, readable, writable });
}

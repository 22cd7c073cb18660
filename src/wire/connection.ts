/**
 * `Connection`: CPython's `multiprocessing.connection.Connection` over a Node stream (TCP, Unix
 * socket, inherited fd or in-process pipe).
 * @module
 */
import type { Duplex } from 'node:stream';
import type { AuthDialect, DigestName, FrameIO } from '../auth/handshake.js';
import { bytesCodec, type Codec } from '../codec.js';
import { BufferTooShort, ConnectionClosedError, EOFError, type MpwireError, ProtocolError } from '../errors.js';
import { type WaitOptions, startTimer, waitFor } from './deadline.js';
import { COPY_THRESHOLD, FrameDecoder, encodeFrame } from './frame.js';

/**
 * Limits and codec of a connection.
 * @example
 * ```ts
 * const conn = await connect(address, { codec: bytesCodec, maxMessageSize: 16 * 1024 * 1024, highWaterMark: 1 << 20 });
 * ```
 */
export interface ConnectionOptions {
  /** Codec of `send`/`recv`. Default: pickle for `listen`/`connect` of `mpwire`; raw bytes (`bytesCodec`) for a `Connection` built directly on a stream. */
  codec?: Codec;
  /**
   * Largest frame accepted, checked from the header before any payload byte is buffered.
   * Default {@link DEFAULT_MAX_MESSAGE_SIZE}; `Infinity` removes the limit (Python has none).
   */
  maxMessageSize?: number;
  /**
   * Bytes of complete frames buffered while nobody calls `recv` before the socket is paused.
   * Default 4 MiB.
   */
  highWaterMark?: number;
}

/**
 * Default `maxMessageSize`: 1 GiB.
 * @example
 * ```ts
 * // Accept frames up to 4 GiB instead of the default 1 GiB:
 * const listener = await listen(address, { maxMessageSize: 4 * DEFAULT_MAX_MESSAGE_SIZE });
 * ```
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024 * 1024;
const DEFAULT_HIGH_WATER_MARK = 4 * 1024 * 1024;

/**
 * Bytes counted against `highWaterMark` for each queued frame on top of its payload: a queued
 * frame costs ~150 bytes of heap whatever its length (its Buffer object and queue slot; 1M queued
 * 0-byte and 1-byte frames took 150 MB). Counting payload bytes alone let a peer sending empty
 * frames grow the queue without ever pausing the socket.
 */
const FRAME_OVERHEAD = 128;

/** How long `close()` waits for a peer that stops reading before destroying the stream. */
const CLOSE_FLUSH_MS = 30_000;

interface Reader {
  maxLength: number | undefined;
  resolve(frame: Buffer): void;
  reject(err: unknown): void;
}

interface Poller {
  resolve(ready: boolean): void;
}

interface DrainWaiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Options of {@link Connection} construction from a stream (internal and for bridges).
 * @example
 * ```ts
 * import { Socket } from 'node:net';
 * const socket = new Socket({ fd: 3, readable: true, writable: true });
 * const conn = new Connection(socket, { codec: pickleCodec(), readable: true, writable: true });
 * ```
 */
export interface StreamConnectionOptions extends ConnectionOptions {
  /** Whether the connection may receive. Default true. */
  readable?: boolean;
  /** Whether the connection may send. Default true; `readable` and `writable` cannot both be false. */
  writable?: boolean;
  /** Set on TCP sockets so that `address`-style diagnostics can name the peer. */
  peer?: unknown;
}

function argError(message: string): RangeError {
  return new RangeError(message);
}

/**
 * A framed, bidirectional message channel, wire-compatible with CPython's `Connection`.
 * Obtain one from {@link connect}, `Listener.accept`, {@link Pipe} or {@link adoptFd}.
 * @example
 * ```ts
 * const conn = await connect(['127.0.0.1', 6000], { authkey: 'secret' });
 * await conn.sendBytes(Buffer.from('ping'));
 * console.log(await conn.recvBytes());
 * conn.close();
 * ```
 */
export class Connection implements AsyncIterable<unknown>, AsyncDisposable, FrameIO {
  /** The codec used by `send`/`recv`. */
  readonly codec: Codec;
  /** Handshake dialect this connection authenticated with (`'none'` without an authkey). */
  authDialect: AuthDialect = 'none';
  /**
   * Digest of the client's answer to the server's challenge (the same value on both ends), e.g.
   * `'sha256'` against CPython 3.12+, `'md5'` for legacy peers; `undefined` without authentication.
   */
  authDigest: DigestName | undefined;
  /** Peer address, in Python's shape, when known. */
  readonly peer: unknown;

  readonly #stream: Duplex;
  readonly #decoder: FrameDecoder;
  readonly #frames: Buffer[] = [];
  #frameHead = 0;
  #queuedBytes = 0;
  readonly #highWaterMark: number;
  readonly #readers: Reader[] = [];
  readonly #pollers: Poller[] = [];
  readonly #drainWaiters: DrainWaiter[] = [];
  /**
   * Error delivered to readers once the queued frames are consumed (EOF, protocol error). Kept as
   * a factory until someone needs it: building an Error (stack capture) costs more than a whole
   * small-frame round trip, and most connections end without anyone reading past the end.
   */
  #end: MpwireError | (() => MpwireError) | undefined;
  #closed = false;
  #readable: boolean;
  #writable: boolean;
  #paused = false;
  #writeError: Error | undefined;
  /** A framing error is pending behind queued frames (see #failRead). */
  #readFailed = false;

  /**
   * Wrap a connected stream (a `net.Socket`, a child's extra stdio socket, any `Duplex`).
   * The connection takes ownership of the stream.
   * @example
   * ```ts
   * const child = spawn('python3', ['child.py'], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
   * const conn = new Connection(child.stdio[3] as Duplex);
   * ```
   */
  constructor(stream: Duplex, options: StreamConnectionOptions = {}) {
    const readable = options.readable ?? true;
    const writable = options.writable ?? true;
    if (!readable && !writable) throw new RangeError('at least one of readable and writable must be true');
    this.#stream = stream;
    this.#readable = readable;
    this.#writable = writable;
    this.peer = options.peer;
    const codec = options.codec ?? bytesCodec;
    this.codec = codec.forConnection ? codec.forConnection() : codec;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#decoder = new FrameDecoder((frame) => this.#onFrame(frame), {
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      onHeader: (length) => this.#onHeader(length),
    });
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('end', () => this.#onEnd());
    stream.on('error', (err: Error) => {
      this.#onError(err);
      this.#settleDrainWaiters(new ProtocolError(`socket error: ${err.message}`, 'socket', { cause: err }));
    });
    stream.on('drain', () => this.#settleDrainWaiters(undefined));
    stream.on('close', () => {
      this.#onEnd();
      if (this.#drainWaiters.length > 0) {
        this.#settleDrainWaiters(this.#closed ? new ConnectionClosedError() : new ProtocolError('connection closed while sending', 'socket'));
      }
    });
    if (!readable) stream.pause();
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }
  /** True while messages can be received (false after a bad length, like CPython). */
  get readable(): boolean {
    return this.#readable;
  }
  /** True while messages can be sent. */
  get writable(): boolean {
    return this.#writable;
  }
  /** Largest frame accepted (settable). */
  get maxMessageSize(): number {
    return this.#decoder.maxMessageSize;
  }
  set maxMessageSize(n: number) {
    this.#decoder.maxMessageSize = n;
  }
  /**
   * Internal: whether big frames get their whole buffer at their first byte (see
   * `FrameDecoder.joinInPlace`); turned off while a handshake runs.
   */
  set _joinInPlace(on: boolean) {
    this.#decoder.joinInPlace = on;
  }

  // ---------------------------------------------------------------- receiving

  #onData(chunk: Buffer): void {
    if (this.#closed) return; // nothing can be received any more: do not queue it
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      this.#failRead(e instanceof ProtocolError ? e : new ProtocolError(String(e), 'bad-length', { cause: e }));
      return;
    }
    if (this.#pollers.length > 0) this.#wakePollers(true);
  }

  #onHeader(length: number): void {
    const reader = this.#readers[0];
    if (reader && reader.maxLength !== undefined && length > reader.maxLength) {
      throw new ProtocolError(`bad message length ${length} (maxlength ${reader.maxLength})`, 'bad-length');
    }
  }

  #onFrame(frame: Buffer): void {
    const reader = this.#readers.shift();
    if (reader) {
      reader.resolve(frame);
      return;
    }
    this.#frames.push(frame);
    this.#queuedBytes += frame.length + FRAME_OVERHEAD;
    if (this.#queuedBytes > this.#highWaterMark && !this.#paused) {
      this.#paused = true;
      this.#stream.pause();
    }
  }

  #onEnd(): void {
    if (this.#end) return;
    const decoder = this.#decoder;
    this.#end = () => decoder.end();
    this.#settleReaders();
  }

  #onError(err: Error): void {
    this.#writeError ??= err;
    if (this.#end) return;
    this.#end = this.#closed ? () => new ConnectionClosedError() : new ProtocolError(`socket error: ${err.message}`, 'socket', { cause: err });
    this.#settleReaders();
  }

  /** A framing error: CPython makes the connection write-only (closed if it was read-only). */
  #failRead(err: ProtocolError): void {
    this.#decoder.fail(err);
    this.#end = err;
    const first = this.#readers.shift();
    if (first === undefined) {
      // Nobody is receiving: as in CPython, which reads frame by frame, the complete frames that
      // arrived before the bad header are still delivered, then the next recv raises this error and
      // the connection turns write-only. Until then poll() and wait() report it ready.
      this.#readFailed = true;
      this.#stream.pause();
      this.#wakePollers(true);
      return;
    }
    first.reject(err);
    this.#makeUnreadable();
    this.#settleReaders();
  }

  #makeUnreadable(): void {
    this.#readable = false;
    this.#frames.length = 0;
    this.#frameHead = 0;
    this.#queuedBytes = 0;
    this.#stream.pause();
    for (const r of this.#readers.splice(0)) r.reject(new ConnectionClosedError('connection is write-only'));
    if (!this.#writable) this.close();
  }

  /** The end-of-stream error, built on first use and then shared. */
  #endError(): MpwireError {
    const end = this.#end;
    if (end === undefined) throw new Error('no end state');
    if (typeof end === 'function') {
      const err = end();
      this.#end = err;
      return err;
    }
    return end;
  }

  #settleReaders(): void {
    if (this.#frameHead < this.#frames.length) return;
    if (this.#end && this.#readers.length > 0) {
      const err = this.#endError();
      for (const r of this.#readers.splice(0)) r.reject(err);
    }
    this.#wakePollers(true);
  }

  #wakePollers(ready: boolean): void {
    for (const p of this.#pollers.splice(0)) p.resolve(ready);
  }

  #takeFrame(): Buffer | undefined {
    if (this.#frameHead >= this.#frames.length) return undefined;
    const frame = this.#frames[this.#frameHead] as Buffer;
    this.#frames[this.#frameHead++] = undefined as unknown as Buffer;
    if (this.#frameHead > 1024 && this.#frameHead * 2 > this.#frames.length) {
      this.#frames.splice(0, this.#frameHead);
      this.#frameHead = 0;
    } else if (this.#frameHead === this.#frames.length) {
      this.#frames.length = 0;
      this.#frameHead = 0;
    }
    this.#queuedBytes -= frame.length + FRAME_OVERHEAD;
    if (this.#paused && this.#queuedBytes <= this.#highWaterMark / 2) {
      this.#paused = false;
      this.#stream.resume();
    }
    return frame;
  }

  #checkReadable(): void {
    if (this.#closed) throw new ConnectionClosedError();
    if (!this.#readable) throw new ConnectionClosedError('connection is write-only');
  }

  /**
   * Receive one frame's payload. Rejects with {@link EOFError} when the peer closed at a frame
   * boundary, {@link ProtocolError} on a truncated frame or a frame longer than `maxLength` (after
   * which, as in CPython, the connection is write-only).
   * @example
   * ```ts
   * const payload = await conn.recvBytes(1 << 20, { timeout: 5000 });
   * ```
   */
  recvBytes(maxLength?: number, options?: WaitOptions): Promise<Buffer> {
    try {
      this.#checkReadable();
      if (maxLength !== undefined && (maxLength < 0 || !Number.isFinite(maxLength) && maxLength !== Number.POSITIVE_INFINITY)) {
        throw argError('negative maxlength');
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const head = this.#frameHead < this.#frames.length ? (this.#frames[this.#frameHead] as Buffer) : undefined;
    if (head) {
      if (maxLength !== undefined && head.length > maxLength) {
        const err = new ProtocolError(`bad message length ${head.length} (maxlength ${maxLength})`, 'bad-length');
        this.#decoder.fail(err);
        this.#end = err;
        this.#makeUnreadable();
        return Promise.reject(err);
      }
      return Promise.resolve(this.#takeFrame() as Buffer);
    }
    if (this.#end) {
      const err = this.#endError();
      if (this.#readFailed) this.#makeUnreadable();
      return Promise.reject(err);
    }
    const pending = this.#decoder.currentLength;
    if (maxLength !== undefined && pending !== undefined && pending > maxLength && this.#readers.length === 0) {
      const err = new ProtocolError(`bad message length ${pending} (maxlength ${maxLength})`, 'bad-length');
      this.#decoder.fail(err);
      this.#end = err;
      this.#makeUnreadable();
      return Promise.reject(err);
    }
    if (this.#paused) {
      this.#paused = false;
      this.#stream.resume();
    }
    if (options?.signal === undefined && options?.timeout === undefined) {
      // Hot path (a request/response loop): no deadline bookkeeping.
      return new Promise<Buffer>((resolve, reject) => {
        this.#readers.push({ maxLength, resolve, reject });
      });
    }
    return waitFor<Buffer>(
      options,
      (resolve, reject) => {
        const reader: Reader = { maxLength, resolve, reject };
        this.#readers.push(reader);
        return () => {
          const i = this.#readers.indexOf(reader);
          if (i >= 0) this.#readers.splice(i, 1);
        };
      },
      'recv',
    );
  }

  /**
   * Internal (the manager request loops): receive the next frame, as `recvBytes()` would, into
   * `slot.frame`. Returns `undefined` when a frame was already queued (stored at once), else a
   * promise that settles like `recvBytes()`'s but resolves with no value: resolving a promise
   * with a Buffer looks up `then` through Buffer's slow prototype chain, once per message.
   * @internal
   */
  _recvFrame(slot: { frame: Buffer | undefined }): Promise<void> | undefined {
    if (!this.#closed && this.#readable && this.#frameHead < this.#frames.length) {
      slot.frame = this.#takeFrame() as Buffer;
      return undefined;
    }
    try {
      this.#checkReadable();
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#end) {
      const err = this.#endError();
      if (this.#readFailed) this.#makeUnreadable();
      return Promise.reject(err);
    }
    if (this.#paused) {
      this.#paused = false;
      this.#stream.resume();
    }
    return new Promise<void>((resolve, reject) => {
      this.#readers.push({
        maxLength: undefined,
        resolve: (frame) => {
          slot.frame = frame;
          resolve();
        },
        reject,
      });
    });
  }

  /**
   * Receive one frame into `buffer` at byte `offset`; resolves with the payload length. When the
   * frame does not fit it is consumed and the call rejects with {@link BufferTooShort} carrying
   * the whole message; the connection stays usable.
   * @example
   * ```ts
   * const buf = new Uint8Array(1024);
   * const n = await conn.recvBytesInto(buf);
   * ```
   */
  async recvBytesInto(buffer: ArrayBufferView, offset = 0, options?: WaitOptions): Promise<number> {
    const view = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (offset < 0) throw argError('negative offset');
    if (offset > view.length) throw argError('offset too large');
    const frame = await this.recvBytes(undefined, options);
    if (frame.length > view.length - offset) throw new BufferTooShort(frame);
    view.set(frame, offset);
    return frame.length;
  }

  /**
   * Receive one message and decode it with the connection's codec.
   * @example
   * ```ts
   * const value = await conn.recv({ timeout: 1000 });
   * ```
   */
  async recv(options?: WaitOptions): Promise<unknown> {
    const frame = await this.recvBytes(undefined, options);
    // The frame is this call's alone (a view of a socket read or a buffer the decoder joined).
    return this.codec.decode(frame, true);
  }

  /**
   * Whether data is available: true when at least one byte (even a partial header) is buffered
   * or the peer has closed. `timeout` is in **seconds** as in Python: `undefined`/0 checks without
   * waiting, `null` and `Infinity` wait forever, a negative value counts as 0.
   * @example
   * ```ts
   * if (await conn.poll(0.5)) console.log(await conn.recv());
   * ```
   */
  poll(timeout?: number | null, options?: { signal?: AbortSignal }): Promise<boolean> {
    try {
      this.#checkReadable();
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#hasData()) return Promise.resolve(true);
    if (timeout !== null && (timeout === undefined || timeout <= 0)) return Promise.resolve(false);
    const ms = timeout === null ? undefined : timeout * 1000;
    let cancelTimer: (() => void) | undefined;
    return waitFor<boolean>(
      { signal: options?.signal },
      (resolve) => {
        const poller: Poller = { resolve };
        this.#pollers.push(poller);
        if (this.#paused) {
          this.#paused = false;
          this.#stream.resume();
        }
        // startTimer, not setTimeout: Node fires a delay over 2^31-1 ms after 1 ms; Infinity arms nothing.
        if (ms !== undefined) {
          cancelTimer = startTimer(ms, () => {
            const i = this.#pollers.indexOf(poller);
            if (i >= 0) this.#pollers.splice(i, 1);
            resolve(false);
          });
        }
        return () => {
          cancelTimer?.();
          const i = this.#pollers.indexOf(poller);
          if (i >= 0) this.#pollers.splice(i, 1);
        };
      },
      'poll',
    ).finally(() => cancelTimer?.());
  }

  #hasData(): boolean {
    return this.#frameHead < this.#frames.length || this.#decoder.pendingBytes > 0 || this.#end !== undefined;
  }

  /**
   * Internal: true when a `recv` would not wait (used by `wait()`), which includes an open
   * connection that can no longer be read: its `recv` raises at once.
   */
  get _ready(): boolean {
    return !this.#closed && (!this.#readable || this.#hasData());
  }

  // ---------------------------------------------------------------- sending

  /**
   * Send `size` bytes of `buffer` starting at byte `offset` as one frame. Argument errors match
   * CPython's (`RangeError` with Python's messages) and send nothing. Resolves once the frame is
   * handed to the kernel or buffered within the stream's high-water mark (backpressure).
   * @example
   * ```ts
   * await conn.sendBytes(Buffer.from('0123456789'), 2, 3); // sends "234"
   * ```
   */
  sendBytes(buffer: ArrayBufferView | ArrayBuffer, offset = 0, size?: number, options?: WaitOptions): Promise<void> {
    let payload: Buffer;
    try {
      if (this.#closed) throw new ConnectionClosedError();
      if (!this.#writable) throw new ConnectionClosedError('connection is read-only');
      const view = Buffer.isBuffer(buffer)
        ? buffer
        : buffer instanceof ArrayBuffer
          ? Buffer.from(buffer)
          : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const n = view.length;
      if (offset < 0) throw argError('offset is negative');
      if (n < offset) throw argError('buffer length < offset');
      let len: number;
      if (size === undefined) len = n - offset;
      else {
        if (size < 0) throw argError('size is negative');
        if (offset + size > n) throw argError('buffer length < offset + size');
        len = size;
      }
      payload = offset === 0 && len === n ? view : view.subarray(offset, offset + len);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#write(payload, options);
  }

  /**
   * Encode `value` with the connection's codec and send it as one frame.
   * @example
   * ```ts
   * await conn.send({ job: 1 });
   * ```
   */
  send(value: unknown, options?: WaitOptions): Promise<void> {
    let payload: Uint8Array;
    try {
      if (this.#closed) throw new ConnectionClosedError();
      if (!this.#writable) throw new ConnectionClosedError('connection is read-only');
      payload = this.codec.encode(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#write(payload, options);
  }

  /**
   * Internal (the manager client and server): send one frame like `sendBytes(payload)`, but return
   * `undefined` instead of a resolved promise when the frame was handed to the stream without
   * waiting, which saves a promise and a microtask per request. Errors are returned as a rejected
   * promise, as `sendBytes` does.
   * @internal
   */
  _sendNow(payload: Uint8Array): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new ConnectionClosedError());
    if (!this.#writable) return Promise.reject(new ConnectionClosedError('connection is read-only'));
    if (this.#writeError || payload.byteLength > COPY_THRESHOLD) return this.#write(payload, undefined);
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) return Promise.reject(new ConnectionClosedError('connection was closed by the peer'));
    if (stream.write((encodeFrame(payload) as [Buffer])[0])) return undefined;
    return this.#drain(undefined);
  }

  /**
   * Internal (the manager fast paths): like {@link Connection._sendNow}, for a buffer that already
   * holds a whole frame — the 4-byte big-endian length, then the payload — written as it is.
   * @internal
   */
  _sendFramedNow(frame: Uint8Array): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new ConnectionClosedError());
    if (!this.#writable) return Promise.reject(new ConnectionClosedError('connection is read-only'));
    if (this.#writeError) return this.#write(frame.subarray(4), undefined);
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) return Promise.reject(new ConnectionClosedError('connection was closed by the peer'));
    if (stream.write(frame)) return undefined;
    return this.#drain(undefined);
  }

  /** The handshake's `FrameIO` view of this connection (internal). */
  sendFrame(frame: Uint8Array): Promise<void> {
    return this.#write(frame, undefined);
  }

  /** The handshake's `FrameIO` view of this connection (internal). */
  recvFrame(maxLength: number): Promise<Buffer> {
    return this.recvBytes(maxLength);
  }

  #write(payload: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    if (this.#writeError) {
      return Promise.reject(new ProtocolError(`socket error: ${this.#writeError.message}`, 'socket', { cause: this.#writeError }));
    }
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) return Promise.reject(new ConnectionClosedError('connection was closed by the peer'));
    const parts = encodeFrame(payload);
    if (parts.length === 1) {
      if (stream.write(parts[0])) return Promise.resolve();
      return this.#drain(options);
    }
    // Large frame: header and payload corked into one writev; the payload is not copied, so wait
    // until it has been handed to the kernel before the caller may reuse it.
    return waitFor<void>(
      options,
      (resolve, reject) => {
        stream.cork();
        stream.write(parts[0]);
        stream.write(parts[1], (err) => {
          if (!err) resolve();
          else if (this.#closed) reject(new ConnectionClosedError());
          else reject(new ProtocolError(`socket error: ${err.message}`, 'socket', { cause: err }));
        });
        stream.uncork();
        return () => undefined;
      },
      'send',
    );
  }

  /**
   * Wait for the stream's next 'drain'. All waiting senders share one set of stream listeners
   * (attached in the constructor), so any number of concurrent sends adds no listeners.
   */
  #drain(options: WaitOptions | undefined): Promise<void> {
    return waitFor<void>(
      options,
      (resolve, reject) => {
        const waiter: DrainWaiter = { resolve, reject };
        this.#drainWaiters.push(waiter);
        return () => {
          const i = this.#drainWaiters.indexOf(waiter);
          if (i >= 0) this.#drainWaiters.splice(i, 1);
        };
      },
      'send',
    );
  }

  #settleDrainWaiters(err: Error | undefined): void {
    for (const w of this.#drainWaiters.splice(0)) {
      if (err) w.reject(err);
      else w.resolve();
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Close the connection (idempotent). Frames already passed to `send` are flushed; pending
   * `recv`/`poll` calls reject with {@link ConnectionClosedError}. Received frames nobody read are
   * dropped, and nothing more is read.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#readers.length > 0) {
      const err = new ConnectionClosedError();
      for (const r of this.#readers.splice(0)) r.reject(err);
    }
    this.#wakePollers(false);
    this.#end ??= () => new ConnectionClosedError();
    // recv on a closed connection raises, so unread frames are garbage: free them now, not when
    // the stream is destroyed (up to CLOSE_FLUSH_MS later, or never while the peer stalls).
    this.#frames.length = 0;
    this.#frameHead = 0;
    this.#queuedBytes = 0;
    this.#decoder.discard();
    const stream = this.#stream;
    if (stream.destroyed) return;
    stream.pause();
    if (stream.writable && !stream.writableEnded) {
      stream.end(() => stream.destroy());
      // A peer that stops reading must not keep the socket alive forever; the timer goes with the
      // stream so that it does not keep this connection reachable after that.
      const t = setTimeout(() => stream.destroy(), CLOSE_FLUSH_MS);
      t.unref();
      stream.once('close', () => clearTimeout(t));
    } else {
      stream.destroy();
    }
  }

  /** Close at once, discarding unsent data. */
  destroy(): void {
    this.close();
    this.#stream.destroy();
  }

  /** `await using conn = await connect(...)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /**
   * Receive messages until the peer closes at a frame boundary.
   * @example
   * ```ts
   * for await (const msg of conn) console.log(msg);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    for (;;) {
      let v: unknown;
      try {
        v = await this.recv();
      } catch (e) {
        if (e instanceof EOFError || (this.#closed && e instanceof ConnectionClosedError)) return;
        throw e;
      }
      yield v;
    }
  }
}

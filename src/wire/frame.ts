/**
 * Frame encoding and the incremental frame decoder. A frame is a 4-byte big-endian signed length
 * followed by the payload; payloads over 2^31-1 bytes use the header `ffffffff` followed by an
 * 8-byte big-endian unsigned length (CPython 3.8+). See PROTOCOL.md §1.
 * @module
 */
import { EOFError, ProtocolError } from '../errors.js';

/** Largest payload that fits the short (4-byte) header. */
export const MAX_SHORT_FRAME = 0x7fffffff;

/**
 * Payloads up to this size are copied behind their header and written with one `write()`; larger
 * ones are written as header + payload without copying, corked into one segment.
 * CPython joins header and payload up to 16384 bytes (PROTOCOL.md §1.2); `bench/wire.ts`
 * (`stream 1 KiB` vs `stream 1 MiB` rows) shows copying stays cheaper than two writes well below
 * 64 KiB, so the same threshold is used.
 */
export const COPY_THRESHOLD = 16 * 1024;

/**
 * Payloads from this size on that arrive in several chunks are copied into one buffer allocated
 * when their first chunk arrives, instead of being kept as chunks and joined at the end, which
 * needed twice the frame's memory: receiving a 2 GiB frame peaked at 4.1 GiB RSS with the join and
 * 2.1 GiB without, with the same event-loop delay (`bench/soak/big-frame.mjs`).
 */
export const JOIN_IN_PLACE = 1024 * 1024;

/** Length of the header for a payload of `n` bytes (4 or 12). */
export function headerLength(n: number): number {
  return n > MAX_SHORT_FRAME ? 12 : 4;
}

/** Write the header for a payload of `n` bytes into `target` at `offset`; returns the header length. */
export function writeHeader(target: Buffer, n: number, offset = 0): number {
  if (n > MAX_SHORT_FRAME) {
    target.writeInt32BE(-1, offset);
    target.writeBigUInt64BE(BigInt(n), offset + 4);
    return 12;
  }
  target.writeInt32BE(n, offset);
  return 4;
}

/**
 * Encode one frame. Small payloads come back as one buffer (header + copy of the payload); larger
 * ones as `[header, payload]` with the payload not copied.
 * @example
 * ```ts
 * encodeFrame(Buffer.from('hello')); // [<00 00 00 05 68 65 6c 6c 6f>]
 * ```
 */
export function encodeFrame(payload: Uint8Array): Buffer[] {
  const n = payload.byteLength;
  if (n <= COPY_THRESHOLD) {
    const out = Buffer.allocUnsafe(4 + n);
    // Byte stores, not writeInt32BE: Buffer.prototype methods are looked up on a dictionary-mode
    // prototype, which costs more than the whole header.
    out[0] = n >>> 24;
    out[1] = (n >>> 16) & 0xff;
    out[2] = (n >>> 8) & 0xff;
    out[3] = n & 0xff;
    out.set(payload, 4);
    return [out];
  }
  const header = Buffer.allocUnsafe(headerLength(n));
  writeHeader(header, n);
  return [header, Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, n)];
}

/**
 * Options of {@link FrameDecoder}.
 * @example
 * ```ts
 * const decoder = new FrameDecoder((frame) => console.log(frame.length), { maxMessageSize: 1 << 20 });
 * ```
 */
export interface FrameDecoderOptions {
  /** Largest payload accepted; checked from the header before any payload byte is buffered. */
  maxMessageSize?: number;
  /**
   * Called when a header has been read, before its payload is buffered. Throwing here aborts the
   * frame (the decoder then refuses further input).
   */
  onHeader?: (length: number) => void;
}

/**
 * Incremental frame decoder: feed it socket chunks of any size with {@link FrameDecoder.push};
 * it calls `onFrame` once per complete payload. A payload that arrives inside one chunk is
 * delivered as a view of that chunk (no copy); a payload spread over several chunks is joined once
 * (from `JOIN_IN_PLACE` (1 MiB) on, copied into place as its chunks arrive).
 * A bad header throws {@link ProtocolError} and leaves the decoder failed.
 * @example
 * ```ts
 * const d = new FrameDecoder((f) => console.log(f), { maxMessageSize: 1 << 20 });
 * d.push(Buffer.from([0, 0, 0, 2, 0x68]));
 * d.push(Buffer.from([0x69])); // logs <Buffer 68 69>
 * ```
 */
export class FrameDecoder {
  /** Largest payload accepted. */
  maxMessageSize: number;
  /**
   * Whether a payload of `JOIN_IN_PLACE` bytes or more gets its whole buffer at its first byte
   * (default true). Off while a connection authenticates: a peer that has proved nothing could
   * otherwise make us allocate up to `maxMessageSize` (1 GiB by default) with a 5-byte header; its
   * chunks are then kept as they arrive, so memory follows the bytes actually received.
   */
  joinInPlace = true;
  private readonly onFrame: (frame: Buffer) => void;
  private readonly onHeader: ((length: number) => void) | undefined;
  /** Bytes of a header that straddles chunks (up to 12). */
  private readonly head = Buffer.alloc(12);
  private headLen = 0;
  /** Declared length of the payload being collected, or -1 while reading a header. */
  private need = -1;
  private parts: Buffer[] = [];
  /** Destination of a payload of at least `JOIN_IN_PLACE` bytes being received. */
  private whole: Buffer | undefined;
  private have = 0;
  private failed: ProtocolError | undefined;

  constructor(onFrame: (frame: Buffer) => void, options: FrameDecoderOptions = {}) {
    this.onFrame = onFrame;
    this.onHeader = options.onHeader;
    this.maxMessageSize = options.maxMessageSize ?? Number.POSITIVE_INFINITY;
  }

  /** Bytes received that do not yet form a complete frame (partial header and payload). */
  get pendingBytes(): number {
    return this.headLen + this.have;
  }

  /** Declared length of the frame being received, or `undefined` while no header is complete. */
  get currentLength(): number | undefined {
    return this.need >= 0 ? this.need : undefined;
  }

  /** Feed one chunk. Complete frames are delivered synchronously, in order. */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.failed) return; // a frame consumer may fail the decoder (for example on maxlength)
      if (this.need < 0) {
        // Fast path: a whole short header inside this chunk.
        if (this.headLen === 0 && len - pos >= 4) {
          const n = ((chunk[pos] as number) << 24) | ((chunk[pos + 1] as number) << 16) | ((chunk[pos + 2] as number) << 8) | (chunk[pos + 3] as number);
          if (n >= 0) {
            pos += 4;
            this.startPayload(n);
            if (this.need === 0) {
              this.finish(Buffer.alloc(0));
              continue;
            }
            if (len - pos >= n) {
              // Whole payload in this chunk: deliver a view.
              const frame = chunk.subarray(pos, pos + n);
              pos += n;
              this.finish(frame);
              continue;
            }
            continue;
          }
        }
        const take = Math.min(this.wantHeader() - this.headLen, len - pos);
        chunk.copy(this.head, this.headLen, pos, pos + take);
        this.headLen += take;
        pos += take;
        if (this.headLen < this.wantHeader()) continue;
        const n = this.parseHeader();
        if (n === undefined) continue; // extended header: the 8 length bytes follow
        this.headLen = 0;
        this.startPayload(n);
        if (this.need === 0) this.finish(Buffer.alloc(0));
        continue;
      }
      const take = Math.min(this.need - this.have, len - pos);
      if (this.have === 0 && take === this.need) {
        const frame = chunk.subarray(pos, pos + take);
        pos += take;
        this.finish(frame);
        continue;
      }
      // In place only when decided at the frame's first payload byte (joinInPlace may change mid-frame).
      if (this.need >= JOIN_IN_PLACE && (this.whole !== undefined || (this.have === 0 && this.joinInPlace))) {
        this.whole ??= Buffer.allocUnsafe(this.need);
        chunk.copy(this.whole, this.have, pos, pos + take);
        this.have += take;
        pos += take;
        if (this.have === this.need) this.finish(this.whole);
        continue;
      }
      this.parts.push(chunk.subarray(pos, pos + take));
      this.have += take;
      pos += take;
      if (this.have === this.need) {
        const frame = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.need);
        this.finish(frame);
      }
    }
  }

  /**
   * Classify the end of input: an {@link EOFError} at a frame boundary, a {@link ProtocolError}
   * (`reason: 'truncated'`) inside a header or payload.
   */
  end(): EOFError | ProtocolError {
    if (this.failed) return this.failed;
    if (this.pendingBytes > 0 || this.need >= 0) {
      return new ProtocolError('got end of file during message', 'truncated');
    }
    return new EOFError();
  }

  /** Mark the decoder failed with `err`; later pushes throw it. */
  fail(err: ProtocolError): void {
    this.failed ??= err;
    this.parts = [];
    this.whole = undefined;
    this.have = 0;
  }

  /**
   * Drop the frame being received (its partial payload can be up to `maxMessageSize` bytes) and
   * start over at a frame boundary; used when the connection is closed and nothing more is read.
   */
  discard(): void {
    this.parts = [];
    this.whole = undefined;
    this.have = 0;
    this.need = -1;
    this.headLen = 0;
  }

  private wantHeader(): number {
    // After a -1 header the extended form needs 12 bytes in all.
    return this.headLen >= 4 && this.head.readInt32BE(0) === -1 ? 12 : 4;
  }

  private parseHeader(): number | undefined {
    const short = this.head.readInt32BE(0);
    if (short >= 0) return short;
    if (short !== -1) {
      return this.reject(new ProtocolError(`negative message length ${short}`, 'negative-length'));
    }
    if (this.headLen < 12) return undefined;
    const big = this.head.readBigUInt64BE(4);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
      return this.reject(new ProtocolError(`bad message length ${big}`, 'bad-length'));
    }
    return Number(big);
  }

  private startPayload(n: number): void {
    if (n > this.maxMessageSize) {
      this.reject(new ProtocolError(`bad message length ${n} (limit ${this.maxMessageSize})`, 'bad-length'));
    }
    this.need = n;
    this.have = 0;
    if (this.onHeader) {
      try {
        this.onHeader(n);
      } catch (e) {
        const err = e instanceof ProtocolError ? e : new ProtocolError(String(e), 'bad-length', { cause: e });
        this.reject(err);
      }
    }
  }

  private finish(frame: Buffer): void {
    this.need = -1;
    this.have = 0;
    this.parts = [];
    this.whole = undefined;
    this.headLen = 0;
    this.onFrame(frame);
  }

  private reject(err: ProtocolError): never {
    this.fail(err);
    this.need = -1;
    this.headLen = 0;
    throw err;
  }
}

/**
 * The codec contract between the wire layer and payload encodings. The wire layer only ever
 * hands a codec whole frames; codecs never import the wire layer.
 * @module
 */

/**
 * Turns values into frame payloads and back. `decode` receives one complete frame.
 * @example
 * ```ts
 * const jsonCodec: Codec = {
 *   name: 'json',
 *   encode: (v) => Buffer.from(JSON.stringify(v)),
 *   decode: (f) => JSON.parse(Buffer.from(f).toString('utf8')),
 * };
 * ```
 */
export interface Codec {
  /** Short name shown in diagnostics, e.g. `'pickle'`. */
  readonly name: string;
  /** Encode one value into one frame payload. */
  encode(value: unknown): Uint8Array;
  /**
   * Decode one complete frame payload. `owned` is true when nothing else holds the frame's memory
   * (a connection's `recv`: the frame is a fresh receive buffer), so the codec may write into it;
   * called without it, a codec must leave `frame` as it is.
   */
  decode(frame: Uint8Array, owned?: boolean): unknown;
  /**
   * Optional: a per-connection instance. Codecs that keep state per peer (for example pickle's
   * `protocol: 'auto'`, which answers in the protocol the peer last sent) return a fresh codec here;
   * the wire layer calls it once for every connection it creates.
   */
  forConnection?(): Codec;
}

/**
 * The identity codec: `send` takes bytes (`Uint8Array` or any `ArrayBufferView`, or a string,
 * sent as UTF-8) and `recv` returns a `Buffer`.
 * @example
 * ```ts
 * const conn = await connect(addr, { codec: bytesCodec });
 * await conn.send(Buffer.from('hi'));
 * ```
 */
export const bytesCodec: Codec = {
  name: 'bytes',
  encode(value: unknown): Uint8Array {
    if (value instanceof Uint8Array) return value;
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    throw new TypeError('bytesCodec can only send Uint8Array, ArrayBufferView or string values');
  },
  decode(frame: Uint8Array): Buffer {
    return Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  },
};

/**
 * A JSON codec (UTF-8 JSON text per frame); the Python side uses `json.dumps(...).encode()` with
 * `send_bytes`/`recv_bytes`.
 * @example
 * ```ts
 * const conn = await connect(addr, { codec: jsonCodec });
 * await conn.send({ a: 1 });
 * ```
 */
export const jsonCodec: Codec = {
  name: 'json',
  encode(value: unknown): Uint8Array {
    return Buffer.from(JSON.stringify(value), 'utf8');
  },
  decode(frame: Uint8Array): unknown {
    return JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8')) as unknown;
  },
};

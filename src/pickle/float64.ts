/**
 * Reading one big-endian float64 (BINFLOAT's argument) without allocating a DataView per call.
 * @module
 * @internal
 */

const BYTES = new Uint8Array(8);
const VIEW = new DataView(BYTES.buffer);

/**
 * The big-endian float64 at `buf[pos…pos+8)`; the caller has checked the bounds. Copies the eight
 * bytes into one shared view: cheaper than a DataView of the input for a message with a few floats.
 * @internal
 */
export function readFloat64BE(buf: Uint8Array, pos: number): number {
  for (let i = 0; i < 8; i++) BYTES[i] = buf[pos + i] as number;
  return VIEW.getFloat64(0, false);
}

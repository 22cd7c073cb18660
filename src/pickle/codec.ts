/**
 * `pickleCodec()`: the pickle {@link Codec} of connections, with `protocol: 'auto'` answering
 * each peer in the protocol it last sent.
 * @module
 */
import type { Codec } from '../codec.js';
import { dumps, type DumpsOptions } from './dumps.js';
import { loads, type LoadsOptions } from './loads.js';
import { DEFAULT_PROTOCOL } from './opcodes.js';

/**
 * Options of {@link pickleCodec}.
 * @example
 * ```ts
 * // Always answer in protocol 2 (Python 2.7 peers), keep every Python type, decode py2 str as bytes:
 * const codec = pickleCodec({ protocol: 2, exact: true, encoding: 'bytes' });
 * ```
 */
export interface PickleCodecOptions extends Omit<LoadsOptions, 'buffers' | 'inPlace'>, Omit<DumpsOptions, 'protocol'> {
  /** Protocol for sending; `'auto'` (default) answers in the protocol the peer last sent, 4 before anything arrived. */
  protocol?: 0 | 1 | 2 | 3 | 4 | 5 | 'auto';
  /**
   * May `decode` write into the frame (see {@link LoadsOptions.inPlace}): by default only frames a
   * connection's `recv` hands over (`decode(frame, true)`), which belong to nobody else, so a
   * misaligned NumPy payload becomes a view instead of a copy. `false`: never; `true`: every frame.
   */
  inPlace?: boolean;
}

/**
 * The protocol to answer a received pickle in: PROTO's argument, or 2 for a protocol 0/1 pickle
 * (which has no PROTO), so that a Python 2 peer can read the answer.
 * @example
 * ```ts
 * detectProtocol(dumps([1, 2], { protocol: 5 })); // 5
 * detectProtocol(dumps([1, 2], { protocol: 0 })); // 2: no PROTO opcode, answer readably for Python 2
 * ```
 */
export function detectProtocol(frame: Uint8Array): number {
  if (frame.length >= 2 && frame[0] === 0x80) return Math.min(frame[1] as number, 5);
  // Protocol 0 and 1 have no PROTO opcode; answering with 2 keeps Python 2 peers readable.
  return 2;
}

/**
 * A pickle codec with per-connection state.
 * @example
 * ```ts
 * const codec: PickleCodec = pickleCodec();
 * const conn = await connect(address, { codec });
 * await conn.send({ hello: 'python' }); // encoded with codec.forConnection()'s protocol
 * ```
 */
export interface PickleCodec extends Codec {
  /** The protocol the next `encode` will use. */
  readonly protocol: number;
  forConnection(): PickleCodec;
}

/**
 * Make a pickle codec.
 * @example
 * ```ts
 * const conn = await connect(addr, { codec: pickleCodec({ exact: true }) });
 * ```
 */
export function pickleCodec(options: PickleCodecOptions = {}): PickleCodec {
  const fixed = options.protocol === undefined || options.protocol === 'auto' ? undefined : options.protocol;
  if (fixed !== undefined && (!Number.isInteger(fixed) || fixed < 0 || fixed > 5)) throw new RangeError(`pickle protocol must be 0..5 or 'auto'`);
  // Frames the wire layer owns are decoded in place unless the caller said otherwise.
  const ownedOptions: LoadsOptions = options.inPlace === undefined ? { ...options, inPlace: true } : options;
  const make = (): PickleCodec => {
    let peer: number | undefined;
    const codec: PickleCodec = {
      name: 'pickle',
      get protocol(): number {
        return fixed ?? peer ?? DEFAULT_PROTOCOL;
      },
      encode(value: unknown): Uint8Array {
        return dumps(value, { ...options, protocol: fixed ?? peer ?? DEFAULT_PROTOCOL });
      },
      decode(frame: Uint8Array, owned?: boolean): unknown {
        const v = loads(frame, owned === true ? ownedOptions : options);
        if (fixed === undefined) peer = detectProtocol(frame);
        return v;
      },
      forConnection: () => make(),
    };
    return codec;
  };
  return make();
}

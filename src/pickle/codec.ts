/**
 * `pickleCodec()`: the pickle {@link Codec} of connections, with `protocol: 'auto'` answering
 * each peer in the protocol it last sent.
 * @module
 */
import type { Codec } from '../codec.js';
import { dumps, type DumpsOptions } from './dumps.js';
import { loads, type LoadsOptions } from './loads.js';
import { DEFAULT_PROTOCOL } from './opcodes.js';

/** Options of {@link pickleCodec}. */
export interface PickleCodecOptions extends Omit<LoadsOptions, 'buffers'>, Omit<DumpsOptions, 'protocol'> {
  /** Protocol for sending; `'auto'` (default) answers in the protocol the peer last sent, 4 before anything arrived. */
  protocol?: 0 | 1 | 2 | 3 | 4 | 5 | 'auto';
}

/** The protocol of a received pickle: PROTO's argument, or 0/1 for pickles without one (1 when a binary opcode appears first). */
export function detectProtocol(frame: Uint8Array): number {
  if (frame.length >= 2 && frame[0] === 0x80) return Math.min(frame[1] as number, 5);
  // Protocol 0 and 1 have no PROTO opcode; answering with 2 keeps Python 2 peers readable.
  return 2;
}

/** A pickle codec with per-connection state. */
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
      decode(frame: Uint8Array): unknown {
        const v = loads(frame, options);
        if (fixed === undefined) peer = detectProtocol(frame);
        return v;
      },
      forConnection: () => make(),
    };
    return codec;
  };
  return make();
}

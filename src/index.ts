/**
 * mpwire: CPython's `multiprocessing` wire protocol for Node.js.
 *
 * `listen`, `connect`, `Pipe` and `adoptFd` exported here use pickle as the default codec of
 * `send`/`recv` (like Python's `Connection`), with `protocol: 'auto'`: each connection answers in
 * the pickle protocol its peer last sent. Pass `codec` to choose another.
 * @module
 */
import type { Codec } from './codec.js';
import { pickleCodec } from './pickle/codec.js';
import type { Address } from './wire/addresses.js';
import type { Connection, ConnectionOptions } from './wire/connection.js';
import * as wire from './wire/index.js';

export type { AuthDialect, ClientDialect, DigestName } from './auth/handshake.js';
export { type Codec, bytesCodec, jsonCodec } from './codec.js';
export * from './errors.js';
export {
  type Address,
  type AdoptFdOptions,
  type AuthOptions,
  type ConnectOptions,
  Connection,
  type ConnectionOptions,
  DEFAULT_MAX_MESSAGE_SIZE,
  type Family,
  FrameDecoder,
  type FrameDecoderOptions,
  type ListenOptions,
  Listener,
  type StreamConnectionOptions,
  type TcpAddress,
  type WaitOptions,
  type Waitable,
  addressType,
  arbitraryAddress,
  encodeFrame,
  wait,
} from './wire/index.js';
export { dumps, loads, pickleCodec, type PickleCodec, type PickleCodecOptions } from './pickle/index.js';
export { NDArray } from './pickle/index.js';
export { xmlCodec } from './xmlrpc/index.js';
export { connectManager, ManagerClient, Proxy } from './managers/index.js';

function withDefaultCodec<T extends { codec?: Codec }>(options: T | undefined): T {
  return { ...(options as T), codec: options?.codec ?? pickleCodec() };
}

/**
 * Listen for connections, like Python's `Listener(address, authkey=…)`, and resolve to the bound
 * {@link Listener}. `send`/`recv` on the accepted connections use pickle unless `codec` is given
 * (`bytesCodec` gives raw frames, as a `Connection` built directly on a stream has).
 * @example
 * ```ts
 * const listener = await listen(['127.0.0.1', 6000], { authkey: 'secret' });
 * const conn = await listener.accept();
 * console.log(await conn.recv()); // a value sent by Python's conn.send(...)
 * ```
 */
export function listen(address?: Address | null, options?: wire.ListenOptions): Promise<wire.Listener> {
  return wire.listen(address, withDefaultCodec(options));
}

/**
 * Connect to a Python `Listener` (or an mpwire one), like Python's `Client(address, authkey=…)`.
 * `send`/`recv` use pickle unless `codec` is given (`bytesCodec` gives raw frames).
 * @example
 * ```ts
 * const conn = await connect(['127.0.0.1', 6000], { authkey: 'secret' });
 * await conn.send({ job: 1 });
 * ```
 */
export function connect(address: Address, options?: wire.ConnectOptions): Promise<Connection> {
  return wire.connect(address, withDefaultCodec(options));
}

/**
 * A connected pair in this process, like Python's `Pipe()`; pickle by default.
 * @example
 * ```ts
 * const [a, b] = Pipe();
 * await a.send([1, 'two']);
 * await b.recv(); // [1, 'two']
 * ```
 */
export function Pipe(duplex = true, options?: ConnectionOptions): [Connection, Connection] {
  return wire.Pipe(duplex, withDefaultCodec(options));
}

/**
 * Wrap an inherited file descriptor; pickle by default.
 * @example
 * ```ts
 * const conn = adoptFd(Number(process.env.MPWIRE_FD));
 * ```
 */
export function adoptFd(fd: number, options?: wire.AdoptFdOptions): Connection {
  return wire.adoptFd(fd, withDefaultCodec(options));
}

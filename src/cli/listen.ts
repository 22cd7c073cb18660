/**
 * `mpwire listen ADDRESS`: accept connections and print every message received.
 * @module
 */
import { bytesCodec } from '../codec.js';
import { pickleCodec } from '../pickle/index.js';
import { type Address, type Connection, listen as wireListen } from '../wire/index.js';
import { xmlCodec } from '../xmlrpc/index.js';
import type { Codec } from '../codec.js';
import { formatAddress } from './address.js';
import { UsageError } from './errors.js';
import { pyRepr, toJson } from './repr.js';

/** Options of {@link listenCommand}. */
export interface ListenCommandOptions {
  authkey?: string;
  codec: string;
  echo?: boolean;
  json?: boolean;
  count?: number;
}

/** The codec named on the command line. */
export function codecByName(name: string): Codec {
  switch (name) {
    case 'pickle':
      return pickleCodec({ exact: true });
    case 'xml':
      // Integral floats stay floats: printed as Python does (`1e+16`, `1.0`) and echoed as `<double>`.
      return xmlCodec({ wrapIntegralDoubles: true });
    case 'bytes':
      return bytesCodec;
    default:
      throw new UsageError(`unknown codec '${name}' (pickle, xml or bytes)`);
  }
}

/** Run the listener until SIGINT/SIGTERM (or `count` messages). */
export async function listenCommand(address: Address, options: ListenCommandOptions, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  const codec = codecByName(options.codec);
  const listener = await wireListen(address, {
    codec,
    ...(options.authkey === undefined ? {} : { authkey: options.authkey }),
    onHandshakeError: (e) => err(`handshake failed: ${e.message}`),
  });
  err(`listening on ${formatAddress(listener.address)} (codec ${codec.name}${options.authkey === undefined ? ', no authkey' : ''})`);
  let received = 0;
  let connections = 0;
  // Set once the command is ending (signal or --count reached): no connection prints after that.
  let stopping = false;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (): void => {
    stopping = true;
    stopped();
  };
  const countReached = (): boolean => options.count !== undefined && received >= options.count;
  const onSignal = (): void => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const open = new Set<Connection>();
  const serveOne = async (conn: Connection, n: number): Promise<void> => {
    open.add(conn);
    err(`connection ${n} opened${conn.authDialect !== 'none' ? ` (${conn.authDialect}, ${conn.authDigest})` : ''}`);
    try {
      for await (const msg of conn) {
        // Frames already buffered keep arriving after the last counted one (on this connection or
        // another): they are not printed. The count is taken before printing, since an echo awaits.
        if (stopping || countReached()) break;
        received++;
        out(options.json ? toJson(msg) : pyRepr(msg));
        if (options.echo) await conn.send(msg);
        if (countReached()) stop();
      }
      err(`connection ${n} closed`);
    } catch (e) {
      err(`connection ${n}: ${(e as Error).message}`);
    } finally {
      open.delete(conn);
      // A connection that failed (undecodable frame, oversized length) is still open at the
      // socket level: left alone, it would keep the process alive after SIGINT/SIGTERM.
      conn.close();
    }
  };
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) void serveOne(conn, ++connections);
    } catch {
      /* listener closed */
    }
  })();
  await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  for (const c of open) c.close();
  await listener.close();
  await acceptLoop;
}

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
      return xmlCodec();
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
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = (): void => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const open = new Set<Connection>();
  const serveOne = async (conn: Connection, n: number): Promise<void> => {
    open.add(conn);
    err(`connection ${n} opened${conn.authDialect !== 'none' ? ` (${conn.authDialect}, ${conn.authDigest})` : ''}`);
    try {
      for await (const msg of conn) {
        out(options.json ? toJson(msg) : pyRepr(msg));
        if (options.echo) await conn.send(msg);
        received++;
        if (options.count !== undefined && received >= options.count) stop();
      }
      err(`connection ${n} closed`);
    } catch (e) {
      err(`connection ${n}: ${(e as Error).message}`);
    } finally {
      open.delete(conn);
    }
  };
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) void serveOne(conn, ++connections);
    } catch {
      /* listener closed */
    }
  })();
  await stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  for (const c of open) c.close();
  await listener.close();
  await acceptLoop;
}

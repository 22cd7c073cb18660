/**
 * Raw connections for the diagnostic commands: a socket wrapped in a bytes Connection whose
 * handshake the command drives itself, one frame at a time.
 * @module
 */
import net from 'node:net';
import { bytesCodec } from '../codec.js';
import { startTimer } from '../wire/deadline.js';
import { type Address, Connection, addressType } from '../wire/index.js';
import { CliFailure } from './errors.js';
import { formatAddress } from './address.js';

/** A connected socket and the bytes Connection over it. */
export interface Raw {
  conn: Connection;
  socket: net.Socket;
}

/** Connect without any handshake. */
export function rawConnect(address: Address, timeoutMs = 5000): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const family = addressType(address);
    const opts: net.NetConnectOpts =
      typeof address === 'string' ? { path: address } : { host: address[0], port: address[1], family: family === 'AF_INET6' ? 6 : 4 };
    const socket = net.connect(opts);
    // startTimer, not setTimeout, which fires a delay over 2^31-1 ms after 1 ms; Infinity arms nothing.
    const cancelTimer = startTimer(timeoutMs, () => {
      socket.destroy();
      reject(new CliFailure(`cannot connect to ${formatAddress(address)}: timed out after ${timeoutMs} ms`));
    });
    socket.once('connect', () => {
      cancelTimer();
      socket.setNoDelay?.(true);
      const conn = new Connection(socket, { codec: bytesCodec, maxMessageSize: Number.POSITIVE_INFINITY });
      rawSockets.set(conn, socket);
      resolve({ socket, conn });
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      cancelTimer();
      reject(new CliFailure(`cannot connect to ${formatAddress(address)}: ${e.code ?? e.message}`));
    });
  });
}

const rawSockets = new WeakMap<Connection, net.Socket>();

/** Write hand-made bytes (e.g. an extended-header frame) to the socket under a raw Connection. */
export function writeRaw(conn: Connection, bytes: Uint8Array): Promise<void> {
  const socket = rawSockets.get(conn);
  if (!socket) return Promise.reject(new Error('not a raw connection'));
  return new Promise((resolve, reject) => socket.write(bytes, (e) => (e ? reject(e) : resolve())));
}

/** Receive one frame, or `undefined` after `ms` of silence; `null` on EOF/close. */
export async function recvWithin(conn: Connection, ms: number, maxLength?: number): Promise<Buffer | null | undefined> {
  try {
    return await conn.recvBytes(maxLength, { timeout: ms });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'MPWIRE_TIMEOUT') return undefined;
    if (code === 'MPWIRE_EOF' || code === 'MPWIRE_CLOSED' || code === 'MPWIRE_PROTOCOL') return null;
    throw e;
  }
}

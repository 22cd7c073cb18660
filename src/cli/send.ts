/**
 * `mpwire send ADDRESS VALUE`: connect, send one value (or a file's bytes), optionally print a reply.
 * @module
 */
import { once } from 'node:events';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { clientHandshake } from '../auth/handshake.js';
import { AuthenticationError } from '../errors.js';
import { pickleCodec } from '../pickle/index.js';
import { type Address, type Connection, connect } from '../wire/index.js';
import { withHandshakeDeadline } from '../wire/listener.js';
import { CliFailure, EXIT, UsageError } from './errors.js';
import { isChallenge, readGreeting } from './handshake-steps.js';
import { parseValue } from './literal.js';
import { rawConnect } from './raw.js';
import { pyRepr, toJson } from './repr.js';

/** Options of {@link sendCommand}. */
export interface SendCommandOptions {
  authkey?: string;
  protocol?: string;
  file?: string;
  reply?: boolean;
  json?: boolean;
  timeout: number;
  progress: boolean;
}

function bar(done: number, total: number): string {
  const width = 30;
  const frac = total ? done / total : 1;
  const fill = Math.round(frac * width);
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  return `\r[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mib(done)}/${mib(total)} MiB`;
}

/**
 * How long a send without `--authkey` (and without `--reply`) looks for an authentication
 * challenge before it exits: a server that authenticates sends its challenge as soon as it accepts,
 * so it is normally in by the time our message is written.
 */
const CHALLENGE_WINDOW_MS = 250;

/** Exit 3: without `--authkey`, an authenticating server took our message for its challenge's answer. */
function authkeyRequired(): CliFailure {
  return new CliFailure('server requires --authkey (it sent an authentication challenge; the message was discarded)', EXIT.auth);
}

/**
 * Send `message` and, with `--reply`, receive the reply frame. Without an authkey, a `#CHALLENGE#`
 * from the server (as the reply, within {@link CHALLENGE_WINDOW_MS}, or queued when sending
 * failed because the server hung up on our "answer") becomes {@link authkeyRequired}, as `probe`
 * reports it.
 */
async function exchange(conn: Connection, authenticated: boolean, options: SendCommandOptions, message: () => Promise<void>): Promise<Buffer | undefined> {
  try {
    await message();
    if (options.reply) {
      const frame = await conn.recvBytes(undefined, { timeout: options.timeout });
      if (!authenticated && isChallenge(frame)) throw authkeyRequired();
      return frame;
    }
    if (!authenticated && (await readGreeting(conn, Math.min(options.timeout, CHALLENGE_WINDOW_MS))).kind === 'challenge') throw authkeyRequired();
    return undefined;
  } catch (e) {
    if (e instanceof CliFailure || authenticated) throw e;
    const greeting = await readGreeting(conn, 0).catch(() => undefined);
    if (greeting?.kind === 'challenge') throw authkeyRequired();
    throw e;
  }
}

/** Send; prints the reply when asked. */
export async function sendCommand(address: Address, value: string | undefined, options: SendCommandOptions, out: (s: string) => void, err: (s: string) => void): Promise<void> {
  let protocol: 0 | 1 | 2 | 3 | 4 | 5 | undefined;
  if (options.protocol !== undefined) {
    const p = Number(options.protocol);
    if (!Number.isInteger(p) || p < 0 || p > 5) throw new UsageError(`--protocol must be 0..5, got '${options.protocol}'`);
    protocol = p as 0 | 1 | 2 | 3 | 4 | 5;
  }
  if (options.file === undefined && value === undefined) throw new UsageError('give a VALUE or --file F');
  if (options.file !== undefined && value !== undefined) throw new UsageError('give either a VALUE or --file, not both');
  const parsed = value === undefined ? undefined : parseValue(value);
  const codec = pickleCodec({ exact: true, ...(protocol === undefined ? {} : { protocol }) });
  const authkey = options.authkey;
  if (options.file !== undefined) {
    const file = options.file;
    const size = statSync(file).size;
    const { conn, socket } = await rawConnect(address, options.timeout);
    try {
      if (authkey !== undefined) await withHandshakeDeadline(conn, options.timeout, () => clientHandshake(conn, authkey, 'legacy-md5'));
      const r = await exchange(conn, authkey !== undefined, options, async () => {
        const fd = openSync(file, 'r');
        try {
          await writeChunks(socket, frameHeader(size), fd, size, options.progress ? (d) => err(bar(d, size)) : undefined);
        } finally {
          closeSync(fd);
        }
        if (options.progress) err('\n');
        err(`sent ${size} bytes from ${file}`);
      });
      if (r !== undefined) out(options.json ? toJson(r) : pyRepr(r));
    } catch (e) {
      if (e instanceof AuthenticationError) throw new CliFailure(`authentication failed: ${e.message}`, EXIT.auth);
      throw e;
    } finally {
      conn.close();
    }
    return;
  }
  const conn = await connect(address, { codec, timeout: options.timeout, ...(authkey === undefined ? {} : { authkey }) });
  try {
    const r = await exchange(conn, authkey !== undefined, options, () => conn.send(parsed));
    if (r !== undefined) {
      const reply = conn.codec.decode(r, true);
      out(options.json ? toJson(reply) : pyRepr(reply));
    }
  } finally {
    conn.close();
  }
}

function frameHeader(size: number): Buffer {
  if (size <= 0x7fffffff) {
    const h = Buffer.alloc(4);
    h.writeInt32BE(size, 0);
    return h;
  }
  const h = Buffer.alloc(12);
  h.writeInt32BE(-1, 0);
  h.writeBigUInt64BE(BigInt(size), 4);
  return h;
}

/** Header, then the file in 1 MiB chunks, honouring backpressure; `progress` sees bytes handed to the socket. */
async function writeChunks(socket: Socket, header: Buffer, fd: number, size: number, progress: ((done: number) => void) | undefined): Promise<void> {
  socket.write(header);
  const chunk = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(size, 1)));
  let done = 0;
  let last = 0;
  while (done < size) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - done), done);
    if (n <= 0) throw new CliFailure(`file shrank while sending (${done} of ${size} bytes)`);
    // Copy: the chunk buffer is reused while the socket may still hold the previous one.
    if (!socket.write(Buffer.from(chunk.subarray(0, n)))) await once(socket, 'drain');
    done += n;
    if (progress && (done - last >= 4 << 20 || done === size)) {
      last = done;
      progress(done);
    }
  }
  await new Promise<void>((resolve, reject) => socket.write(Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
}

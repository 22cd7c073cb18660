/**
 * The HMAC challenge/response handshake of `multiprocessing.connection`, in every dialect found in
 * the wild (PROTOCOL.md §3): legacy HMAC-MD5 (CPython ≤ 3.11), RHEL/Fedora raw HMAC-SHA256
 * (patch 00169) and the 3.12+ `{digest}`-prefixed negotiation. Works over any object that can send
 * and receive whole frames, so it never sees a codec.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../errors.js';

/**
 * The handshake dialect a connection authenticated with.
 * @example
 * ```ts
 * const conn = await listener.accept();
 * if (conn.authDialect === 'legacy-md5') console.log('a CPython ≤ 3.11 client');
 * ```
 */
export type AuthDialect = 'none' | 'legacy-md5' | 'rhel-sha256' | 'modern';

/**
 * How a client answers a bare 20-byte challenge, which cannot tell legacy from RHEL servers.
 * @example
 * ```ts
 * // Reach a RHEL/Fedora Python Listener as well as a stock one:
 * const conn = await connect(['db-host', 6000], { authkey: 'secret', dialect: 'auto' });
 * ```
 */
export type ClientDialect = 'legacy-md5' | 'rhel-sha256' | 'auto';

/**
 * Digest names CPython 3.12+ accepts inside `{…}` (lowercase only).
 * @example
 * ```ts
 * // Challenge clients with {sha3_256} instead of the default {sha256}:
 * const listener = await listen(['127.0.0.1', 0], { authkey: 'secret', digest: 'sha3_256' });
 * ```
 */
export type DigestName = 'md5' | 'sha256' | 'sha384' | 'sha3_256' | 'sha3_384';

/** Digests in CPython's list, with their Node names and a strength rank for `minDigest`. */
const DIGESTS: Record<DigestName, { node: string; size: number; rank: number }> = {
  md5: { node: 'md5', size: 16, rank: 0 },
  sha256: { node: 'sha256', size: 32, rank: 1 },
  sha3_256: { node: 'sha3-256', size: 32, rank: 1 },
  sha384: { node: 'sha384', size: 48, rank: 2 },
  sha3_384: { node: 'sha3-384', size: 48, rank: 2 },
};

export const CHALLENGE = Buffer.from('#CHALLENGE#', 'latin1');
export const WELCOME = Buffer.from('#WELCOME#', 'latin1');
export const FAILURE = Buffer.from('#FAILURE#', 'latin1');
/** CPython reads every handshake message with `recv_bytes(256)`. */
export const HANDSHAKE_MAX = 256;
/** Random bytes in a legacy challenge (20) and in a modern one (40). */
const LEGACY_NONCE = 20;
const MODERN_NONCE = 40;

/** What the handshake needs from a connection: whole frames in, whole frames out. */
export interface FrameIO {
  sendFrame(frame: Uint8Array): Promise<void>;
  /** Receive one frame of at most `maxLength` bytes. */
  recvFrame(maxLength: number): Promise<Buffer>;
}

/** Result of a successful handshake. */
export interface AuthResult {
  dialect: AuthDialect;
  /** Digest of the client's answer to the server's challenge, e.g. `'sha256'` or `'md5'`. */
  digest: DigestName | undefined;
}

/** Why a client-side handshake failed, so that `dialect: 'auto'` can decide to retry. */
export class ClientAuthFailure extends AuthenticationError {
  /** True when the server sent a bare 20-byte challenge and rejected our answer to it. */
  readonly bareChallengeRejected: boolean;
  constructor(message: string, bareChallengeRejected: boolean) {
    super(message);
    this.bareChallengeRejected = bareChallengeRejected;
  }
}

export function normalizeKey(authkey: Uint8Array | string): Buffer {
  return typeof authkey === 'string' ? Buffer.from(authkey, 'utf8') : Buffer.from(authkey.buffer, authkey.byteOffset, authkey.byteLength);
}

function mac(key: Buffer, digest: DigestName, message: Uint8Array): Buffer {
  return createHmac(DIGESTS[digest].node, key).update(message).digest();
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/**
 * Split a `{name}payload` message the way CPython 3.12+ does: a prefix is recognised when the
 * message starts with `{` and a `}` follows within the next 9 bytes (PROTOCOL.md §3.2).
 */
export function splitDigestPrefix(message: Buffer): { digest: DigestName; rest: Buffer } | undefined {
  if (message[0] !== 0x7b) return undefined;
  const close = message.indexOf(0x7d, 1);
  if (close < 0 || close > 10) return undefined;
  const name = message.toString('latin1', 1, close);
  if (!Object.hasOwn(DIGESTS, name)) return undefined;
  return { digest: name as DigestName, rest: message.subarray(close + 1) };
}

function prefixed(digest: DigestName, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`{${digest}}`, 'latin1'), body]);
}

/** Build the answer to a challenge payload (the bytes after `#CHALLENGE#`). */
export function answerFor(key: Buffer, payload: Buffer, bare: 'legacy-md5' | 'rhel-sha256'): { answer: Buffer; dialect: AuthDialect; digest: DigestName } {
  const pre = splitDigestPrefix(payload);
  if (pre) {
    // The MAC covers the whole payload, the prefix included.
    return { answer: prefixed(pre.digest, mac(key, pre.digest, payload)), dialect: 'modern', digest: pre.digest };
  }
  if (payload[0] === 0x7b && payload.length !== 16 && payload.length !== LEGACY_NONCE) {
    throw new AuthenticationError(`unsupported digest in challenge: ${JSON.stringify(payload.subarray(0, 12).toString('latin1'))}`);
  }
  return bare === 'rhel-sha256'
    ? { answer: mac(key, 'sha256', payload), dialect: 'rhel-sha256', digest: 'sha256' }
    : { answer: mac(key, 'md5', payload), dialect: 'legacy-md5', digest: 'md5' };
}

/**
 * Check an answer to our challenge `payload`, accepting every dialect: `{name}`+MAC (modern, any
 * allowed digest), 16 bytes of HMAC-MD5 (legacy), 32 bytes of raw HMAC-SHA256 (RHEL).
 */
export function verifyAnswer(key: Buffer, payload: Buffer, answer: Buffer): AuthResult | undefined {
  const pre = splitDigestPrefix(answer);
  if (pre) {
    return same(pre.rest, mac(key, pre.digest, payload)) ? { dialect: 'modern', digest: pre.digest } : undefined;
  }
  if (answer.length === 16) return same(answer, mac(key, 'md5', payload)) ? { dialect: 'legacy-md5', digest: 'md5' } : undefined;
  if (answer.length === 32) return same(answer, mac(key, 'sha256', payload)) ? { dialect: 'rhel-sha256', digest: 'sha256' } : undefined;
  return undefined;
}

/** Options for our side of the handshake. */
export interface HandshakeOptions {
  /** Digest of the challenges we send (`{digest}` + 40 random bytes). Default `'sha256'`. */
  digest?: DigestName;
  /** Weakest digest accepted in the peer's answer to our challenge. Default `'md5'` (accept all). */
  minDigest?: DigestName;
}

/**
 * Refuse a `digest` or `minDigest` option that is not a {@link DigestName} with a `TypeError`, so
 * that `listen()`/`connect()` fail before any socket exists instead of at every handshake.
 */
export function checkDigestOptions(options: HandshakeOptions): void {
  for (const key of ['digest', 'minDigest'] as const) {
    const name: unknown = options[key];
    if (name === undefined || name === null || (typeof name === 'string' && Object.hasOwn(DIGESTS, name))) continue;
    const shown = typeof name === 'string' ? `'${name}'` : String(name);
    throw new TypeError(`unsupported ${key} ${shown} (expected one of ${Object.keys(DIGESTS).join(', ')})`);
  }
}

function checkMin(result: AuthResult, minDigest: DigestName): boolean {
  return result.digest !== undefined && DIGESTS[result.digest].rank >= DIGESTS[minDigest].rank;
}

/** Send our challenge and check the answer (CPython's `deliver_challenge`). */
async function deliverChallenge(io: FrameIO, key: Buffer, options: HandshakeOptions): Promise<AuthResult> {
  checkDigestOptions(options);
  const digest = options.digest ?? 'sha256';
  const payload = prefixed(digest, randomBytes(MODERN_NONCE));
  await io.sendFrame(Buffer.concat([CHALLENGE, payload]));
  const answer = await io.recvFrame(HANDSHAKE_MAX);
  const result = verifyAnswer(key, payload, answer);
  if (!result || !checkMin(result, options.minDigest ?? 'md5')) {
    await io.sendFrame(FAILURE).catch(() => undefined);
    throw new AuthenticationError(result ? `digest ${result.digest} is weaker than the required ${options.minDigest}` : 'digest received was wrong');
  }
  await io.sendFrame(WELCOME);
  return result;
}

async function readChallenge(io: FrameIO): Promise<Buffer> {
  const message = await io.recvFrame(HANDSHAKE_MAX);
  if (!message.subarray(0, CHALLENGE.length).equals(CHALLENGE)) {
    throw new AuthenticationError(`Protocol error, expected challenge: ${JSON.stringify(message.subarray(0, 20).toString('latin1'))}`);
  }
  return message.subarray(CHALLENGE.length);
}

async function expectWelcome(io: FrameIO, bare: boolean): Promise<void> {
  const reply = await io.recvFrame(HANDSHAKE_MAX);
  if (!reply.equals(WELCOME)) throw new ClientAuthFailure('digest sent was rejected', bare);
}

/**
 * Server side: challenge the client in the modern dialect and classify its answer (modern, legacy
 * MD5 or RHEL SHA-256), then answer the client's challenge in the dialect it used. No CPython
 * server accepts all three dialects; this one does.
 */
export async function serverHandshake(io: FrameIO, authkey: Uint8Array | string, options: HandshakeOptions = {}): Promise<AuthResult> {
  const key = normalizeKey(authkey);
  const result = await deliverChallenge(io, key, options);
  const payload = await readChallenge(io);
  const bare: 'legacy-md5' | 'rhel-sha256' = result.dialect === 'rhel-sha256' ? 'rhel-sha256' : 'legacy-md5';
  const { answer } = answerFor(key, payload, bare);
  await io.sendFrame(answer);
  await expectWelcome(io, false);
  return result;
}

/**
 * Client side: answer the server's challenge (any prefixed digest; a bare 20-byte challenge in the
 * configured dialect), then send a modern challenge and check the server's answer.
 */
export async function clientHandshake(
  io: FrameIO,
  authkey: Uint8Array | string,
  bareDialect: 'legacy-md5' | 'rhel-sha256',
  options: HandshakeOptions = {},
): Promise<AuthResult> {
  const key = normalizeKey(authkey);
  const payload = await readChallenge(io);
  const { answer, dialect, digest } = answerFor(key, payload, bareDialect);
  await io.sendFrame(answer);
  await expectWelcome(io, dialect !== 'modern');
  await deliverChallenge(io, key, options);
  return { dialect, digest };
}

/**
 * The client handshake split into observable steps, for `probe` and `check`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { CHALLENGE, FAILURE, WELCOME, answerFor, normalizeKey, splitDigestPrefix, verifyAnswer } from '../auth/handshake.js';
import type { Connection } from '../wire/index.js';
import { recvWithin } from './raw.js';

/** What the server's first frame said. */
export type Greeting =
  | { kind: 'silent' }
  | { kind: 'closed' }
  | { kind: 'challenge'; payload: Buffer; digest: string | undefined; bare: boolean }
  | { kind: 'other'; frame: Buffer };

/** True for a `#CHALLENGE#` frame: the server authenticates and this is its first message. */
export function isChallenge(frame: Buffer): boolean {
  return frame.subarray(0, CHALLENGE.length).equals(CHALLENGE);
}

/** Read the server's first frame (its challenge, when it authenticates). */
export async function readGreeting(conn: Connection, ms: number): Promise<Greeting> {
  const f = await recvWithin(conn, ms);
  if (f === undefined) return { kind: 'silent' };
  if (f === null) return { kind: 'closed' };
  if (isChallenge(f)) {
    const payload = f.subarray(CHALLENGE.length);
    const pre = splitDigestPrefix(payload);
    return { kind: 'challenge', payload, digest: pre?.digest, bare: !pre };
  }
  return { kind: 'other', frame: f };
}

/** Answer the server's challenge; `'welcome'`, `'failure'`, `'closed'` or `'other'`. */
export async function answerChallenge(
  conn: Connection,
  key: Uint8Array | string,
  payload: Buffer,
  bare: 'legacy-md5' | 'rhel-sha256',
  ms: number,
): Promise<{ result: 'welcome' | 'failure' | 'closed' | 'silent' | 'other'; digest: string }> {
  const { answer, digest } = answerFor(normalizeKey(key), payload, bare);
  await conn.sendBytes(answer);
  const r = await recvWithin(conn, ms);
  if (r === undefined) return { result: 'silent', digest };
  if (r === null) return { result: 'closed', digest };
  if (r.equals(WELCOME)) return { result: 'welcome', digest };
  if (r.equals(FAILURE)) return { result: 'failure', digest };
  return { result: 'other', digest };
}

/** Our challenge (round 2): `{digest}` + 40 bytes, or a bare 20-byte legacy one when `digest` is `'bare'`. */
export async function challengeServer(
  conn: Connection,
  key: Uint8Array | string,
  digest: string,
  ms: number,
): Promise<{ ok: boolean; answered: string; detail: string }> {
  const payload = digest === 'bare' ? randomBytes(20) : Buffer.concat([Buffer.from(`{${digest}}`, 'latin1'), randomBytes(40)]);
  await conn.sendBytes(Buffer.concat([CHALLENGE, payload]));
  const answer = await recvWithin(conn, ms, 256);
  if (answer === undefined) return { ok: false, answered: '-', detail: 'no answer to our challenge' };
  if (answer === null) return { ok: false, answered: '-', detail: 'connection closed instead of an answer' };
  const k = normalizeKey(key);
  const v = verifyAnswer(k, payload, answer);
  const pre = splitDigestPrefix(answer);
  const answered = pre ? `{${pre.digest}}` : answer.length === 16 ? 'md5 (unprefixed)' : answer.length === 32 ? 'sha256 (unprefixed)' : `${answer.length} bytes`;
  if (!v) {
    await conn.sendBytes(FAILURE).catch(() => undefined);
    return { ok: false, answered, detail: `wrong answer (${answered})` };
  }
  await conn.sendBytes(WELCOME);
  return { ok: true, answered, detail: `answered ${answered}` };
}


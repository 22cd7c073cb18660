/**
 * `mpwire probe ADDRESS`: what does this server speak?
 * @module
 */
import { detectProtocol, dumps, loads, tuple } from '../pickle/index.js';
import type { Address } from '../wire/index.js';
import { formatAddress } from './address.js';
import { CliFailure, EXIT } from './errors.js';
import { answerChallenge, challengeServer, readGreeting } from './handshake-steps.js';
import { rawConnect, recvWithin } from './raw.js';
import { pyRepr } from './repr.js';

/** Options of {@link probe}. */
export interface ProbeOptions {
  authkey?: string;
  timeout: number;
  json?: boolean;
}

/** The probe's findings. */
export interface ProbeReport {
  address: string;
  auth: 'none' | 'modern' | 'legacy' | 'rhel' | 'unknown';
  challengeDigest: string | null;
  keyAccepted: boolean | null;
  serverAnswer: string | null;
  manager: boolean | null;
  echo: 'bytes' | 'objects' | null;
  replyProtocol: number | null;
  versionHint: string;
  verdict: string;
  ok: boolean;
}

const PROTOCOL_HINT: Record<number, string> = { 2: 'Python 2.7', 3: 'CPython 3.0-3.7', 4: 'CPython 3.8-3.13', 5: 'CPython 3.14+' };

function hint(r: ProbeReport): string {
  const parts: string[] = [];
  if (r.auth === 'modern') parts.push('CPython 3.12+ (digest negotiation)');
  if (r.auth === 'legacy') parts.push('CPython <= 3.11 or 2.7 (legacy HMAC-MD5)');
  if (r.auth === 'rhel') parts.push('RHEL/Fedora patched CPython (raw HMAC-SHA256)');
  if (r.replyProtocol !== null && PROTOCOL_HINT[r.replyProtocol]) parts.push(`${PROTOCOL_HINT[r.replyProtocol]} (pickle protocol ${r.replyProtocol} in its reply)`);
  return parts.join('; ') || 'none';
}

/** Run the probe and print its report. Throws {@link CliFailure} on a FAIL verdict. */
export async function probe(address: Address, options: ProbeOptions, out: (s: string) => void): Promise<ProbeReport> {
  const r: ProbeReport = {
    address: formatAddress(address),
    auth: 'unknown',
    challengeDigest: null,
    keyAccepted: null,
    serverAnswer: null,
    manager: null,
    echo: null,
    replyProtocol: null,
    versionHint: 'none',
    verdict: '',
    ok: false,
  };
  let exitCode: number = EXIT.failure;
  const finish = (ok: boolean, verdict: string): ProbeReport => {
    r.ok = ok;
    r.verdict = `${ok ? 'OK' : 'FAIL'}: ${verdict}`;
    r.versionHint = hint(r);
    if (options.json) out(JSON.stringify(r, null, 2));
    else {
      const rows: Array<[string, string]> = [
        ['address', r.address],
        ['authentication', r.auth === 'none' ? 'none (the server does not challenge)' : `${r.auth}${r.challengeDigest ? `, challenge digest {${r.challengeDigest}}` : ', bare 20-byte challenge'}`],
        ['key', r.keyAccepted === null ? (r.auth === 'none' ? 'not needed' : 'not tested (no --authkey)') : r.keyAccepted ? 'accepted' : 'REJECTED'],
        ['server answer', r.serverAnswer ?? '-'],
        ['manager', r.manager === null ? '-' : r.manager ? 'yes (answered a dummy request with #RETURN)' : 'no'],
        ['echo', r.echo ?? '-'],
        ['version hint', r.versionHint],
        ['verdict', r.verdict],
      ];
      for (const [k, v] of rows) out(`${k.padEnd(15)} ${v}`);
    }
    if (!ok) throw new CliFailure(r.verdict, exitCode);
    return r;
  };

  const raw = await rawConnect(address, options.timeout);
  let conn = raw.conn;
  try {
    const greet = await readGreeting(conn, Math.min(options.timeout, 1000));
    if (greet.kind === 'closed') return finish(false, 'the server closed the connection without sending anything');
    if (greet.kind === 'other') {
      return finish(false, `not a multiprocessing server: its first frame is ${pyRepr(greet.frame.subarray(0, 40))}`);
    }
    if (greet.kind === 'silent') r.auth = 'none';
    else {
      r.auth = greet.bare ? 'legacy' : 'modern';
      r.challengeDigest = greet.digest ?? null;
      if (options.authkey === undefined) {
        exitCode = EXIT.auth;
        return finish(false, 'the server requires an authkey (pass --authkey)');
      }
      let a = await answerChallenge(conn, options.authkey, greet.payload, 'legacy-md5', options.timeout);
      if (a.result === 'failure' && greet.bare) {
        // A bare challenge is legacy MD5 or RHEL's raw SHA-256: try the other answer.
        conn.destroy();
        conn = (await rawConnect(address, options.timeout)).conn;
        const g2 = await readGreeting(conn, options.timeout);
        if (g2.kind === 'challenge') {
          const b = await answerChallenge(conn, options.authkey, g2.payload, 'rhel-sha256', options.timeout);
          if (b.result === 'welcome') {
            r.auth = 'rhel';
            a = b;
          }
        }
      }
      if (a.result !== 'welcome') {
        r.keyAccepted = a.result === 'failure' ? false : null;
        exitCode = EXIT.auth;
        return finish(false, a.result === 'failure' ? 'the server rejected the key (#FAILURE#)' : `unexpected reply to our answer (${a.result})`);
      }
      r.keyAccepted = true;
      const c = await challengeServer(conn, options.authkey, 'sha256', options.timeout);
      r.serverAnswer = c.detail;
      if (!c.ok) return finish(false, `the server's answer to our challenge is wrong: ${c.detail}`);
    }
    // Does it answer as a manager? A dummy request gets ('#RETURN', None) from a manager server.
    const request = dumps(tuple(null, 'dummy', tuple(), {}), { protocol: 2 });
    await conn.sendBytes(request);
    const reply = await recvWithin(conn, Math.min(options.timeout, 2000));
    if (reply) {
      let value: unknown;
      try {
        value = loads(reply);
      } catch {
        value = undefined;
      }
      if (Array.isArray(value) && value[0] === '#RETURN') {
        r.manager = true;
        r.replyProtocol = detectProtocol(reply);
      } else if (reply.equals(request)) {
        r.manager = false;
        r.echo = 'bytes';
      } else if (Array.isArray(value) && value[1] === 'dummy') {
        r.manager = false;
        r.echo = 'objects';
        r.replyProtocol = detectProtocol(reply);
      } else r.manager = false;
    } else r.manager = false;
    const what = [
      'speaks the multiprocessing protocol',
      r.auth === 'none' ? 'no authentication' : `${r.auth} handshake${r.challengeDigest ? ` ({${r.challengeDigest}})` : ''}, key accepted`,
      r.manager ? 'manager' : r.echo ? `echoes ${r.echo}` : 'not a manager',
    ];
    return finish(true, what.join(', '));
  } finally {
    conn.destroy();
    raw.conn.destroy();
  }
}

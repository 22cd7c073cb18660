/**
 * `mpwire check ADDRESS`: a conformance battery for servers speaking the multiprocessing wire
 * protocol (another language binding, a port): both handshake rounds, every digest, a wrong key,
 * the handshake's 256-byte maxlength, frames of 0 B / 64 KiB / 16 MiB, the extended header and a
 * pickle echo per protocol when the server echoes. Each test opens its own connection, so a
 * server that handles one connection at a time (a plain Python `Listener` loop) can be checked.
 * @module
 */
import { isDeepStrictEqual } from 'node:util';
import { FAILURE, WELCOME } from '../auth/handshake.js';
import { detectProtocol, dumps, loads, tuple } from '../pickle/index.js';
import type { Address, Connection } from '../wire/index.js';
import { formatAddress } from './address.js';
import { CliFailure } from './errors.js';
import { answerChallenge, challengeServer, readGreeting } from './handshake-steps.js';
import { rawConnect, recvWithin, writeRaw } from './raw.js';

/** One row of the report. */
export interface CheckResult {
  test: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
  ms: number;
}

/** Options of {@link check}. */
export interface CheckOptions {
  authkey?: string;
  timeout: number;
  json?: boolean;
  report?: string;
}

const DIGESTS = ['bare', 'md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384'] as const;

class Battery {
  readonly results: CheckResult[] = [];
  /**
   * How this server wants a bare challenge answered: legacy HMAC-MD5, or RHEL/Fedora's raw
   * HMAC-SHA256 (patch 00169), found by the first session that had to tell them apart.
   */
  bare: 'legacy-md5' | 'rhel-sha256' | undefined;
  /** Whether some session authenticated with the right key (the wrong-key test means nothing otherwise). */
  authenticated = false;
  constructor(
    readonly address: Address,
    readonly options: CheckOptions,
  ) {}

  async run(test: string, fn: () => Promise<[CheckResult['status'], string]>): Promise<CheckResult> {
    const t0 = performance.now();
    let row: CheckResult;
    try {
      const [status, detail] = await fn();
      row = { test, status, detail, ms: Math.round(performance.now() - t0) };
    } catch (e) {
      row = { test, status: 'FAIL', detail: (e as Error).message, ms: Math.round(performance.now() - t0) };
    }
    this.results.push(row);
    return row;
  }

  /** A connection after the whole handshake (round 2 with `digest`), or a reason it failed. */
  async session(digest = 'sha256', round1Only = false): Promise<{ conn: Connection; detail: string; modern: boolean } | { error: string }> {
    const { conn } = await rawConnect(this.address, this.options.timeout);
    const key = this.options.authkey;
    const greet = await readGreeting(conn, key === undefined ? 300 : this.options.timeout);
    if (greet.kind === 'silent') {
      if (key !== undefined) {
        conn.destroy();
        return { error: 'the server sent no challenge although an authkey was given' };
      }
      return { conn, detail: 'no authentication', modern: false };
    }
    if (greet.kind !== 'challenge') {
      conn.destroy();
      return { error: greet.kind === 'closed' ? 'the server closed the connection' : 'first frame is not #CHALLENGE#' };
    }
    if (key === undefined) {
      conn.destroy();
      return { error: 'the server requires an authkey (pass --authkey)' };
    }
    const a = await answerChallenge(conn, key, greet.payload, greet.bare ? (this.bare ?? 'legacy-md5') : 'legacy-md5', this.options.timeout);
    if (a.result === 'failure' && greet.bare && this.bare === undefined) {
      // A bare challenge refused an MD5 answer: it may be a RHEL server, which wants raw
      // HMAC-SHA256 (as `probe` tells them apart). Try that on a fresh connection.
      conn.destroy();
      const retry = await this.#rhelSession();
      if (retry !== undefined) return this.#round2(retry, key, digest, round1Only, greet.bare);
    }
    if (a.result !== 'welcome') {
      conn.destroy();
      return { error: `our answer (${a.digest}) got ${a.result === 'failure' ? '#FAILURE#' : a.result}` };
    }
    if (greet.bare) this.bare ??= 'legacy-md5';
    return this.#round2(conn, key, digest, round1Only, greet.bare);
  }

  /** A connection whose bare challenge accepted a raw HMAC-SHA256 answer, or undefined. */
  async #rhelSession(): Promise<Connection | undefined> {
    const key = this.options.authkey as string;
    const { conn } = await rawConnect(this.address, this.options.timeout);
    const greet = await readGreeting(conn, this.options.timeout);
    const a = greet.kind === 'challenge' && greet.bare ? await answerChallenge(conn, key, greet.payload, 'rhel-sha256', this.options.timeout) : undefined;
    if (a?.result !== 'welcome') {
      conn.destroy();
      return undefined;
    }
    this.bare = 'rhel-sha256';
    return conn;
  }

  async #round2(
    conn: Connection,
    key: string,
    digest: string,
    round1Only: boolean,
    bare: boolean,
  ): Promise<{ conn: Connection; detail: string; modern: boolean } | { error: string }> {
    this.authenticated = true;
    if (round1Only) return { conn, detail: '#WELCOME#', modern: !bare };
    const c = await challengeServer(conn, key, digest, this.options.timeout);
    if (!c.ok) {
      conn.destroy();
      return { error: c.detail };
    }
    return { conn, detail: c.detail, modern: !bare };
  }
}

/**
 * Send `payload` and wait for the echo: the frame back, `undefined` when none came within `ms`
 * (or the server stopped reading, so the send could not finish), `null` when the connection closed.
 */
async function echo(conn: Connection, payload: Uint8Array, ms: number): Promise<Buffer | null | undefined> {
  try {
    await conn.sendBytes(payload, 0, undefined, { timeout: ms });
  } catch (e) {
    const code = (e as { code?: string }).code;
    // A send that cannot finish leaves part of a frame behind: this connection is done for.
    conn.destroy();
    if (code === 'MPWIRE_TIMEOUT') return undefined;
    if (code === 'MPWIRE_EOF' || code === 'MPWIRE_CLOSED' || code === 'MPWIRE_PROTOCOL') return null;
    throw e;
  }
  return recvWithin(conn, ms);
}

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** Run the battery; prints a table (or JSON) and throws {@link CliFailure} when any test failed. */
export async function check(address: Address, options: CheckOptions, out: (s: string) => void): Promise<CheckResult[]> {
  const b = new Battery(address, options);
  const key = options.authkey;
  const t = options.timeout;
  let authenticates = false;
  let modern = false;

  await b.run('connect and read the greeting', async () => {
    const { conn } = await rawConnect(address, t);
    try {
      const g = await readGreeting(conn, key === undefined ? 300 : t);
      if (g.kind === 'challenge') {
        authenticates = true;
        modern = !g.bare;
        const rest = g.digest ? g.payload.length - g.digest.length - 2 : g.payload.length;
        const want = g.digest ? 40 : 20;
        if (rest !== want) return ['FAIL', `challenge has ${rest} random bytes, expected ${want}`];
        return ['PASS', g.digest ? `#CHALLENGE# {${g.digest}} + 40 bytes (3.12+ dialect)` : '#CHALLENGE# + 20 bytes (legacy dialect)'];
      }
      if (g.kind === 'silent') return key === undefined ? ['PASS', 'no challenge (no authentication)'] : ['FAIL', 'no challenge although --authkey was given'];
      return ['FAIL', g.kind === 'closed' ? 'closed without a greeting' : 'first frame is not #CHALLENGE#'];
    } finally {
      conn.destroy();
    }
  });

  const needsKey = (): [CheckResult['status'], string] | undefined =>
    !authenticates ? ['SKIP', 'server does not authenticate'] : key === undefined ? ['SKIP', 'no --authkey given'] : undefined;

  await b.run('round 1: server accepts our answer', async () => {
    const skip = needsKey();
    if (skip) return skip;
    const s = await b.session('bare', true);
    if ('error' in s) return ['FAIL', s.error];
    s.conn.destroy();
    return ['PASS', '#WELCOME#'];
  });

  for (const digest of DIGESTS) {
    await b.run(`round 2: ${digest === 'bare' ? 'bare 20-byte challenge' : `{${digest}} challenge`}`, async () => {
      const skip = needsKey();
      if (skip) return skip;
      const s = await b.session(digest);
      if ('error' in s) return ['FAIL', s.error];
      s.conn.destroy();
      if (modern && digest !== 'bare' && !s.detail.includes(`{${digest}}`)) return ['FAIL', `a 3.12+ server must answer {${digest}}; it ${s.detail}`];
      return ['PASS', s.detail];
    });
  }

  await b.run('wrong key gets #FAILURE#', async () => {
    const skip = needsKey();
    if (skip) return skip;
    // A server that refuses every key would pass this row: it only counts once the right key worked.
    if (!b.authenticated) return ['SKIP', 'the right key was not accepted either'];
    const { conn } = await rawConnect(address, t);
    try {
      const g = await readGreeting(conn, t);
      if (g.kind !== 'challenge') return ['FAIL', 'no challenge'];
      const a = await answerChallenge(conn, `${key}\u0000wrong`, g.payload, g.bare ? (b.bare ?? 'legacy-md5') : 'legacy-md5', t);
      if (a.result === 'failure') return ['PASS', '#FAILURE#'];
      return ['FAIL', a.result === 'welcome' ? 'the server accepted a wrong key' : `expected #FAILURE#, got ${a.result}`];
    } finally {
      conn.destroy();
    }
  });

  await b.run('handshake maxlength: 300-byte answer refused', async () => {
    const skip = needsKey();
    if (skip) return skip;
    const { conn } = await rawConnect(address, t);
    try {
      const g = await readGreeting(conn, t);
      if (g.kind !== 'challenge') return ['FAIL', 'no challenge'];
      await conn.sendBytes(Buffer.alloc(300, 0x41));
      const r = await recvWithin(conn, t);
      if (r === null) return ['PASS', 'connection dropped (recv_bytes(256) raised)'];
      if (r === undefined) return ['PASS', 'refused without a reply (the connection lingers, as in CPython 2.7)'];
      if (r.equals(FAILURE)) return ['FAIL', 'the server read the oversized message and answered #FAILURE# (no 256-byte maxlength)'];
      return ['FAIL', `unexpected reply ${r.equals(WELCOME) ? '#WELCOME#' : `${r.length} bytes`}`];
    } finally {
      conn.destroy();
    }
  });

  // The echo-based tests share one authenticated connection.
  let conn: Connection | undefined;
  let echoes = false;
  await b.run('echo detection (b"ping")', async () => {
    const s = await b.session();
    // A handshake failure is already a FAIL in the rows above.
    if ('error' in s) return [b.results.some((r) => r.status === 'FAIL') ? 'SKIP' : 'FAIL', `no authenticated session: ${s.error}`];
    conn = s.conn;
    const r = await echo(conn, Buffer.from('ping'), Math.min(t, 2000));
    if (r?.equals(Buffer.from('ping'))) {
      echoes = true;
      return ['PASS', 'the server echoes frames'];
    }
    return ['SKIP', r === undefined ? 'no reply within 2 s: frame and pickle tests skipped' : 'the server does not echo: frame and pickle tests skipped'];
  });

  const sizes: Array<[string, number]> = [
    ['frame 0 B', 0],
    ['frame 64 KiB', 64 * 1024],
    ['frame 16 MiB', 16 * 1024 * 1024],
  ];
  for (const [name, n] of sizes) {
    await b.run(name, async () => {
      if (!echoes || !conn) return ['SKIP', 'server does not echo'];
      const data = pattern(n);
      const r = await echo(conn, data, n > 1 << 20 ? Math.max(t, 30_000) : t);
      if (r === undefined) return ['FAIL', 'no echo'];
      if (r === null) return ['FAIL', 'connection closed'];
      if (!r.equals(data)) return ['FAIL', `echo differs: ${r.length} bytes back for ${n}`];
      return ['PASS', `${n} bytes echoed intact`];
    });
  }

  const value = tuple(1, -2.5, 'héllo ✓', Buffer.from([0, 1, 255]), [null, true, false], { k: 'v' }, 2n ** 70n);
  for (let protocol = 0; protocol <= 5; protocol++) {
    await b.run(`pickle echo, protocol ${protocol}`, async () => {
      if (!echoes || !conn) return ['SKIP', 'server does not echo'];
      const sent = dumps(value, { protocol: protocol as 0 | 1 | 2 | 3 | 4 | 5 });
      const r = await echo(conn, sent, t);
      if (!r) return ['FAIL', r === null ? 'connection closed (the server could not read it?)' : 'no reply'];
      if (r.equals(sent)) return ['PASS', 'echoed byte for byte'];
      const back = loads(r);
      if (!isDeepStrictEqual(back, loads(sent))) return ['FAIL', 'the echoed pickle decodes to a different value'];
      return ['PASS', `re-pickled at protocol ${detectProtocol(r)}, same value`];
    });
  }
  conn?.destroy();

  await b.run('extended header (-1 + 8-byte length)', async () => {
    if (!echoes) return ['SKIP', 'server does not echo'];
    const s = await b.session();
    if ('error' in s) return ['FAIL', s.error];
    try {
      const payload = Buffer.from('extended-header');
      const head = Buffer.alloc(12);
      head.writeInt32BE(-1, 0);
      head.writeBigUInt64BE(BigInt(payload.length), 4);
      await writeRaw(s.conn, Buffer.concat([head, payload]));
      const r = await recvWithin(s.conn, t);
      if (r?.equals(payload)) return ['PASS', 'read and echoed'];
      if (r && r.length === 0) return ['SKIP', 'read as an empty frame: the pre-3.8 reader (CPython 3.x < 3.8 has no extended header)'];
      if (r === undefined) return ['SKIP', 'no reply: the server reads the header as an unsigned 4 GiB length (CPython 2.7 has no extended header)'];
      return ['FAIL', r === null ? 'connection closed' : `echo differs (${r.length} bytes)`];
    } finally {
      s.conn.destroy();
    }
  });

  const failed = b.results.filter((r) => r.status === 'FAIL');
  const report = {
    address: formatAddress(address),
    passed: b.results.filter((r) => r.status === 'PASS').length,
    failed: failed.length,
    skipped: b.results.filter((r) => r.status === 'SKIP').length,
    results: b.results,
  };
  if (options.report) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (options.json) out(JSON.stringify(report, null, 2));
  else {
    const w = Math.max(...b.results.map((r) => r.test.length));
    out(`${'test'.padEnd(w)}  result  detail`);
    for (const r of b.results) out(`${r.test.padEnd(w)}  ${r.status.padEnd(6)}  ${r.detail}`);
    out(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  }
  if (failed.length) throw new CliFailure(`${failed.length} of ${b.results.length} checks failed against ${report.address}`);
  return b.results;
}

/**
 * `mpwire send` in-process against TS servers: the handshake deadline of `--file`, a server that
 * requires an authkey we did not give, and the `--timeout` option.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliFailure, EXIT, UsageError } from '../../src/cli/errors.js';
import { type SendCommandOptions, sendCommand } from '../../src/cli/send.js';
import { parseTimeout } from '../../src/cli/timeout.js';
import { TimeoutError } from '../../src/errors.js';
import { pickleCodec } from '../../src/pickle/index.js';
import { type Address, listen } from '../../src/wire/index.js';

const quiet = (): void => undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The outcome of `p`, or `'hung'` after `ms`. */
const outcome = (p: Promise<unknown>, ms = 2000): Promise<unknown> => Promise.race([p.then(() => 'ok', (e: unknown) => e), sleep(ms).then(() => 'hung')]);

function tempFile(bytes: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mpwire-send-')), 'data.bin');
  writeFileSync(file, bytes);
  return file;
}

function send(address: Address, value: string | undefined, options: Partial<SendCommandOptions>): Promise<void> {
  return sendCommand(address, value, { timeout: 1000, progress: false, ...options }, quiet, quiet);
}

describe('mpwire send --file --authkey', () => {
  it('gives up after --timeout when the listener never answers the handshake', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const address: Address = ['127.0.0.1', (server.address() as net.AddressInfo).port];
      const e = await outcome(send(address, undefined, { file: tempFile(Buffer.from('data')), authkey: 'k', timeout: 200 }));
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as Error).message).toBe('authentication handshake timed out after 200 ms');
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe('mpwire send without --authkey to a server that requires one', () => {
  it.each([
    ['a value', false],
    ['a file', false],
    ['a file, --reply', true],
  ])('%s: exit 3, "server requires --authkey"', async (name, reply) => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', onHandshakeError: quiet });
    const options = name.startsWith('a file') ? { file: tempFile(Buffer.alloc(1000, 7)) } : {};
    const e = await outcome(send(listener.address, options.file === undefined ? "('job', 1)" : undefined, { ...options, ...(reply ? { reply: true } : {}) }));
    expect(e).toBeInstanceOf(CliFailure);
    expect((e as CliFailure).exitCode).toBe(EXIT.auth);
    expect((e as CliFailure).message).toMatch(/^server requires --authkey/);
  });

  it('a value, --reply: exit 3 instead of decoding the challenge; a server without authentication still gets it and the reply is printed', async () => {
    {
      await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', onHandshakeError: quiet });
      const e = await outcome(send(listener.address, "('job', 1)", { reply: true }));
      expect(e).toBeInstanceOf(CliFailure);
      expect((e as CliFailure).exitCode).toBe(EXIT.auth);
    }
    await using listener = await listen(['127.0.0.1', 0], { codec: pickleCodec({ exact: true }) });
    const lines: string[] = [];
    const served = (async () => {
      const conn = await listener.accept({ timeout: 5000 });
      await conn.send(['got', await conn.recv()]);
      conn.close();
    })();
    await sendCommand(listener.address, "('job', 1)", { timeout: 1000, progress: false, reply: true }, (s) => lines.push(s), quiet);
    await served;
    expect(lines).toEqual(["['got', ('job', 1)]"]);
  });
});

describe('--timeout', () => {
  it('takes milliseconds beyond 2^31-1 as they are, and Infinity for no limit', () => {
    expect(parseTimeout(undefined, 5000)).toBe(5000);
    expect(parseTimeout('250', 5000)).toBe(250);
    expect(parseTimeout('3000000000', 5000)).toBe(3e9);
    for (const inf of ['Infinity', 'inf', 'INF', '+infinity']) expect(parseTimeout(inf, 5000)).toBe(Number.POSITIVE_INFINITY);
    for (const bad of ['0', '-1', 'x', '', '-Infinity', 'NaN']) expect(() => parseTimeout(bad, 5000)).toThrow(UsageError);
  });
});

/**
 * The wire interop scenarios, shared by the local suite (`wire.test.ts`, peers are interpreters of
 * this machine) and the container suite (`containers/`, peers run inside Docker images). A
 * {@link PeerSite} says where `peer.py` runs and how each side reaches the other; the scenario
 * bodies, their names and the matrix columns are the same for both.
 */
import { expect, it } from 'vitest';
import { AuthenticationError, EOFError, connect, listen, type Address, type Connection } from '../src/index.js';
import type { PythonInfo } from '../src/bridge/find-pythons.js';
import { type Matrix, type Peer, atLeast, pattern } from './harness.js';

export const SIZES = [0, 1, 64 * 1024, 16 * 1024 * 1024];
export const KEY = 'interop-secret';

/** Where the Python peer (`interop/peers/peer.py`) runs. */
export interface PeerSite {
  /** Start `peer.py ARGS` as a Python Client that connects to a TS Listener on 127.0.0.1 or a socket path. */
  client(args: string[]): Peer;
  /** Start `peer.py ARGS` as a Python Listener (it prints `READY <address>`). */
  server(args: string[]): Peer;
  /** A fresh Unix socket path that both sides can reach. */
  socketPath(name: string): string;
  /** The address the TS side connects to for the address a Python Listener printed. */
  reach(address: Address): Address;
}

async function echoAsServer(conn: Connection): Promise<void> {
  for (const n of SIZES) {
    const got = await conn.recvBytes();
    expect(got.length).toBe(n);
    expect(got.equals(pattern(n))).toBe(true);
    await conn.sendBytes(pattern(n));
  }
  await expect(conn.recvBytes()).rejects.toBeInstanceOf(EOFError);
  conn.close();
}

async function echoAsClient(conn: Connection): Promise<void> {
  for (const n of SIZES) {
    await conn.sendBytes(pattern(n));
    const got = await conn.recvBytes();
    expect(got.length).toBe(n);
    expect(got.equals(pattern(n))).toBe(true);
  }
  conn.close();
}

/**
 * Register the wire scenarios (framing, every auth dialect, wrong keys) for one interpreter `py`,
 * recorded in `matrix` under the row `name`. Call inside a `describe`.
 */
export function wireScenarios(name: string, py: PythonInfo, matrix: Matrix, site: PeerSite): void {
  for (const family of ['AF_INET', 'AF_UNIX'] as const) {
    for (const auth of [true, false]) {
      const tag = `${family === 'AF_INET' ? 'tcp' : 'unix'}${auth ? '+auth' : ''}`;
      const key = auth ? KEY : '-';

      it(`python Client -> TS Listener (${tag})`, () =>
        matrix.record(name, `py Client→TS Listener ${tag}`, async () => {
          const address: Address = family === 'AF_INET' ? ['127.0.0.1', 0] : site.socketPath('ts.sock');
          await using listener = await listen(address, { authkey: auth ? KEY : null });
          const peer = site.client(['client', JSON.stringify(listener.address), key, SIZES.join(',')]);
          const conn = await listener.accept({ timeout: 30_000 });
          if (auth) expect(conn.authDialect).toBe(atLeast(py, 3, 12) ? 'modern' : 'legacy-md5');
          await echoAsServer(conn);
          expect(await peer.line('OK')).toBe(`sent ${SIZES.length}`);
        }));

      it(`TS connect -> python Listener (${tag})`, () =>
        matrix.record(name, `TS connect→py Listener ${tag}`, async () => {
          const peer = site.server(['server', family, key, JSON.stringify(site.socketPath('py.sock'))]);
          const addr = site.reach(JSON.parse(await peer.line('READY')) as Address);
          const conn = await connect(addr, { authkey: auth ? KEY : null, timeout: 30_000 });
          if (auth) expect(conn.authDialect).toBe(atLeast(py, 3, 12) ? 'modern' : 'legacy-md5');
          await echoAsClient(conn);
          expect(await peer.line('OK')).toBe(`echoed ${SIZES.length}`);
        }));
    }
  }

  it('wrong authkey: python Client -> TS Listener', () =>
    matrix.record(name, 'wrong key py Client→TS', async () => {
      await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
      const peer = site.client(['client', JSON.stringify(listener.address), 'wrong', '1']);
      await expect(listener.accept({ timeout: 30_000 })).rejects.toBeInstanceOf(AuthenticationError);
      expect(await peer.line('AUTHERROR')).toMatch(/rejected|wrong/);
    }));

  it('wrong authkey: TS connect -> python Listener', () =>
    matrix.record(name, 'wrong key TS→py', async () => {
      const peer = site.server(['server', 'AF_INET', KEY]);
      const addr = site.reach(JSON.parse(await peer.line('READY')) as Address);
      await expect(connect(addr, { authkey: 'wrong', timeout: 30_000 })).rejects.toBeInstanceOf(AuthenticationError);
      expect(await peer.line('AUTHERROR')).toMatch(/wrong|unsupported|rejected/);
    }));

  if (atLeast(py, 3, 0)) {
    it('RHEL dialect: patched python Client -> TS Listener (detected)', () =>
      matrix.record(name, 'RHEL py Client→TS', async () => {
        await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
        const peer = site.client(['client', JSON.stringify(listener.address), KEY, '1,65536', '--rhel']);
        const conn = await listener.accept({ timeout: 30_000 });
        expect(conn.authDialect).toBe('rhel-sha256');
        for (const n of [1, 65536]) {
          expect((await conn.recvBytes()).equals(pattern(n))).toBe(true);
          await conn.sendBytes(pattern(n));
        }
        expect(await peer.line('OK')).toBe('sent 2');
        conn.close();
      }));

    it('RHEL dialect: TS connect (rhel-sha256 and auto) -> patched python Listener', () =>
      matrix.record(name, 'RHEL TS→py (rhel, auto)', async () => {
        for (const dialect of ['rhel-sha256', 'auto'] as const) {
          // 'auto' answers MD5 first and is refused, then reconnects with SHA-256: the server loop
          // must survive the failed attempt (a plain Listener.accept() raises), hence --loop.
          const peer = site.server(['server', 'AF_INET', KEY, '--rhel', '--loop']);
          const addr = site.reach(JSON.parse(await peer.line('READY')) as Address);
          const conn = await connect(addr, { authkey: KEY, dialect, timeout: 30_000 });
          expect(conn.authDialect).toBe('rhel-sha256');
          await conn.sendBytes(pattern(5));
          expect((await conn.recvBytes()).equals(pattern(5))).toBe(true);
          conn.close();
          expect(await peer.line('OK')).toBe('echoed 1');
          if (dialect === 'auto') expect(await peer.line('AUTHERROR')).toMatch(/wrong/);
        }
      }));
  } else {
    it('RHEL dialect (n/a on Python 2)', () => {
      matrix.set(name, 'RHEL py Client→TS', 'n/a');
      matrix.set(name, 'RHEL TS→py (rhel, auto)', 'n/a');
    });
  }
}

/**
 * Cross-version interop of the wire layer: framing and every authentication dialect against live
 * CPython Listener/Client of every interpreter found on the machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AuthenticationError, EOFError, connect, listen, type Address, type Connection } from '../src/index.js';
import { Matrix, atLeast, interpreters, label, pattern, startPeer, tempPath } from './harness.js';

const SIZES = [0, 1, 64 * 1024, 16 * 1024 * 1024];
const KEY = 'interop-secret';
const pythons = await interpreters();
const matrix = new Matrix('wire interop');

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

afterAll(() => {
  console.log(matrix.render(pythons));
  matrix.save('interop/.last-matrix.json', pythons);
});

describe.each(pythons.map((py) => [label(py), py] as const))('CPython %s', (name, py) => {
  for (const family of ['AF_INET', 'AF_UNIX'] as const) {
    for (const auth of [true, false]) {
      const tag = `${family === 'AF_INET' ? 'tcp' : 'unix'}${auth ? '+auth' : ''}`;
      const key = auth ? KEY : '-';

      it(`python Client -> TS Listener (${tag})`, () =>
        matrix.record(name, `py Client→TS Listener ${tag}`, async () => {
          const address: Address = family === 'AF_INET' ? ['127.0.0.1', 0] : tempPath('ts.sock');
          await using listener = await listen(address, { authkey: auth ? KEY : null });
          const peer = startPeer(py, 'peer.py', ['client', JSON.stringify(listener.address), key, SIZES.join(',')]);
          const conn = await listener.accept({ timeout: 30_000 });
          if (auth) expect(conn.authDialect).toBe(atLeast(py, 3, 12) ? 'modern' : 'legacy-md5');
          await echoAsServer(conn);
          expect(await peer.line('OK')).toBe(`sent ${SIZES.length}`);
        }));

      it(`TS connect -> python Listener (${tag})`, () =>
        matrix.record(name, `TS connect→py Listener ${tag}`, async () => {
          const peer = startPeer(py, 'peer.py', ['server', family, key, JSON.stringify(tempPath('py.sock'))]);
          const addr = JSON.parse(await peer.line('READY')) as Address;
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
      const peer = startPeer(py, 'peer.py', ['client', JSON.stringify(listener.address), 'wrong', '1']);
      await expect(listener.accept({ timeout: 30_000 })).rejects.toBeInstanceOf(AuthenticationError);
      expect(await peer.line('AUTHERROR')).toMatch(/rejected|wrong/);
    }));

  it('wrong authkey: TS connect -> python Listener', () =>
    matrix.record(name, 'wrong key TS→py', async () => {
      const peer = startPeer(py, 'peer.py', ['server', 'AF_INET', KEY]);
      const addr = JSON.parse(await peer.line('READY')) as Address;
      await expect(connect(addr, { authkey: 'wrong', timeout: 30_000 })).rejects.toBeInstanceOf(AuthenticationError);
      expect(await peer.line('AUTHERROR')).toMatch(/wrong|unsupported|rejected/);
    }));

  if (atLeast(py, 3, 0)) {
    it('RHEL dialect: patched python Client -> TS Listener (detected)', () =>
      matrix.record(name, 'RHEL py Client→TS', async () => {
        await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
        const peer = startPeer(py, 'peer.py', ['client', JSON.stringify(listener.address), KEY, '1,65536', '--rhel']);
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
          const peer = startPeer(py, 'peer.py', ['server', 'AF_INET', KEY, '--rhel', '--loop']);
          const addr = JSON.parse(await peer.line('READY')) as Address;
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
});

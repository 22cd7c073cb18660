/**
 * Transports against live CPython: inherited socketpair fds in both directions (a Python child
 * wrapping fd 3 in the stdlib `Connection`, and a Node child adopting a Python parent's socket),
 * IPv6 and the Linux abstract namespace.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Connection, EOFError, NotSupportedError, connect, listen } from '../src/index.js';
import { Matrix, PEERS, interpreters, label, startPeer } from './harness.js';

const pythons = await interpreters();
const matrix = new Matrix('transports interop');
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const DIST = join(PEERS, '..', '..', 'dist', 'index.js');

afterAll(() => {
  console.log(matrix.report(pythons));
});

describe.each(pythons.map((py) => [label(py), py] as const))('CPython %s', (name, py) => {
  it('Python child wraps fd 3 (extra stdio socketpair) in the stdlib Connection', () =>
    matrix.record(name, 'py child Connection(3)', async () => {
      const child = spawn(py.path, [join(PEERS, 'fdchild.py')], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
      const conn = new Connection(child.stdio[3] as Duplex);
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      for (const p of [Buffer.alloc(0), Buffer.from('abc'), Buffer.alloc(200_000, 7)]) {
        await conn.sendBytes(p);
        expect((await conn.recvBytes()).equals(Buffer.from(p).reverse())).toBe(true);
      }
      conn.close();
      expect(await exited).toBe(0);
      expect(out).toContain('OK echoed 3');
    }));

  it('Node child adopts a socket inherited from a Python parent (adoptFd)', () =>
    matrix.record(name, 'node child adoptFd', async () => {
      expect(existsSync(DIST), 'dist/ missing: run `npm run build` (make test does)').toBe(true);
      const peer = startPeer(py, 'fdparent.py', [process.execPath, join(PEERS, 'adopt-child.mjs')]);
      expect(await peer.line('OK')).toBe('exchanged 4 child-exit 0');
    }));

  it('IPv6: TS connect -> Python Listener(family=AF_INET6)', () =>
    matrix.record(name, 'IPv6 TS→py', async () => {
      const peer = startPeer(py, 'peer.py', ['server6', 'AF_INET6', 'k6']);
      const addr = JSON.parse(await peer.line('READY')) as [string, number];
      const conn = await connect([addr[0], addr[1]], { authkey: 'k6', family: 'AF_INET6', timeout: 30_000 });
      await conn.sendBytes(Buffer.from([]));
      expect((await conn.recvBytes()).length).toBe(0);
      conn.close();
      expect(await peer.line('OK')).toBe('echoed 1');
    }));

  for (const role of ['TS Listener', 'TS connect'] as const) {
    it(`abstract socket address: ${role}`, () =>
      matrix.record(name, `abstract ${role}`, async () => {
        const name_ = `\0mpwire-${process.pid}-${Math.random().toString(36).slice(2)}`;
        if (NODE_MAJOR < 22) {
          // Node 20's libuv pads abstract names (nodejs/node#50889): refused with a clear error.
          await expect(listen(name_)).rejects.toBeInstanceOf(NotSupportedError);
          await expect(connect(name_)).rejects.toThrow(/Node\.js >= 22/);
          return;
        }
        if (role === 'TS Listener') {
          await using listener = await listen(name_, { authkey: 'ab' });
          expect(listener.address).toBe(name_);
          const peer = startPeer(py, 'peer.py', ['client', JSON.stringify(name_), 'ab', '0,1,300']);
          const conn = await listener.accept({ timeout: 30_000 });
          for (const n of [0, 1, 300]) {
            const f = await conn.recvBytes();
            expect(f.length).toBe(n);
            await conn.sendBytes(f);
          }
          await expect(conn.recvBytes()).rejects.toBeInstanceOf(EOFError);
          expect(await peer.line('OK')).toBe('sent 3');
        } else {
          const peer = startPeer(py, 'peer.py', ['server', 'AF_UNIX', 'ab', JSON.stringify(name_)]);
          const addr = JSON.parse(await peer.line('READY')) as string;
          expect(addr).toBe(name_);
          const conn = await connect(addr, { authkey: 'ab', timeout: 30_000 });
          await conn.sendBytes(Buffer.alloc(10, 1));
          expect((await conn.recvBytes()).length).toBe(10);
          conn.close();
          expect(await peer.line('OK')).toBe('echoed 1');
        }
      }));
  }
});

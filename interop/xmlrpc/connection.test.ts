/**
 * Live XML flavour: Python's `multiprocessing.connection.XmlClient` ↔ our `listen`, and our
 * `connect` ↔ Python's `XmlListener`, with `codec: xmlCodec()`, on every interpreter found.
 * `XmlListener`/`XmlClient` exist in 2.7 and every 3.x (3.6–3.15 here).
 */
import { execa, type ResultPromise } from 'execa';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findPythons, type PythonInfo } from '../../src/bridge/find-pythons.js';
import { connect, listen, type Connection } from '../../src/index.js';
import { DateTime, Double, xmlCodec } from '../../src/xmlrpc/index.js';
import { xmlValue } from '../../test/xmlrpc/arbitraries.js';
import { normalize } from './describe.js';

const PEER = fileURLToPath(new URL('./xml_peer.py', import.meta.url));
const KEY = 'xml-secret';
const pythons = await findPythons();
console.log(`xmlrpc live connections: ${pythons.length} interpreters: ${pythons.map((p) => p.version).join(', ')}`);

const EDGE: unknown[] = [
  42, -(2 ** 31), 2 ** 31 - 1, 0.1, -0.0, new Double(3), NaN, -Infinity, '', '<&>]]>', '\u{1F600}', 'tab\tnl\n', null, true,
  Buffer.from([0, 1, 2, 255]), new Date(Date.UTC(1999, 11, 31, 23, 59, 59)), [], {}, [null, 'dummy', [], {}],
  { nested: { deeper: [1, [2, [3, { k: 'v' }]]] } },
];
const VALUES = [...EDGE, ...fc.sample(xmlValue, { numRuns: 60, seed: 99 })];

function expectedGreeting(py: PythonInfo): unknown {
  return {
    version: py.version,
    values: [
      1, -(2 ** 31), 2 ** 31 - 1, 2.5, 0.1, 1e16, Infinity, '\u{1F600} <&> ]]>', '', null, true, false,
      Buffer.from([0, 0xff, 0x68, 0x69]), new DateTime('20240102T03:04:05'), [], {}, [1, 'a'],
    ],
    nested: { a: { b: [1, [2, [3]]] } },
  };
}

interface Peer {
  proc: ResultPromise;
  line(prefix: string): Promise<string>;
  output(): string;
}

function startPeer(py: PythonInfo, args: string[]): Peer {
  const proc = execa(py.path, [PEER, ...args], {
    reject: false,
    timeout: 120_000,
    env: { PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', PYENV_VERSION: '', XML_PEER_DEBUG: process.env.XML_PEER_DEBUG ?? '' },
  });
  let out = '';
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    err += d;
  });
  const waiters: Array<() => void> = [];
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  const line = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      setTimeout(() => reject(new Error(`no ${prefix} line from the peer within 30 s`)), 30_000).unref();
      const check = (): void => {
        const l = out.split('\n').find((x) => x.startsWith(prefix) || x.startsWith('ERROR'));
        if (l?.startsWith('ERROR')) return reject(new Error(`peer failed: ${l}`));
        if (l !== undefined) return resolve(l.slice(prefix.length).trim());
        waiters.push(check);
      };
      check();
      void proc.then((r) => {
        if (!out.includes(prefix)) reject(new Error(`peer exited (${String(r.exitCode)}) without ${prefix}: ${String(r.stderr)}`));
      });
    });
  return { proc, line, output: () => `stdout:\n${out}\nstderr:\n${err}` };
}

async function session(conn: Connection, py: PythonInfo, peer: Peer): Promise<void> {
  try {
    expect(await conn.recv({ timeout: 30_000 })).toEqual(expectedGreeting(py));
    for (const [i, v] of VALUES.entries()) {
      await conn.send(v);
      expect(await conn.recv({ timeout: 30_000 }), `value #${i}`).toEqual(normalize(v));
    }
    await conn.send('STOP');
  } catch (e) {
    conn.close();
    peer.proc.kill();
    await peer.proc;
    throw new Error(`${(e as Error).message}\n${peer.output()}`, { cause: e });
  }
}

describe.each(pythons.map((p) => [p.version, p] as const))('CPython %s', (_v, py) => {
  it('XmlClient → our listen(…, { codec: xmlCodec() })', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY, codec: xmlCodec() });
    const port = (listener.address as [string, number])[1];
    const peer = startPeer(py, ['client', String(port), KEY]);
    const conn = await listener.accept({ timeout: 30_000 });
    try {
      await session(conn, py, peer);
      expect(await peer.line('DONE')).toBe(String(VALUES.length));
    } finally {
      conn.close();
      await peer.proc;
    }
  });

  it('our connect(…, { codec: xmlCodec() }) → XmlListener', async () => {
    const peer = startPeer(py, ['server', KEY]);
    const port = Number(await peer.line('READY'));
    const conn = await connect(['127.0.0.1', port], { authkey: KEY, codec: xmlCodec(), timeout: 30_000 });
    try {
      await session(conn, py, peer);
      expect(await peer.line('DONE')).toBe(String(VALUES.length));
    } finally {
      conn.close();
      await peer.proc;
    }
  });
});

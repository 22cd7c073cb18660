/**
 * Live CPython as the attacker: wrong keys, a pickle sent before authenticating, and pickles that
 * would run `touch <marker>` if unpickled by Python, sent to an mpwire Listener and to the
 * TypeScript manager server. Nothing runs on the Node side, nothing is polluted, and the manager
 * echoes the value back as the same inert reduction (which is why SECURITY.md warns against
 * forwarding decoded values to Python).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PythonInfo, findPythons } from '../../src/bridge/find-pythons.js';
import { listen, pickleCodec } from '../../src/index.js';
import { serveManager } from '../../src/managers/index.js';
import { PyGlobal, PyObject } from '../../src/pickle/index.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'attacker.py');
const KEY = 'hostile-interop-key';
const dir = mkdtempSync(join(tmpdir(), 'mpwire-hostile-'));
const MARKER = join(dir, 'marker');
let pythons: PythonInfo[] = [];

beforeAll(async () => {
  pythons = (await findPythons()).filter((p) => (p.versionTuple[0] ?? 0) >= 3 && ((p.versionTuple[0] ?? 0) > 3 || (p.versionTuple[1] ?? 0) >= 6));
  console.log(`[hostile] attacking with CPython ${pythons.map((p) => p.version).join(', ')}`);
});
afterAll(() => {
  expect(existsSync(MARKER)).toBe(false);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  rmSync(dir, { recursive: true, force: true });
});

async function attack(py: PythonInfo, mode: string, port: number): Promise<Map<string, string>> {
  const r = await execa(py.path, [SCRIPT, mode, '127.0.0.1', String(port), KEY, MARKER], { reject: false, timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(`attacker.py ${mode} failed: ${r.stderr}`);
  return new Map(
    String(r.stdout)
      .split('\n')
      .filter((l) => l.includes(' '))
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as [string, string]),
  );
}

describe('a hostile CPython peer', () => {
  it('has at least one interpreter to run', () => {
    expect(pythons.length).toBeGreaterThan(0);
  });

  it('Listener: wrong keys and pickles before auth are refused; authenticated exploits stay inert', async () => {
    for (const py of pythons) {
      const listener = await listen(['127.0.0.1', 0], { authkey: KEY, codec: pickleCodec() });
      const port = (listener.address as [string, number])[1];
      try {
        const refused = listener.accept().catch((e: unknown) => e);
        const wrong = await attack(py, 'wrong-key', port);
        expect(wrong.get('REFUSED')).toBe('AuthenticationError');
        expect(await refused).toBeInstanceOf(Error);

        const early = listener.accept().catch((e: unknown) => e);
        const before = await attack(py, 'pickle-before-auth', port);
        expect(before.get('CHALLENGE')).toBe('True');
        expect(before.get('FAILURE')).toBe('True');
        expect(before.get('FRAMES')).toBe('2');
        expect(await early).toBeInstanceOf(Error);

        const served = (async () => {
          const conn = await listener.accept();
          const exploit = await conn.recv();
          const dict = (await conn.recv()) as Record<string, unknown>;
          await conn.send('ok');
          return { exploit, dict, conn };
        })();
        const out = await attack(py, 'listener-exploit', port);
        const { exploit, dict, conn } = await served;
        conn.close();
        expect(out.get('REPLY')).toBe('ok');
        expect(exploit).toBeInstanceOf(PyObject);
        expect((exploit as PyObject).callable).toBeInstanceOf(PyGlobal);
        expect(String((exploit as PyObject).callable)).toMatch(/^(posix|nt)\.system$/);
        expect(Object.getPrototypeOf(dict)).toBe(Object.prototype);
        expect(Object.hasOwn(dict, '__proto__')).toBe(true);
        expect(dict['polluted']).toBeUndefined();
        expect(out.get('MARKER')).toBe('False');
      } finally {
        await listener.close();
      }
    }
  });

  it('manager server: the exploit is stored and echoed as an inert reduction, never run', async () => {
    for (const py of pythons) {
      const server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY });
      const port = (server.address as [string, number])[1];
      try {
        const wrong = await attack(py, 'wrong-key', port);
        expect(wrong.get('REFUSED')).toBe('AuthenticationError');
        const out = await attack(py, 'manager-exploit', port);
        expect(out.get('CHANNEL')).toBe('#RETURN');
        expect(out.get('SET')).toBe('#RETURN');
        expect(out.get('SETPROTO')).toBe('#RETURN');
        expect(out.get('ECHOED')).toMatch(/(posix|nt)\.system/);
        expect(out.get('MARKER')).toBe('False');
        expect(server.numberOfObjects).toBe(1);
      } finally {
        await server.close();
      }
    }
  });
});

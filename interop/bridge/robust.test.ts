/**
 * The bridge helper against hostile input, on Python 2.7 and the newest 3.x found: exceptions whose
 * repr/str raise, malformed requests and replies, deep JS -> Python -> JS nesting, and Python 2
 * byte strings with non-ASCII bytes.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type PythonChild, spawnPython } from '../../src/bridge/index.js';
import { RemoteError } from '../../src/errors.js';
import { interpreters, label } from '../harness.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'robust.py');
const found = await interpreters();
const chosen = [found.find((p) => p.versionTuple[0] === 2), found.filter((p) => p.versionTuple[0] === 3).pop()].filter((p) => p !== undefined);

/** The next raw reply on the connection, or 'no reply' (only a broken helper takes that long). */
async function reply(child: PythonChild): Promise<unknown> {
  return (await child.conn.poll(2)) ? child.conn.recv() : 'no reply';
}

describe.each(chosen.map((py) => [label(py), py] as const))('mpwire_child robustness on %s', (_name, py) => {
  it('an exception or argument whose repr raises, and malformed messages, get error replies; serve() survives', async () => {
    const child = await spawnPython([WORKER], { python: py.path });
    try {
      const send = async (msg: unknown[]): Promise<unknown> => {
        await child.conn.send(msg);
        return reply(child);
      };
      expect(await send(['call', 1, 'evil', [], {}])).toMatchObject(['err', 1, { type: 'Evil', message: '<unprintable Evil>' }]);
      expect(await send(['call', 2, 'badarg', [], {}])).toMatchObject(['err', 2, { type: 'ValueError' }]);
      expect(await send(['call', 3, ['x'], [], {}])).toMatchObject(['err', 3, { type: 'TypeError' }]);
      // The same TypeError on 2.7 as on 3.x (2.7 used to raise AttributeError).
      expect(await send(['call', 4, 'ok', [], [1]])).toMatchObject(['err', 4, { type: 'TypeError', message: 'argument after ** must be a mapping, not list' }]);
      expect(await send(['call', 5, 'nonascii', [], {}])).toMatchObject(['err', 5, { type: 'ValueError', message: 'café' }]);
      // A reply with an unhashable id is dropped (and logged); the next request is still served.
      await child.conn.send(['ok', [1], 2]);
      expect(await send(['call', 6, 'ok', [], {}])).toEqual(['ok', 6, 1]);
      // stderr is another pipe: give its data a moment to arrive.
      for (let i = 0; i < 100 && !child.stderrTail().includes('dropped a reply'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(child.stderrTail()).toContain('dropped a reply with an invalid id');
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('JS -> Python -> JS nesting 32 levels deep (17 in Python) does not deadlock', async () => {
    const child = await spawnPython([WORKER], { python: py.path });
    try {
      child.handle({ js: (n: number) => (n === 0 ? 0 : child.call<number>('py', n - 1).then((x) => x + 1)) });
      expect(await child.callWith('py', [32], { timeout: 2500 })).toBe(32);
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('a non-ASCII str sent to Node is answered (Python 2 byte str decoded as latin-1)', async () => {
    const logged: unknown[] = [];
    const child = await spawnPython([WORKER], { python: py.path, handlers: { log: (s: unknown) => (logged.push(s), 'logged') } });
    try {
      expect(await child.callWith('talk', [], { timeout: 2000 })).toBe('logged');
      // Python 2: the UTF-8 bytes, one latin-1 char each (Buffer.from(s, 'latin1') gives them back).
      expect(logged).toEqual([py.versionTuple[0] === 2 ? Buffer.from('café').toString('latin1') : 'café']);
      expect(await child.call('ok')).toBe(1);
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('a remote error stays a RemoteError', async () => {
    const child = await spawnPython([WORKER], { python: py.path });
    try {
      await expect(child.call('evil')).rejects.toBeInstanceOf(RemoteError);
    } finally {
      await child.kill('SIGKILL');
    }
  });
});

/**
 * API.md: "every call that can wait takes `{ signal, … }`". `listen` (which may look a host name
 * up) and `serveManager` take a `signal` for their start: aborting it rejects with `AbortError` and
 * leaves nothing bound, no socket file and no temporary directory.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortError } from '../../src/errors.js';
import { listen } from '../../src/index.js';
import { serveManager } from '../../src/managers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'mpwire-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A TCP port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether we can bind `port` on 127.0.0.1 ourselves (so nobody else holds it). */
async function bindable(port: number): Promise<boolean> {
  const server = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise<void>((resolve) => server.close(() => resolve()));
  return ok;
}

const settle = (ms = 200): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('listen({ signal })', () => {
  it('an already-aborted signal rejects with AbortError and binds nothing', async () => {
    const path = join(dir, 'aborted.sock');
    const reason = new Error('shutting down');
    const e = (await listen(path, { signal: AbortSignal.abort(reason) }).catch((x: unknown) => x)) as AbortError;
    expect(e).toBeInstanceOf(AbortError);
    expect(e.cause).toBe(reason);
    expect(existsSync(path)).toBe(false);
  });

  it('an abort while the host name is looked up leaves the port free', async () => {
    const port = await freePort();
    const ac = new AbortController();
    const pending = listen(['localhost', port], { signal: ac.signal });
    ac.abort();
    expect(await pending.catch((x: unknown) => x)).toBeInstanceOf(AbortError);
    await settle(); // the lookup finishes meanwhile: its result must not be bound
    expect(await bindable(port)).toBe(true);
  });

  it('an abort while binding a Unix socket leaves no file and no generated directory', async () => {
    const path = join(dir, 'binding.sock');
    const ac = new AbortController();
    const pending = listen(path, { signal: ac.signal });
    ac.abort();
    expect(await pending.catch((x: unknown) => x)).toBeInstanceOf(AbortError);
    await settle();
    expect(existsSync(path)).toBe(false);

    // A generated address is a fresh directory under the temporary directory: point that at an
    // empty one of our own (other test files make directories in the shared one meanwhile).
    const saved = process.env.TMPDIR;
    const own = mkdtempSync(join(dir, 'tmp-'));
    process.env.TMPDIR = own;
    try {
      expect(tmpdir()).toBe(own);
      const ac2 = new AbortController();
      const generated = listen(null, { signal: ac2.signal });
      ac2.abort();
      expect(await generated.catch((x: unknown) => x)).toBeInstanceOf(AbortError);
      await settle();
      expect(readdirSync(own)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('a signal that is never aborted changes nothing, and aborting it later leaves the listener open', async () => {
    const ac = new AbortController();
    const listener = await listen(['127.0.0.1', 0], { signal: ac.signal });
    ac.abort();
    expect(listener.closed).toBe(false);
    const port = (listener.address as [string, number])[1];
    expect(await bindable(port)).toBe(false);
    await listener.close();
  });
});

describe('serveManager({ signal })', () => {
  it('an already-aborted signal rejects with AbortError and binds nothing', async () => {
    const path = join(dir, 'manager-aborted.sock');
    const e = await serveManager({ address: path, authkey: 'k', signal: AbortSignal.abort() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
    expect(existsSync(path)).toBe(false);
  });

  it('an abort during the start leaves the port free', async () => {
    const port = await freePort();
    const ac = new AbortController();
    const pending = serveManager({ address: ['localhost', port], authkey: 'k', signal: ac.signal });
    ac.abort();
    expect(await pending.catch((x: unknown) => x)).toBeInstanceOf(AbortError);
    await settle();
    expect(await bindable(port)).toBe(true);
  });

  it('a registry entry refused after binding leaves nothing bound either', async () => {
    const path = join(dir, 'manager-bad-registry.sock');
    const bad = { callable: 5 } as unknown as { callable: null };
    const e = await serveManager({ address: path, authkey: 'k', registry: { get_x: bad } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect(existsSync(path)).toBe(false);
  });

  it('serves normally with a signal that is aborted after the start', async () => {
    const ac = new AbortController();
    const server = await serveManager({ address: ['127.0.0.1', 0], authkey: 'k', signal: ac.signal });
    ac.abort();
    expect(await bindable((server.address as [string, number])[1])).toBe(false);
    await server.close();
  });
});

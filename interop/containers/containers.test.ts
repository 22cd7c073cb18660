/**
 * Interop with the Python peer inside a container: the same wire scenarios as the local suite
 * (`../scenarios.ts`) plus pickle round trips and managers (TS client ↔ Python SyncManager server,
 * Python SyncManager client ↔ TS serveManager; `manager_peer.py`), against an image of every pyenv/cache interpreter
 * that `findPythons()` finds and one of Debian's own python3, built locally with no registry
 * (`docker/`). Python Listeners run in a bridge-network container and are reached through a
 * published port; Python Clients run in a host-network container and reach the TS Listener on
 * 127.0.0.1; Unix sockets live in a host directory bind-mounted at the same path. The engine is
 * started here (docker/engine-up.sh) when none answers and we are root, and stopped again after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StartedTestContainer } from 'testcontainers';
import { EOFError, connect, listen, type Address, type Connection } from '../../src/index.js';
import { pickleCodec, tuple } from '../../src/pickle/index.js';
import { connectManager, serveManager } from '../../src/managers/index.js';
import { Matrix, PEERS, type Peer, interpreters, startCommand } from '../harness.js';
import { KEY, wireScenarios } from '../scenarios.js';
import { type Engine, type Image, SUITE_LABELS, ensureEngine, ensureImages, imageTargets, removeStaleContainers, stopEngine } from './engine.js';

// No reaper (its image cannot be pulled here): every container is stopped in afterAll.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The port a Python Listener binds inside the bridge container (published to a random host port). */
const PEER_PORT = 50007;
const KEEPALIVE =
  "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); sys.stdout.write('ALIVE\\n'); sys.stdout.flush(); time.sleep(1800)";

const t0 = performance.now();
const pythons = await interpreters();
/** MPWIRE_CONTAINERS=0 turns the suite off (e.g. for a second CI pass on another Node version). */
const disabled = process.env.MPWIRE_CONTAINERS === '0';
const engine: Engine = disabled
  ? { available: false, reason: 'disabled by MPWIRE_CONTAINERS=0', startedHere: false, log: '', seconds: 0 }
  : await ensureEngine();
const images: Image[] = engine.available ? imageTargets(pythons) : [];
const tEngine = performance.now();
if (engine.available) await Promise.all([ensureImages(images), removeStaleContainers()]);
const tImages = performance.now();
const shared = mkdtempSync(join(tmpdir(), 'mpwire-ct-'));
const matrix = new Matrix('container interop (wire + pickle + managers), peer in Docker');
let socketCount = 0;

afterAll(async () => {
  const ran = images.filter((i) => i.py).map((i) => ({ ...(i.py as NonNullable<Image['py']>), version: i.row }));
  console.log(matrix.report(ran));
  const secs = (a: number, b: number) => `${((b - a) / 1000).toFixed(1)} s`;
  console.log(
    [
      `engine: ${engine.available ? 'available' : `UNAVAILABLE: ${engine.reason}`} (${engine.seconds.toFixed(1)} s)${engine.log ? `\n  ${engine.log.replace(/\n/g, '\n  ')}` : ''}`,
      `images (${images.length}) ready in ${secs(tEngine, tImages)}:`,
      ...images.map((i) => `  ${i.tag.padEnd(20)} ${i.ok ? 'ok  ' : 'FAIL'} ${i.seconds.toFixed(1).padStart(5)} s  ${i.log.split('\n').pop() ?? ''}`),
      `suite total ${secs(t0, performance.now())}`,
    ].join('\n'),
  );
  rmSync(shared, { recursive: true, force: true });
  if (engine.available) console.log(await stopEngine(engine));
}, 120_000);

if (!engine.available) {
  it(`Docker engine unavailable: ${engine.reason}`, (ctx) => {
    matrix.set('(no Docker engine)', 'engine', 'FAIL');
    console.warn(`container interop NOT RUN: ${engine.reason}\n${engine.log}`);
    // On CI (root) the engine must start: fail there; elsewhere report the reason as a skip.
    if (!disabled && (process.env.CI === 'true' || process.env.MPWIRE_REQUIRE_DOCKER === '1')) throw new Error(`Docker engine unavailable: ${engine.reason}`);
    ctx.skip(`Docker engine unavailable: ${engine.reason}`);
  });
}

/**
 * Make sure an in-container peer is gone: unless `docker exec` ended by itself (the process inside
 * exited) within 3 s, kill the process inside by the pid container_peer.py printed, then `docker exec`.
 */
async function stopPeer(peer: Peer, box: StartedTestContainer): Promise<void> {
  const ended = await Promise.race([peer.proc, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3_000))]);
  if (ended !== undefined && !ended.isTerminated) return;
  const pid = /^MPWIRE_PEER_PID (\d+)$/m.exec(peer.stderr())?.[1];
  if (pid !== undefined) {
    await execa('docker', ['exec', box.getId(), 'python', '-c', `import os; os.kill(${Number(pid)}, 9)`], { reject: false, timeout: 15_000 });
  }
  peer.proc.kill();
}

describe.each(images.map((i) => [i.tag, i] as const))('container %s', (_tag, image) => {
  let hostBox: StartedTestContainer | undefined;
  let bridgeBox: StartedTestContainer | undefined;

  beforeAll(async () => {
    if (!image.ok) return;
    const { GenericContainer, Wait } = await import('testcontainers');
    const base = () =>
      new GenericContainer(image.tag)
        .withCommand(['python', '-c', KEEPALIVE])
        .withBindMounts([
          { source: PEERS, target: '/mpwire/peers', mode: 'ro' },
          { source: HERE, target: '/mpwire/containers', mode: 'ro' },
          { source: shared, target: shared, mode: 'rw' },
        ])
        .withLabels(SUITE_LABELS)
        .withWaitStrategy(Wait.forLogMessage('ALIVE'))
        .withStartupTimeout(30_000);
    const started = await Promise.allSettled([base().withNetworkMode('host').start(), base().withExposedPorts(PEER_PORT).start()]);
    hostBox = started[0].status === 'fulfilled' ? started[0].value : undefined;
    bridgeBox = started[1].status === 'fulfilled' ? started[1].value : undefined;
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([hostBox?.stop({ timeout: 0 }), bridgeBox?.stop({ timeout: 0 })]);
  }, 60_000);

  /** The in-container peers the current test started. */
  const running: Array<{ peer: Peer; box: StartedTestContainer }> = [];
  // A scenario that failed leaves its peer running, e.g. a Listener holding PEER_PORT, which the
  // next scenario's Listener needs: stop every peer after each test.
  afterEach(async () => {
    await Promise.all(running.splice(0).map(({ peer, box }) => stopPeer(peer, box)));
  }, 60_000);

  /** Run an in-container script (path inside the container) through container_peer.py. */
  const exec = (box: StartedTestContainer | undefined, script: string, args: string[]): Peer => {
    if (!box) throw new Error(`container of ${image.tag} not started`);
    const env = ['-e', 'PYTHONUNBUFFERED=1', '-e', 'PYTHONDONTWRITEBYTECODE=1', '-e', `MPWIRE_PEER_PORT=${PEER_PORT}`];
    const peer = startCommand('docker', ['exec', ...env, box.getId(), 'python', '/mpwire/containers/container_peer.py', script, ...args]);
    running.push({ peer, box });
    return peer;
  };
  const reach = (address: Address): Address => {
    if (typeof address === 'string') return address;
    if (!bridgeBox) throw new Error(`container of ${image.tag} not started`);
    return ['127.0.0.1', bridgeBox.getMappedPort(PEER_PORT)];
  };

  it('image builds and runs python', () =>
    matrix.record(image.row, 'image', async () => {
      if (!image.ok) throw new Error(`image ${image.tag} unusable:\n${image.log}`);
    }));

  const py = image.py;
  if (!py) return;

  wireScenarios(image.row, py, matrix, {
    client: (args) => exec(hostBox, '/mpwire/peers/peer.py', args),
    server: (args) => exec(bridgeBox, '/mpwire/peers/peer.py', args),
    socketPath: (name) => join(shared, `${++socketCount}-${name}`),
    reach,
  });

  // Python conn.send(obj) at its default protocol -> TS pickleCodec (exact) recv -> send back -> Python compares
  const FROM_TS = { text: 'h\u00e9llo \u2603', big: 2n ** 70n, f: 1.5, list: [1, 'two', null, true], bytes: Buffer.from([0, 1, 255]), tuple: tuple(1, 2) };
  async function echoPickles(conn: Connection, peer: Peer): Promise<void> {
    try {
      let n = 0;
      for (;;) {
        const v = await conn.recv({ timeout: 30_000 });
        if (v === '__end__') break;
        await conn.send(v);
        n++;
      }
      await conn.send(FROM_TS);
      expect(await peer.line('OK')).toBe(`roundtrip ${n}`);
      await expect(conn.recv({ timeout: 30_000 })).rejects.toBeInstanceOf(EOFError);
      conn.close();
    } catch (e) {
      conn.destroy?.();
      await Promise.race([peer.proc, new Promise((r) => setTimeout(r, 5_000))]);
      throw new Error(`${String(e)}\npeer said: ${peer.lines.join(' | ')}\n${peer.stderr().slice(-2000)}`, { cause: e });
    }
  }
  const codec = () => pickleCodec({ exact: true, encoding: 'bytes' });

  it('pickle: python Client send() -> TS Listener pickleCodec -> back', () =>
    matrix.record(image.row, 'pickle py Client↔TS Listener', async () => {
      await using listener = await listen(['127.0.0.1', 0], { authkey: KEY, codec: codec() });
      const peer = exec(hostBox, '/mpwire/containers/pickle_peer.py', ['client', JSON.stringify(listener.address), KEY]);
      await echoPickles(await listener.accept({ timeout: 30_000 }), peer);
    }));

  it('pickle: TS connect pickleCodec -> python Listener send() -> back', () =>
    matrix.record(image.row, 'pickle TS connect↔py Listener', async () => {
      const peer = exec(bridgeBox, '/mpwire/containers/pickle_peer.py', ['server', KEY]);
      const addr = reach(JSON.parse(await peer.line('READY')) as Address);
      await echoPickles(await connect(addr, { authkey: KEY, codec: codec(), timeout: 30_000 }), peer);
    }));

  /** Print the peer's output along with an error (afterEach makes sure the peer is gone). */
  async function withPeer(peer: Peer, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      throw new Error(`${String(e)}\npeer said: ${peer.lines.join(' | ')}\n${peer.stderr().slice(-2000)}`, { cause: e });
    }
  }

  it('managers: TS connectManager -> python SyncManager server (dict, Queue)', () =>
    matrix.record(image.row, 'mgr TS client↔py SyncManager', async () => {
      const peer = exec(bridgeBox, '/mpwire/containers/manager_peer.py', ['server', KEY]);
      await withPeer(peer, async () => {
        await peer.line('READY');
        const m = await connectManager(reach(['127.0.0.1', 0]), { authkey: KEY, timeout: 30_000 });
        try {
          const d = await m.dict<string, unknown>();
          await d.set('k', 'v');
          await d.set('n', 2 ** 40);
          expect(await d.get('k')).toBe('v');
          expect(await d.get('n')).toBe(2 ** 40);
          expect(await d.get('missing', 7)).toBe(7);
          expect(await d.size()).toBe(2);
          const q = await m.Queue<unknown>();
          await q.put({ x: [1, 2.5] });
          await q.put('two');
          expect(await q.get({ timeout: 5_000 })).toEqual({ x: [1, 2.5] });
          expect(await q.get({ timeout: 5_000 })).toBe('two');
          expect(await m.numberOfObjects()).toBe(2);
          await d.release();
          await q.release();
          expect(await m.numberOfObjects()).toBe(0);
          await m.shutdown();
        } finally {
          await m.close();
        }
      });
    }));

  it('managers: python SyncManager client -> TS serveManager (dict, Queue, Namespace)', () =>
    matrix.record(image.row, 'mgr py client↔TS serveManager', async () => {
      await using server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY });
      const port = (server.address as [string, number])[1];
      const peer = exec(hostBox, '/mpwire/containers/manager_peer.py', ['client', '127.0.0.1', String(port), KEY]);
      await withPeer(peer, async () => {
        expect(await peer.line('OK')).toBe('3');
        await peer.proc;
        expect(server.numberOfObjects).toBe(0);
      });
    }));
});

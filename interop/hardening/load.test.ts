/**
 * Issue #9, Load (bounded-time versions; the full-size runs are `bench/soak/*.mjs`):
 * - 1,000 concurrent authenticated connections to one TS Listener, 950 from TS and 50 from CPython
 *   (two processes, a thread per connection), 100 pickled messages each way on each: all
 *   delivered, in order per connection; peak RSS reported; no descriptor left after close.
 * - A TS manager server and a CPython manager server, each under 16 concurrent clients (8 TS
 *   `ManagerClient`s + 8 CPython threads) for a few seconds: every operation logged exactly once,
 *   in order, and the counters agree.
 * One interpreter: the newest CPython 3.x found.
 */
import { describe, expect, it } from 'vitest';
import { type Connection, connect, listen } from '../../src/index.js';
import { DictProxy, ListProxy, type ManagerClient, PyDict, PyList, type ProxyClass, connectManager, serveManager } from '../../src/managers/index.js';
import { type Peer, label, startPeer } from '../harness.js';
import { KEY, describeError, fdCount, lines, peakRssMiB, python3s, settleFds } from './helpers.js';

const py = (await python3s()).at(-1);

const CONNECTIONS = 1000;
const PY_PROCESSES = 2;
const PY_PER_PROCESS = 25;
const TS_CONNECTIONS = CONNECTIONS - PY_PROCESSES * PY_PER_PROCESS;
const MESSAGES = 100;
const PAD = 64;
/** First connection id used by the Python clients (TS ones are 0 … TS_CONNECTIONS-1). */
const PY_FIRST_ID = 100_000;
const SOAK_SECONDS = Number(process.env.MPWIRE_SOAK_SECONDS ?? 3);

function shared(m: ManagerClient): Promise<[DictProxy<string, number>, ListProxy<unknown>]> {
  return Promise.all([
    m.create('get_counters', [], undefined, { proxyType: DictProxy as ProxyClass<DictProxy<string, number>> }),
    m.create('get_log', [], undefined, { proxyType: ListProxy as ProxyClass<ListProxy<unknown>> }),
  ]);
}

interface Message {
  c: number;
  i: number;
  pad: string;
}

describe.runIf(py)(`load (CPython ${py ? label(py) : 'none'})`, () => {
  it(`${CONNECTIONS} concurrent authenticated connections × ${MESSAGES} pickled messages`, { timeout: 110_000 }, async () => {
    const fdBefore = fdCount();
    const listener = await listen(['127.0.0.1', 0], { authkey: KEY, backlog: 2048 });
    const [host, port] = listener.address as [string, number];
    let open = 0;
    let maxOpen = 0;
    let accepted = 0;
    let echoed = 0;
    const errors: string[] = [];
    const next = new Map<number, number>();
    let allAccepted: () => void = () => undefined;
    const everyoneIn = new Promise<void>((r) => (allAccepted = r));
    const serving: Array<Promise<void>> = [];

    async function serve(conn: Connection): Promise<void> {
      try {
        for await (const m of conn) {
          const { c, i } = m as Message;
          const expected = next.get(c) ?? 0;
          if (i !== expected) errors.push(`connection ${c}: message ${i} arrived when ${expected} was due`);
          next.set(c, expected + 1);
          await conn.send(m);
          echoed++;
        }
      } catch (e) {
        errors.push(`server side: ${describeError(e)}`);
      } finally {
        conn.close();
        open--;
      }
    }
    const acceptLoop = (async () => {
      for await (const conn of listener) {
        open++;
        accepted++;
        maxOpen = Math.max(maxOpen, open);
        if (accepted === CONNECTIONS) allAccepted();
        serving.push(serve(conn));
      }
    })();

    const peers: Peer[] = [];
    for (let p = 0; p < PY_PROCESSES; p++) {
      const first = PY_FIRST_ID + p * PY_PER_PROCESS;
      peers.push(startPeer(py!, 'load_peer.py', ['clients', host, String(port), KEY, String(first), String(PY_PER_PROCESS), String(MESSAGES), String(PAD)]));
    }
    const started = Date.now();
    const clients = await Promise.all(Array.from({ length: TS_CONNECTIONS }, () => connect([host, port], { authkey: KEY, timeout: 60_000 })));
    for (const peer of peers) expect(await peer.line('CONNECTED')).toBe(String(PY_PER_PROCESS));
    await everyoneIn;
    const connectedMs = Date.now() - started;
    const fdPeak = fdCount();
    expect(maxOpen).toBe(CONNECTIONS);

    for (const peer of peers) peer.proc.stdin?.write('GO\n');
    const pad = 'x'.repeat(PAD);
    await Promise.all(
      clients.map(async (conn, c) => {
        for (let i = 0; i < MESSAGES; i++) {
          const m: Message = { c, i, pad };
          await conn.send(m);
          const back = await conn.recv({ timeout: 60_000 });
          if (JSON.stringify(back) !== JSON.stringify(m)) errors.push(`connection ${c}: echo ${JSON.stringify(back)}`);
        }
        conn.close();
      }),
    );
    for (const peer of peers) expect(await peer.line('OK')).toBe(String(PY_PER_PROCESS * MESSAGES));
    const totalMs = Date.now() - started;
    await Promise.all(peers.map((p) => p.proc));
    await Promise.all(serving);
    await listener.close();
    await acceptLoop;

    expect(errors).toEqual([]);
    expect(accepted).toBe(CONNECTIONS);
    expect(echoed).toBe(CONNECTIONS * MESSAGES);
    expect(next.size).toBe(CONNECTIONS);
    for (const [c, n] of next) expect(n, `connection ${c}`).toBe(MESSAGES);
    const fdAfter = await settleFds(fdBefore);
    const rss = peakRssMiB();
    console.log(
      `load: ${CONNECTIONS} connections (${TS_CONNECTIONS} TS + ${PY_PROCESSES * PY_PER_PROCESS} CPython ${py!.version}) × ${MESSAGES} messages: ` +
        `all connected in ${connectedMs} ms, done in ${totalMs} ms; peak RSS ${rss} MiB; fds before ${fdBefore}, peak ${fdPeak}, after ${fdAfter}`,
    );
    expect(fdPeak).toBeGreaterThan(fdBefore + CONNECTIONS);
    expect(fdAfter).toBeLessThanOrEqual(fdBefore);
    // Bounded: far below what buffering every message of every connection would cost… and finite.
    expect(rss).toBeLessThan(2048);
  });

  /**
   * 8 TS clients and 8 CPython client threads against one server for SOAK_SECONDS: client c's
   * k-th operation appends [c, k] to the shared log and then sets counters[c] = k + 1.
   */
  async function soak(port: number): Promise<{ ops: number; perSecond: number; split: string }> {
    const pyClients = startPeer(py!, 'load_peer.py', ['manager-clients', '127.0.0.1', String(port), KEY, '100', '8', String(SOAK_SECONDS)]);
    const deadline = Date.now() + SOAK_SECONDS * 1000;
    const started = Date.now();
    const tsOps = await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        await using m = await connectManager(['127.0.0.1', port], { authkey: KEY });
        const [counters, log] = await shared(m);
        let n = 0;
        while (Date.now() < deadline) {
          await log.append([c, n]);
          await counters.set(String(c), n + 1);
          n++;
        }
        return n;
      }),
    );
    await lines(pyClients, 'DONE', 1, 60_000);
    const seconds = (Date.now() - started) / 1000;
    expect(pyClients.lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    const done = new Map<number, number>(tsOps.map((n, c) => [c, n]));
    for (const l of pyClients.lines.filter((x) => x.startsWith('OPS '))) {
      const [, c, n] = l.split(' ');
      done.set(Number(c), Number(n));
    }
    expect(done.size).toBe(16);

    await using m = await connectManager(['127.0.0.1', port], { authkey: KEY });
    const [counters, log] = await shared(m);
    const entries = (await log.getValue()) as Array<[number, number]>;
    const seen = new Map<number, number>();
    for (const [c, k] of entries) {
      const expected = seen.get(c) ?? 0;
      expect(k, `client ${c}: operation ${k} logged when ${expected} was due (lost or duplicated)`).toBe(expected);
      seen.set(c, expected + 1);
    }
    let total = 0;
    for (const [c, n] of done) {
      expect(n, `client ${c} did nothing`).toBeGreaterThan(0);
      expect(seen.get(c) ?? 0, `client ${c}: log entries vs operations`).toBe(n);
      expect(await counters.get(String(c)), `client ${c}: counter`).toBe(n);
      total += n;
    }
    expect(entries.length).toBe(total);
    const tsTotal = tsOps.reduce((a, b) => a + b, 0);
    return { ops: total, perSecond: Math.round(total / seconds), split: `TS clients ${tsTotal}, CPython clients ${total - tsTotal}` };
  }

  it(`a TS manager server under 16 concurrent clients for ${SOAK_SECONDS} s loses and duplicates nothing`, { timeout: 90_000 }, async () => {
    const log = new PyList();
    const counters = new PyDict();
    await using server = await serveManager({
      address: ['127.0.0.1', 0],
      authkey: KEY,
      registry: { get_counters: () => counters, get_log: () => log },
    });
    const r = await soak((server.address as [string, number])[1]);
    console.log(`manager soak, TS server (in this process, with the TS clients): 16 clients × ${SOAK_SECONDS} s: ${r.ops} operations (${r.split}), ${r.perSecond} ops/s`);
  });

  it(`a CPython manager server under 16 concurrent clients for ${SOAK_SECONDS} s loses and duplicates nothing`, { timeout: 90_000 }, async () => {
    const server = startPeer(py!, 'load_peer.py', ['manager-server', KEY]);
    try {
      const r = await soak(Number(await server.line('READY')));
      console.log(`manager soak, CPython ${py!.version} server: 16 clients × ${SOAK_SECONDS} s: ${r.ops} operations (${r.split}), ${r.perSecond} ops/s`);
    } finally {
      server.proc.kill();
      await server.proc;
    }
  });
});

it('found a CPython 3.x for the load tests', () => {
  expect(py, 'no CPython 3.x found').toBeDefined();
});

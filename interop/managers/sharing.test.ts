/**
 * 4 Python client processes + Node share one Queue and one dict served by one manager: 10,000
 * unique items are produced (half by Node, half by the Python workers), every item is consumed
 * exactly once (Node runs two consumers on its connection pool), with none lost or duplicated.
 * The workers run on four different interpreters when available.
 */
import { describe, expect, it } from 'vitest';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { DictProxy, QueueProxy, connectManager } from '../../src/managers/index.js';
import { atLeast, interpreters, label } from '../harness.js';
import { KEY, startServer, startWorker } from './helpers.js';

const pythons = await interpreters();
const TOTAL = 10_000;
const WORKERS = 4;
const NODE_ITEMS = TOTAL / 2;
const PER_WORKER = (TOTAL - NODE_ITEMS) / WORKERS;

function pick(): { server: PythonInfo; workers: PythonInfo[] } | undefined {
  // Python 3 workers read the server's protocol 4 (3.8–3.13 servers); 2.7 cannot.
  const py3 = pythons.filter((p) => atLeast(p, 3, 6));
  const server = py3.find((p) => p.versionTuple[1] === 12) ?? py3.find((p) => atLeast(p, 3, 8) && !atLeast(p, 3, 14));
  if (!server || py3.length === 0) return undefined;
  const spread = [0, Math.floor(py3.length / 3), Math.floor((2 * py3.length) / 3), py3.length - 1].map((i) => py3[i] as PythonInfo);
  return { server, workers: spread };
}

const chosen = pick();

describe('Node + 4 Python processes share one Queue and one dict', () => {
  it.runIf(chosen !== undefined)(`${TOTAL} items, none lost or duplicated`, async () => {
    const { server, workers } = chosen as { server: PythonInfo; workers: PythonInfo[] };
    console.log(`sharing: server ${label(server)}, workers ${workers.map(label).join(', ')}`);
    const srv = await startServer(server, 'tcp');
    const port = (srv.address as [string, number])[1];
    try {
      const m = await connectManager(srv.address, { authkey: KEY });
      m.register('get_queue', QueueProxy).register('get_dict', DictProxy);
      const q = await m.create<QueueProxy<string | null>>('get_queue');
      const d = await m.create<DictProxy<string, unknown>>('get_dict');
      const t0 = Date.now();
      const peers = workers.slice(0, WORKERS).map((py, i) => startWorker(py, port, `w${i}`, PER_WORKER));
      const nodeConsumed: string[] = [];
      const consume = async (): Promise<void> => {
        for (;;) {
          const item = await q.get();
          if (item === null) return;
          nodeConsumed.push(item);
          await d.set(item, 'node');
        }
      };
      const consumers = [consume(), consume()];
      for (let i = 0; i < NODE_ITEMS; i++) await q.put(`node-${i}`);
      await Promise.all(peers.map((p) => p.line('PRODUCED')));
      // Everything is queued; FIFO puts the stop markers after the last item.
      for (let i = 0; i < WORKERS + consumers.length; i++) await q.put(null);
      await Promise.all(consumers);
      const counts = await Promise.all(peers.map((p) => p.line('DONE').then(Number)));
      await Promise.all(peers.map((p) => p.proc));
      const elapsed = Date.now() - t0;

      const items = new Map(await d.items());
      const expected = new Set<string>();
      for (let i = 0; i < NODE_ITEMS; i++) expected.add(`node-${i}`);
      for (let w = 0; w < WORKERS; w++) for (let i = 0; i < PER_WORKER; i++) expected.add(`w${w}-${i}`);
      const consumedKeys = [...items.keys()].filter((k) => !k.startsWith('count:'));
      expect(consumedKeys.length).toBe(TOTAL);
      expect(new Set(consumedKeys)).toEqual(expected);
      const total = nodeConsumed.length + counts.reduce((a, b) => a + b, 0);
      expect(total).toBe(TOTAL); // any duplicate would make this larger than the key count
      expect(new Set(nodeConsumed).size).toBe(nodeConsumed.length);
      for (let w = 0; w < WORKERS; w++) expect(items.get(`count:w${w}`)).toBe(counts[w]);
      console.log(`sharing: ${TOTAL} items in ${elapsed} ms; consumed by node ${nodeConsumed.length}, workers ${counts.join('/')}`);
      expect(await q.empty()).toBe(true);
      await d.clear();
      await m.close();
      const check = await connectManager(srv.address, { authkey: KEY });
      expect(await check.numberOfObjects()).toBe(0);
      await check.close();
    } finally {
      await srv.stop();
    }
  });
});

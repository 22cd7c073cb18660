/**
 * The Node side of the manager-server interop suite: a server with SyncManager's typeids plus the
 * custom typeids `client.py` registers, and a runner for `client.py` modes.
 */
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { type ManagerServer, PyList, PyLock, PyQueue, PyValue, pyError, serveManager } from '../../src/managers/index.js';
import { type Peer, startPeer } from '../harness.js';

export const KEY = 'node-served';

/** A plain JS class served to Python through `BaseManager.register('get_calc')`. */
export class Calc {
  constructor(readonly base: number) {}
  add(a: number, b: number): number {
    return this.base + a + b;
  }
  greet(name: string, kw?: { greeting?: string }): string {
    return `${kw?.greeting ?? 'hello'} ${name}`;
  }
  missing(key: string): never {
    throw pyError('KeyError', key);
  }
  boom(): never {
    throw new Error('kaboom');
  }
  async later(seconds: number): Promise<string> {
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return 'slept';
  }
  child(n: number): Calc {
    return new Calc(n);
  }
  _secret(): number {
    return 42;
  }
}

export interface Served {
  server: ManagerServer;
  port: number;
  queue: PyQueue;
  jobs: PyQueue;
  results: PyList;
  counter: PyValue;
  lock: PyLock;
}

export async function startServed(): Promise<Served> {
  const queue = new PyQueue();
  const jobs = new PyQueue();
  const results = new PyList();
  const counter = new PyValue(['i', 0]);
  const lock = new PyLock();
  const server = await serveManager({
    address: ['127.0.0.1', 0],
    authkey: KEY,
    registry: {
      get_queue: () => queue,
      get_jobs: () => jobs,
      get_results: () => results,
      get_counter: () => counter,
      get_lock: () => lock,
      get_calc: { callable: (base: number) => new Calc(base), methodToTypeid: { child: 'Calc' } },
      Calc: { callable: null },
    },
  });
  return { server, port: (server.address as [string, number])[1], queue, jobs, results, counter, lock };
}

export function startClient(py: PythonInfo, port: number, mode: string, ...args: string[]): Peer {
  return startPeer(py, '../managers-server/client.py', [mode, '127.0.0.1', String(port), KEY, ...args]);
}

/** Run a mode to the end; returns its stdout lines (throws with stderr if it did not print DONE). */
export async function runClient(py: PythonInfo, port: number, mode: string, ...args: string[]): Promise<string[]> {
  const peer = startClient(py, port, mode, ...args);
  await peer.proc;
  if (!peer.lines.includes('DONE')) throw new Error(`client.py ${mode} did not finish: ${peer.lines.join(' | ')}\n${peer.stderr().slice(-3000)}`);
  return peer.lines;
}

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

/** The suite's server, on TCP loopback or (given a path) a Unix socket. */
export async function startServed(unixPath?: string): Promise<Served> {
  const queue = new PyQueue();
  const jobs = new PyQueue();
  const results = new PyList();
  const counter = new PyValue(['i', 0]);
  const lock = new PyLock();
  const server = await serveManager({
    address: unixPath ?? ['127.0.0.1', 0],
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
  const port = typeof server.address === 'string' ? 0 : (server.address as [string, number])[1];
  return { server, port, queue, jobs, results, counter, lock };
}

/** `client.py MODE` against the server on `port`, or on the Unix socket `unixPath` when given. */
export function startClient(py: PythonInfo, port: number, mode: string, ...args: string[]): Peer {
  return startPeer(py, '../managers-server/client.py', [mode, '127.0.0.1', String(port), KEY, ...args]);
}

function unixArgs(port: number, args: string[]): { host: string; where: string; rest: string[] } {
  return port === 0 && args[0] ? { host: 'unix', where: args[0], rest: args.slice(1) } : { host: '127.0.0.1', where: String(port), rest: args };
}

/** Run a mode to the end; returns its stdout lines (throws with stderr if it did not print DONE). */
export async function runClient(py: PythonInfo, port: number, mode: string, ...args: string[]): Promise<string[]> {
  // Port 0 with a first argument: that argument is the server's Unix socket path.
  const { host, where, rest } = unixArgs(port, args);
  const peer = startPeer(py, '../managers-server/client.py', [mode, host, where, KEY, ...rest]);
  await peer.proc;
  if (!peer.lines.includes('DONE')) throw new Error(`client.py ${mode} did not finish: ${peer.lines.join(' | ')}\n${peer.stderr().slice(-3000)}`);
  return peer.lines;
}

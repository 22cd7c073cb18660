/**
 * Helpers of the managers interop suite: start `server.py` / `worker.py` on an interpreter.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import type { Address } from '../../src/index.js';
import { type Peer, startPeer } from '../harness.js';

export const KEY = 'mgr-secret';

export interface ServerPeer {
  peer: Peer;
  address: Address;
  stop(): Promise<void>;
}

let seq = 0;

/** Start `server.py` over TCP (`'tcp'`) or a Unix socket (`'unix'`) and wait for READY. */
export async function startServer(
  py: PythonInfo,
  family: 'tcp' | 'unix',
  serializer: 'pickle' | 'xmlrpclib' = 'pickle',
  flags: string[] = [],
): Promise<ServerPeer> {
  const where = family === 'tcp' ? '0' : join(tmpdir(), `mpwire-mgr-${process.pid}-${++seq}.sock`);
  const peer = startPeer(py, '../managers/server.py', [family, where, KEY, serializer, ...flags]);
  const ready = await peer.line('READY');
  const parts = ready.split(' ');
  const address: Address = family === 'tcp' ? [parts[0] as string, Number(parts[1])] : (parts[0] as string);
  return {
    peer,
    address,
    async stop() {
      peer.proc.kill();
      await peer.proc;
    },
  };
}

/** Start `worker.py` (see the script for its protocol). */
export function startWorker(py: PythonInfo, port: number, who: string, produce: number): Peer {
  return startPeer(py, '../managers/worker.py', [String(port), KEY, who, String(produce)]);
}

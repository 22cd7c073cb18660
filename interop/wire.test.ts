/**
 * Cross-version interop of the wire layer: framing and every authentication dialect against live
 * CPython Listener/Client of every interpreter found on the machine. The scenarios live in
 * `scenarios.ts` (the container suite runs the same ones with the peer inside Docker).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { listen, pickleCodec } from '../src/index.js';
import { Matrix, interpreters, label, startPeer, tempPath } from './harness.js';
import { KEY, wireScenarios } from './scenarios.js';

const pythons = await interpreters();
const matrix = new Matrix('wire interop');

afterAll(() => {
  console.log(matrix.report(pythons));
  matrix.save('interop/.last-matrix.json', pythons);
});

describe.each(pythons.map((py) => [label(py), py] as const))('CPython %s', (name, py) => {
  wireScenarios(name, py, matrix, {
    client: (args) => startPeer(py, 'peer.py', args),
    server: (args) => startPeer(py, 'peer.py', args),
    socketPath: tempPath,
    reach: (address) => address,
  });

  // Python objects through Connection.send/recv: the TS side decodes with the pickle codec
  // (exact: true so every Python type survives; encoding 'bytes' so that a Python 2 str stays bytes
  // and goes back as a str) and answers in the protocol the peer sent.
  it('pickled objects: python conn.send -> TS recv/send -> python recv, types kept', () =>
    matrix.record(name, 'pickle objects py→TS→py', async () => {
      await using listener = await listen(['127.0.0.1', 0], { authkey: KEY, codec: pickleCodec({ exact: true, encoding: 'bytes' }) });
      const peer = startPeer(py, 'peer.py', ['objects', JSON.stringify(listener.address), KEY]);
      const conn = await listener.accept({ timeout: 30_000 });
      let n = 0;
      for (;;) {
        const v = await conn.recv();
        if (v === 'bye') break;
        await conn.send(v);
        n++;
      }
      expect(await peer.line('OK')).toBe(`objects ${n}`);
      conn.close();
    }));
});

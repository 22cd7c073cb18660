/**
 * Live NumPy round trips on every interpreter that imports numpy (NumPy 1.x and 2.x):
 * Python pickles every dtype/shape of test/pickle/numpy_vectors.py at protocols 2–5 and through
 * Connection.send; Node decodes (checking dtype and shape), re-encodes at protocols 2–5, and
 * Python compares with numpy.array_equal, dtype and shape. Then Node sends TypedArrays and
 * NDArrays it made itself. Without any numpy interpreter the suite fails when CI=true.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnPython } from '../../src/bridge/index.js';
import { DType, NDArray, NDScalar, dis, dumps, loads, pickleCodec, tuple } from '../../src/pickle/index.js';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { interpreters, label } from '../harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PEER = join(HERE, 'peer.py');
const SEND_PEER = join(HERE, 'send_peer.py');
const VECTORS_DIR = join(HERE, '..', '..', 'test', 'pickle');

function numpyVersion(py: PythonInfo): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(py.path, ['-c', 'import numpy; print(numpy.__version__)'], { timeout: 60_000, env: { ...process.env, PYENV_VERSION: '' } }, (err, out) =>
      resolve(err ? undefined : out.trim()),
    );
  });
}

interface GoldenDoc {
  [major: string]: { entries: Array<{ name: string; proto: number; kind: string; b64: string }> };
}
const golden = JSON.parse(readFileSync(join(VECTORS_DIR, 'numpy_vectors.json'), 'utf8')) as GoldenDoc;

const found = await interpreters();
const withNumpy: Array<{ py: PythonInfo; numpy: string }> = [];
for (const py of found) {
  const v = await numpyVersion(py);
  if (v) withNumpy.push({ py, numpy: v });
}
const ran: string[] = [];

afterAll(() => {
  console.log(
    `numpy interop: interpreters with numpy: ${withNumpy.map((w) => `${label(w.py)} → NumPy ${w.numpy}`).join(', ') || 'none'}; ` +
      `without: ${found.filter((p) => !withNumpy.some((w) => w.py === p)).map(label).join(', ') || 'none'}; NumPy versions run: ${ran.join(', ') || 'none'}`,
  );
});

/** (description, value) pairs made in Node; the peer rebuilds `values` with NumPy and compares. */
function nodeValues(): Array<[Record<string, unknown>, unknown]> {
  const out: Array<[Record<string, unknown>, unknown]> = [];
  const add = (name: string, dtype: string, shape: number[], values: unknown[], value: unknown, order = 'C'): void => {
    out.push([{ name, dtype, shape: tuple(...shape), values, order }, value]);
  };
  add('Float64Array', '<f8', [4], [1.5, -0, Infinity, -2.25], new Float64Array([1.5, -0, Infinity, -2.25]));
  add('Float32Array', '<f4', [2], [0.5, -3], new Float32Array([0.5, -3]));
  add('Int8Array', '|i1', [3], [-128, 0, 127], new Int8Array([-128, 0, 127]));
  add('Int16Array', '<i2', [2], [-32768, 32767], new Int16Array([-32768, 32767]));
  add('Int32Array', '<i4', [3], [-(2 ** 31), 0, 2 ** 31 - 1], new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]));
  add('BigInt64Array', '<i8', [2], [-(2n ** 63n), 2n ** 63n - 1n], new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
  add('Uint16Array', '<u2', [2], [0, 65535], new Uint16Array([0, 65535]));
  add('Uint32Array', '<u4', [2], [0, 2 ** 32 - 1], new Uint32Array([0, 2 ** 32 - 1]));
  add('BigUint64Array', '<u8', [1], [2n ** 64n - 1n], new BigUint64Array([2n ** 64n - 1n]));
  add('Uint8ClampedArray', '|u1', [2], [0, 255], new Uint8ClampedArray([0, 255]));
  add('empty Float64Array', '<f8', [0], [], new Float64Array(0));
  add('subarray view', '<i4', [2], [2, 3], new Int32Array([1, 2, 3, 4]).subarray(1, 3));
  add('NDArray 2x3 C', '<f8', [2, 3], [0, 1, 2, 3, 4, 5], new NDArray('<f8', [2, 3], new Float64Array([0, 1, 2, 3, 4, 5])));
  add('NDArray 2x3 F', '<i4', [2, 3], [0, 1, 2, 3, 4, 5], new NDArray('<i4', [2, 3], new Int32Array([0, 3, 1, 4, 2, 5]), 'F'), 'F');
  add('NDArray 0-d', '<f8', [], [7.5], new NDArray('<f8', [], new Float64Array([7.5])));
  add('NDArray bool', '|b1', [3], [true, false, true], new NDArray('|b1', [3], new Uint8Array([1, 0, 1])));
  add('NDArray >i4', '>i4', [2], [1, -2], new NDArray('>i4', [2], new Uint8Array([0, 0, 0, 1, 255, 255, 255, 254])));
  return out;
}

describe('NumPy interop', () => {
  it('found an interpreter with numpy (required when CI=true)', () => {
    if (withNumpy.length === 0) {
      const msg = `no interpreter imports numpy (tried ${found.map(label).join(', ')}); run scripts/numpy-peers.sh`;
      if (process.env.CI === 'true') throw new Error(msg);
      console.warn(`numpy interop skipped: ${msg}`);
    }
  });

  for (const { py, numpy } of withNumpy) {
    it(`${label(py)} with NumPy ${numpy}: arrays received with conn.recv() are views on their frame, never copies`, async () => {
      // A copy of a misaligned payload has a buffer of its own size; a view shares the frame's.
      const receive = async (codec?: ReturnType<typeof pickleCodec>): Promise<{ arrays: number; copies: number }> => {
        const child = await spawnPython([SEND_PEER], { python: py.path, env: { PYENV_VERSION: '' }, ...(codec ? { codec } : {}) });
        let arrays = 0;
        let copies = 0;
        try {
          for (;;) {
            const v = await child.conn.recv();
            if (v === 'END') break;
            arrays++;
            expect(v).toBeInstanceOf(NDArray);
            const data = (v as NDArray<Float64Array>).data;
            expect(data).toBeInstanceOf(Float64Array);
            expect(Array.from(data)).toEqual(Array.from({ length: arrays }, (_, i) => i * 0.5 + arrays));
            if (data.buffer.byteLength === data.byteLength) copies++;
          }
        } finally {
          await child.close();
        }
        return { arrays, copies };
      };
      // By default the connection's frames are decoded in place: every array is a view.
      expect(await receive()).toEqual({ arrays: 40, copies: 0 });
      // With inPlace: false, the misaligned ones (some of the 40) are copied out.
      const never = await receive(pickleCodec({ inPlace: false }));
      expect(never.arrays).toBe(40);
      expect(never.copies).toBeGreaterThan(0);
    });

    it(`${label(py)} with NumPy ${numpy}: Python → Node → Python at protocols 2–5, and Node-made arrays`, async () => {
      const child = await spawnPython([PEER], { python: py.path, env: { PYTHONPATH: VECTORS_DIR, PYENV_VERSION: '' }, maxMessageSize: 2 ** 30 });
      try {
        // Phase 1: four answers (protocols 2–5) per pickle; after 'SEND', one answer (protocol 4)
        // per Connection.send pickle; 'JS' asks for the Node-made values.
        let answers = [2, 3, 4, 5];
        let arrays = 0;
        for (;;) {
          const frame = await child.conn.recvBytes();
          const tag = frame.length <= 4 ? frame.toString('latin1') : '';
          if (tag === 'JS') break;
          if (tag === 'SEND') {
            answers = [4];
            continue;
          }
          const v = loads(frame, { exact: true, inPlace: arrays % 2 === 0 });
          if (!(v instanceof NDArray || v instanceof NDScalar)) expect.fail(`not an array or scalar:\n${dis(frame).slice(0, 2000)}`);
          if (v instanceof NDArray) {
            arrays++;
            // dtype and shape agree with the data; native dtypes come as their TypedArray.
            if (!Array.isArray(v.data)) expect(v.bytes.byteLength).toBe(v.size * v.itemsize);
            if (v.descr.typedArray) expect(v.data).toBeInstanceOf(v.descr.typedArray);
            expect(DType.parse(v.dtype).str === v.dtype || v.descr.fields !== undefined || v.descr.subarray !== undefined).toBe(true);
          }
          for (const q of answers) await child.conn.sendBytes(dumps(v, { protocol: q }));
        }
        expect(arrays).toBeGreaterThan(800);
        for (const [desc, value] of nodeValues()) {
          for (const p of [2, 3, 4, 5]) await child.conn.sendBytes(dumps(tuple(desc, value), { protocol: p }));
        }
        // Golden pickles of both NumPy majors, re-encoded: NumPy 2.x's pickles reach NumPy 1.x this way.
        for (const [major, d] of Object.entries(golden)) {
          for (const e of d.entries) {
            if ((e.kind !== 'array' && e.kind !== 'scalar') || e.name.startsWith('big')) continue;
            const v = loads(Buffer.from(e.b64, 'base64'), { exact: true });
            await child.conn.sendBytes(dumps(tuple({ case: e.name, from: `${major} p${e.proto}` }, v), { protocol: [2, 3, 4, 5][e.proto - 2] ?? 4 }));
          }
        }
        await child.conn.sendBytes(Buffer.from('END'));
        const summary = JSON.parse((await child.conn.recvBytes()).toString()) as { numpy: string; checked: number; fails: string[] };
        ran.push(`${summary.numpy} (${label(py)})`);
        console.log(`numpy interop ${label(py)}: NumPy ${summary.numpy}, ${summary.checked} comparisons, ${summary.fails.length} failures`);
        const reasons = [...new Set(summary.fails.map((f) => f.replace(/^\S+ /, '').replace(/p\d->node->p\d/, '')))];
        expect({ reasons: reasons.slice(0, 20), first: summary.fails.slice(0, 20) }).toEqual({ reasons: [], first: [] });
        expect(summary.checked).toBeGreaterThan(5000);
      } finally {
        await child.close();
      }
    }, 300_000);
  }
});


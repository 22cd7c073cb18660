// NumPy benchmark: np.random.rand(2048, 2048) (32 MiB of float64) from a Python peer to Node.
//   node bench/numpy/bench.mjs [--rounds N] [--python PATH]... [--dist DIR]   (needs `npm run build`, or a build in DIR)
// Per round, interleaved: (1) Python `Connection.send(a)` → Node `conn.recv()` gives an NDArray
// whose `data` is a Float64Array (A: default decoding, A2: `loads(frame, { inPlace: true })`, what
// `pickleCodec({ inPlace: true })` does); (2) the same bytes with `send_bytes(a)` → Node `recvBytes()` →
// Float64Array; (3) Python-to-Python `Connection.send`/`recv` of the same array over the same kind
// of socket (Unix). Each time runs from the request until the array is usable (one item read).
// Best of N rounds and the median, per interpreter with NumPy (default: every one findPythons() finds).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.argv.includes('--dist') ? process.argv[process.argv.indexOf('--dist') + 1] : join(here, '..', '..', 'dist');
const { listen, NDArray, loads } = await import(join(dist, 'index.js'));
const { findPythons } = await import(join(dist, 'bridge', 'find-pythons.js'));
const PEER = join(here, 'peer.py');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('--rounds', '15'));
const chosen = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--python' ? [a] : []));

function numpyOf(path) {
  try {
    return execFileSync(path, ['-c', 'import numpy; print(numpy.__version__)'], { env: { ...process.env, PYENV_VERSION: '' }, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { best: s[0], median: s[Math.floor(s.length / 2)] };
};

async function run(python) {
  const dir = mkdtempSync(join(tmpdir(), 'mpwire-npbench-'));
  const key = 'bench';
  const env = { ...process.env, PYENV_VERSION: '' };
  // Node side
  const listener = await listen(join(dir, 'node.sock'), { authkey: key });
  const peer = spawn(python, [PEER, listener.address, key, 'node'], { stdio: 'inherit', env });
  const peerExit = new Promise((res) => peer.on('exit', res));
  const conn = await listener.accept();
  // Python-to-Python side
  const py = spawn(python, [PEER, join(dir, 'py.sock'), key, 'py'], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const pyExit = new Promise((res) => py.on('exit', res));
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value;
  const ready = await next();
  const pyRound = async () => {
    py.stdin.write('go\n');
    return Number((await next()).split(' ')[1]);
  };

  const viaPickle = async (inPlace) => {
    const t0 = performance.now();
    await conn.sendBytes(Buffer.from('pickle'));
    // What conn.recv() does, in two steps so that the decoding can be timed on its own.
    const frame = await conn.recvBytes();
    const t1 = performance.now();
    const a = loads(frame, { inPlace });
    if (!(a instanceof NDArray) || !(a.data instanceof Float64Array) || a.shape[0] !== 2048) throw new Error('not a float64 array');
    void a.data[a.data.length - 1];
    const t2 = performance.now();
    return { ms: t2 - t0, decode: t2 - t1, view: a.data.buffer === frame.buffer ? 'view on the frame' : `copied: payload at frame offset ${frame.byteOffset + frame.indexOf(Buffer.from(a.data.buffer, a.data.byteOffset, 16))} is not 8-aligned` };
  };
  const viaBytes = async () => {
    const t0 = performance.now();
    await conn.sendBytes(Buffer.from('bytes'));
    const b = await conn.recvBytes();
    const f = b.byteOffset % 8 === 0 ? new Float64Array(b.buffer, b.byteOffset, b.length / 8) : new Float64Array(new Uint8Array(b).buffer);
    void f[f.length - 1];
    return performance.now() - t0;
  };

  const p = [];
  const r = [];
  const q = [];
  const dec = [];
  const pyd = [];
  const pin = [];
  const decIn = [];
  let how = '';
  let howIn = '';
  // One warm-up round of each, then interleaved rounds.
  await viaPickle(false);
  await viaPickle(true);
  await viaBytes();
  await pyRound();
  for (let i = 0; i < ROUNDS; i++) {
    const x = await viaPickle(false);
    how = x.view;
    p.push(x.ms);
    dec.push(x.decode);
    const y = await viaPickle(true);
    howIn = y.view;
    pin.push(y.ms);
    decIn.push(y.decode);
    await conn.sendBytes(Buffer.from('dumps'));
    pyd.push(Number((await conn.recvBytes()).toString()));
    r.push(await viaBytes());
    q.push(await pyRound());
  }
  conn.close();
  await listener.close();
  py.stdin.end();
  await pyExit;
  await peerExit;
  return {
    pickle: stats(p),
    inPlace: stats(pin),
    bytes: stats(r),
    py2py: stats(q),
    decode: stats(dec),
    decodeIn: stats(decIn),
    pydumps: stats(pyd),
    how,
    howIn,
    numpy: ready.split(' ')[1],
  };
}

const all = chosen.length ? chosen.map((path) => ({ path, version: '?' })) : await findPythons();
const fmt = (x) => x.toFixed(1).padStart(6);
const cell = (s) => `${fmt(s.best)} /${fmt(s.median)}`;
console.log(`np.random.rand(2048, 2048) (32 MiB float64), Python → Node over a Unix socket; ${ROUNDS} interleaved rounds; ms best / median`);
console.log(
  'interpreter      NumPy  | A send→NDArray | A2 same, inPlace | B send_bytes→F64 | C Py→Py send/recv | A/B   A2/B  C/A   C/A2  | loads in A    | loads in A2   | CPython dumps',
);
for (const py of all) {
  const np = numpyOf(py.path);
  if (!np) continue;
  const r = await run(py.path);
  const name = `${py.version === '?' ? py.path : py.version}`.slice(0, 16).padEnd(16);
  const x = (a, b) => `${(a.best / b.best).toFixed(2)}×`.padEnd(5);
  console.log(
    `${name} ${r.numpy.padEnd(6)} | ${cell(r.pickle)}  | ${cell(r.inPlace)}    | ${cell(r.bytes)}    | ${cell(r.py2py)}     | ${x(r.pickle, r.bytes)} ${x(r.inPlace, r.bytes)} ${x(r.py2py, r.pickle)} ${x(r.py2py, r.inPlace)} | ${cell(r.decode)} | ${cell(r.decodeIn)} | ${cell(r.pydumps)}`,
  );
  console.log(`  A: ${r.how}; A2: ${r.howIn}`);
}

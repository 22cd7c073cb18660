#!/usr/bin/env node
// Pickle codec benchmark: mpwire vs CPython's C pickle (3.11 and 3.13) vs pickleparser vs
// JSON.parse vs v8.deserialize, on the same data, in one run.
//   npm run build && node bench/pickle/bench.mjs [--dist <dir with pickle/index.js>] [--passes N]
// Prints a table of times and the ratios the targets are stated in. With --passes N
// (default 2) every measurement, CPython's included, is taken N times in whole passes and each
// cell keeps its best: a burst of load on this shared machine during one side's turn then no
// longer skews a ratio (single passes moved ratios by up to 30%).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { best, here, loadBuild } from './setup.mjs';

const argPasses = process.argv.indexOf('--passes');
const passes = argPasses > 0 ? Math.max(1, Number(process.argv[argPasses + 1]) || 1) : 2;
/** `o[k] = min(o[k], v)`, for the best of several passes. */
const keepMin = (o, k, v) => {
  if (v !== undefined && !(o[k] <= v)) o[k] = v;
};
const { loads, dumps, findPythons, Parser } = await loadBuild();

const pythons = (await findPythons()).filter((p) => p.versionTuple[0] === 3 && (p.versionTuple[1] === 11 || p.versionTuple[1] === 13));
const byMinor = new Map();
for (const p of pythons) if (!byMinor.has(p.versionTuple[1])) byMinor.set(p.versionTuple[1], p);
const dir = mkdtempSync(join(tmpdir(), 'mpwire-bench-'));
const py = {};
const names = ['dicts_10k', 'ints_1m', 'bytes_16m', 'nested_200', 'tuples_10k'];
// tuples_10k is dumped from its exact-mode value (Tuple, PyFloat), so the encoder writes tuples as Python does.
const exactValue = new Set(['tuples_10k']);
const fmt = (s) => (s === undefined ? '—' : s < 1e-3 ? `${(s * 1e6).toFixed(0)}µs` : `${(s * 1e3).toFixed(2)}ms`);
const ratio = (a, b) => (a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}×`);
const rows = [];
for (let pass = 0; pass < passes; pass++) {
  for (const [minor, p] of byMinor) {
    const out = execFileSync(p.path, [join(here, 'workloads.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const cells = (py[`3.${minor}`] ??= {});
    for (const line of out.trim().split('\n')) {
      const r = JSON.parse(line);
      const cell = (cells[r.name] ??= { name: r.name });
      keepMin(cell, 'loads', r.loads);
      keepMin(cell, 'dumps', r.dumps);
    }
  }
  for (const name of names) {
    const data = readFileSync(join(dir, `${name}.pkl`));
    const value = loads(data, { exact: exactValue.has(name) });
    let r = rows.find((x) => x.name === name);
    if (!r) rows.push((r = { name, size: data.length }));
    keepMin(r, 'dumps', best(() => dumps(value)));
    keepMin(r, 'loads', best(() => loads(data)));
    keepMin(r, 'loadsExact', best(() => loads(data, { exact: true })));
    if (Parser && name !== 'bytes_16m') {
      const parser = new Parser();
      keepMin(r, 'pickleparser', best(() => parser.parse(data), 3000, 2));
    }
    if (name !== 'bytes_16m') {
      const json = readFileSync(join(dir, `${name}.json`), 'utf8');
      keepMin(r, 'json', best(() => JSON.parse(json)));
    }
    const ser = v8.serialize(value);
    keepMin(r, 'v8', best(() => v8.deserialize(ser)));
  }
}
for (const r of rows) {
  for (const v of Object.keys(py)) {
    r[`py${v}loads`] = py[v][r.name]?.loads;
    r[`py${v}dumps`] = py[v][r.name]?.dumps;
  }
}
// Adversarial inputs from issue 3 (no CPython baseline): a 64 KiB LONG4 and 1M MARK/POP_MARK pairs.
const long4 = Buffer.alloc(1 + 4 + 65536 + 1, 0x5a);
long4[0] = 0x8b;
long4.writeInt32LE(65536, 1);
long4[long4.length - 1] = 0x2e;
const marks = Buffer.alloc(2_000_002);
for (let i = 0; i < 2_000_000; i += 2) (marks[i] = 0x28), (marks[i + 1] = 0x31);
marks[2_000_000] = 0x4e;
marks[2_000_001] = 0x2e;
for (const [name, data] of [['long4_64k', long4], ['markpairs_1m', marks]]) {
  const r = { name, size: data.length };
  r.loads = best(() => loads(data), 1000, 5);
  if (Parser) {
    try {
      const parser = new Parser();
      r.pickleparser = best(() => parser.parse(data), 0, 1);
    } catch (e) {
      r.pickleparser = undefined;
      r.ppError = String(e).slice(0, 60);
    }
  }
  rows.push(r);
}
// Small messages, timed per call: each decodes the exact bytes CPython wrote, and is encoded from
// the exact-mode value (so a tuple stays a tuple).
const small = [];
const perCall = (f) => {
  let b = Infinity;
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    for (let i = 0; i < 100_000; i++) f();
    b = Math.min(b, (performance.now() - t) / 100_000);
  }
  return b / 1000;
};
for (let pass = 0; pass < passes; pass++) {
  const timed = new Set();
  for (const [minor, p] of byMinor) {
    const out = execFileSync(p.path, [join(here, 'workloads.py'), dir, 'small'], { encoding: 'utf8' });
    for (const line of out.trim().split('\n')) {
      const r = JSON.parse(line);
      const data = Buffer.from(r.hex, 'hex');
      let row = small.find((x) => x.name === r.name);
      if (!row) small.push((row = { name: r.name, size: data.length }));
      if (!timed.has(r.name)) {
        timed.add(r.name);
        const value = loads(data, { exact: true });
        keepMin(row, 'loads', perCall(() => loads(data)));
        keepMin(row, 'dumps', perCall(() => dumps(value)));
      }
      keepMin(row, `py3.${minor}loads`, r.loads);
      keepMin(row, `py3.${minor}dumps`, r.dumps);
    }
  }
}
rmSync(dir, { recursive: true, force: true });
const vers = Object.keys(py);
console.log(`node ${process.version}; CPython ${vers.join(', ')} (C pickle); times are the best of repeated runs, over ${passes} pass${passes === 1 ? '' : 'es'}`);
console.log('');
console.log(['workload', 'bytes', 'mpwire loads', 'exact loads', 'mpwire dumps', ...vers.flatMap((v) => [`py${v} loads`, `py${v} dumps`]), 'pickleparser', 'JSON.parse', 'v8.deserialize'].join(' | '));
for (const r of rows)
  console.log([r.name, r.size, fmt(r.loads), fmt(r.loadsExact), fmt(r.dumps), ...vers.flatMap((v) => [fmt(r[`py${v}loads`]), fmt(r[`py${v}dumps`])]), fmt(r.pickleparser), fmt(r.json), fmt(r.v8)].join(' | '));
console.log('');
const ns = (s) => (s === undefined ? '—' : `${(s * 1e9).toFixed(0)}ns`);
console.log('Small messages, per call:');
console.log(['message', 'bytes', 'mpwire loads', 'mpwire dumps', ...vers.flatMap((v) => [`py${v} loads`, `py${v} dumps`]), ...vers.flatMap((v) => [`loads vs ${v}`, `dumps vs ${v}`])].join(' | '));
for (const r of small)
  console.log([r.name, r.size, ns(r.loads), ns(r.dumps), ...vers.flatMap((v) => [ns(r[`py${v}loads`]), ns(r[`py${v}dumps`])]), ...vers.flatMap((v) => [ratio(r[`py${v}loads`], r.loads), ratio(r[`py${v}dumps`], r.dumps)])].join(' | '));
console.log('');
console.log('Ratios (>1 means mpwire is faster): CPython time / mpwire time');
console.log(['workload', ...vers.flatMap((v) => [`loads vs ${v}`, `dumps vs ${v}`]), 'loads vs pickleparser', 'loads vs JSON.parse', 'loads vs v8.deserialize'].join(' | '));
for (const r of rows)
  console.log([r.name, ...vers.flatMap((v) => [ratio(r[`py${v}loads`], r.loads), ratio(r[`py${v}dumps`], r.dumps)]), ratio(r.pickleparser, r.loads), ratio(r.json, r.loads), ratio(r.v8, r.loads)].join(' | '));

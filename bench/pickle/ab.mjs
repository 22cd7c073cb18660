#!/usr/bin/env node
// A/B of two builds of the pickle codec on a shared, noisy machine: both builds run in one
// process, interleaved round by round, and each cell keeps its best time (best-of-N is robust to
// the other tenants' bursts; interleaving spreads slow phases over both builds evenly).
//   python3 bench/pickle/workloads.py /tmp/pkl        # once: writes the workload pickles
//   node bench/pickle/ab.mjs --pkl /tmp/pkl --a <distA> --b <distB> [--rounds 15] [--only dicts_10k,...] [--op loads|dumps]
// pickleparser is timed in the same rounds, so "loads vs pickleparser" ratios are taken under the same load.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const pkl = arg('pkl', '/tmp/pkl');
const rounds = Number(arg('rounds', '15'));
const only = arg('only', 'dicts_10k,ints_1m,bytes_16m,nested_200,tuples_10k').split(',');
const ops = arg('op', 'loads,dumps').split(',');
const builds = [];
for (const key of ['a', 'b']) {
  const d = arg(key, undefined);
  if (d) builds.push({ key, mod: await import(pathToFileURL(join(resolve(d), 'pickle', 'index.js')).href) });
}
let Parser;
try {
  ({ Parser } = await import('pickleparser'));
} catch {
  Parser = undefined;
}

// Small inputs run several times per sample so that one sample lasts about a millisecond or more.
function timeIt(f, reps) {
  const t = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t) / reps;
}

const cells = [];
for (const name of only) {
  const data = readFileSync(join(pkl, `${name}.pkl`));
  const exact = name === 'tuples_10k';
  const reps = data.length < 50_000 ? 20 : 1;
  for (const b of builds) {
    const value = b.mod.loads(data, { exact });
    if (ops.includes('loads')) cells.push({ label: `${name} loads ${b.key}`, f: () => b.mod.loads(data), reps });
    if (ops.includes('dumps')) cells.push({ label: `${name} dumps ${b.key}`, f: () => b.mod.dumps(value), reps });
  }
  if (Parser && ops.includes('loads') && name !== 'bytes_16m') {
    const p = new Parser();
    cells.push({ label: `${name} loads pickleparser`, f: () => p.parse(data), reps });
  }
}
for (const c of cells) {
  c.best = Infinity;
  for (let i = 0; i < 3; i++) c.f(); // warm-up
}
// A cell timed right after a big workload pays for that one's garbage (ints_1m: 25-35% for
// whichever build ran second). Every other round runs the cells in reverse order, which reduces
// that (two identical builds: ints_1m b/a 1.12-1.20, dicts and tuples within 2%); for big
// workloads compare one at a time (--only). A forced full GC
// before each cell (node --expose-gc) was tried and made the times erratic (b/a 0.46-0.71).
const reversed = [...cells].reverse();
for (let r = 0; r < rounds; r++) for (const c of r % 2 ? reversed : cells) c.best = Math.min(c.best, timeIt(c.f, c.reps));
const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)}µs` : `${ms.toFixed(3)}ms`);
const byLabel = new Map(cells.map((c) => [c.label, c.best]));
for (const c of cells) {
  let extra = '';
  const m = /^(\S+) (\S+) b$/.exec(c.label);
  if (m) extra = `  b/a ${(c.best / byLabel.get(`${m[1]} ${m[2]} a`)).toFixed(3)}`;
  const pp = byLabel.get(`${c.label.split(' ')[0]} loads pickleparser`);
  if (pp && / loads [ab]$/.test(c.label)) extra += `  vs pickleparser ${(pp / c.best).toFixed(2)}×`;
  console.log(`${c.label.padEnd(34)} ${fmt(c.best).padStart(10)}${extra}`);
}

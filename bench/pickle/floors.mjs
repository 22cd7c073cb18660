#!/usr/bin/env node
// Floors under two of issue 3's speed targets, measured in one run on the benchmark's own data:
//   npm run build && node bench/pickle/floors.mjs [--dist <dir with pickle/index.js>]
//
// 1. `loads` of ints_1m against "≥ 5× pickleparser": the least any decoder returning a JS array
//    can do is make a 1M-slot array and store 1M numbers into it. The floor here does only that
//    (the opcodes' layout known in advance, no checks, no memo), from the same bytes.
// 2. `dumps` of dicts_10k and tuples_10k against "≥ 0.7× CPython's C pickler": a correct pickler
//    must find shared references, so every list, dict and tuple costs a lookup and an insert in an
//    identity table. V8's identity tables are Map, Set and WeakMap; the floor is the fastest of
//    them doing only those lookups and inserts, for the same objects in the order dumps visits
//    them. What is left of the 0.7× budget after it is what the rest of dumps (writing every
//    opcode) would have to fit in.
// 3. For comparison, `loads` of dicts_10k against the least that builds the same 10k records
//    (fresh name strings, the same property order): no such floor rules 5× out there.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { best as bestSeconds, here, loadBuild } from './setup.mjs';

const { loads, dumps, findPythons, Parser } = await loadBuild();
/** Best time in ms of `f` (a longer budget than bench.mjs: these are the numbers compared). */
const best = (f, budgetMs = 1500, minRuns = 5) => bestSeconds(f, budgetMs, minRuns) * 1e3;

const py = (await findPythons()).find((p) => p.versionTuple[0] === 3 && p.versionTuple[1] === 11) ?? (await findPythons()).find((p) => p.versionTuple[0] === 3 && p.versionTuple[1] >= 8);
if (!py) {
  console.error('floors.mjs needs a CPython 3.8+ (3.11 preferred) to write the workloads');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'mpwire-floors-'));
const cpy = {};
try {
  for (const line of execFileSync(py.path, [join(here, 'workloads.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n')) {
    const r = JSON.parse(line);
    cpy[r.name] = { loads: r.loads * 1e3, dumps: r.dumps * 1e3 };
  }
  const read = (name) => readFileSync(join(dir, `${name}.pkl`));
  const f2 = (ms) => `${ms.toFixed(2)} ms`;
  console.log(`node ${process.version}; CPython ${py.version} (C pickle, timed by workloads.py); pickleparser ${Parser ? 'present' : 'missing'}`);

  // ---- 1. ints_1m loads ------------------------------------------------------------------------
  {
    const buf = read('ints_1m');
    const end = buf.length;
    const count = () => {
      let c = 0;
      for (let p = 0; p < end; ) {
        const op = buf[p];
        if (op === 0x4b) (p += 2), c++;
        else if (op === 0x4d) (p += 3), c++;
        else if (op === 0x4a) (p += 5), c++;
        else if (op === 0x95) p += 9; // FRAME and its length
        else p++;
      }
      return c;
    };
    const n = count();
    // The count is known before the timing starts: the floor is the allocation and the stores.
    const floor = best(() => {
      const a = new Array(n);
      let len = 0;
      for (let p = 0; p < end; ) {
        const op = buf[p];
        if (op === 0x4b) {
          a[len++] = buf[p + 1];
          p += 2;
        } else if (op === 0x4d) {
          a[len++] = buf[p + 1] | (buf[p + 2] << 8);
          p += 3;
        } else if (op === 0x4a) {
          a[len++] = buf[p + 1] | (buf[p + 2] << 8) | (buf[p + 3] << 16) | (buf[p + 4] << 24);
          p += 5;
        } else if (op === 0x95) p += 9;
        else p++;
      }
      return a;
    });
    const check = loads(buf);
    if (!Array.isArray(check) || check.length !== n) throw new Error(`ints_1m: loads gave ${check?.length} items, the floor counted ${n}`);
    const ours = best(() => loads(buf));
    const pp = Parser ? best(() => new Parser().parse(buf), 4000, 3) : undefined;
    console.log('\n1. ints_1m loads (1M ints into a JS array)');
    console.log(`   floor (new Array + 1M stores, no checks): ${f2(floor)}; mpwire loads: ${f2(ours)}; CPython loads: ${f2(cpy.ints_1m.loads)}`);
    if (pp !== undefined) {
      console.log(`   pickleparser: ${f2(pp)}; 5× that needs ≤ ${f2(pp / 5)}; the floor allows at most ${(pp / floor).toFixed(2)}×, mpwire is at ${(pp / ours).toFixed(2)}×`);
    }
  }

  // ---- 2. identity-table floor under dumps ---------------------------------------------------
  console.log('\n2. dumps: identity table (lookup + insert per list, dict and tuple) vs the 0.7× budget');
  for (const [name, exact] of [['dicts_10k', false], ['tuples_10k', true]]) {
    const value = loads(read(name), { exact });
    // The containers dumps memoizes, in the order it visits them (depth first, items in order).
    const objs = [];
    const walk = (v) => {
      if (v === null || typeof v !== 'object') return;
      if (Array.isArray(v)) {
        objs.push(v);
        for (const x of v) walk(x);
      } else if (v instanceof Map) {
        objs.push(v);
        for (const [k, x] of v) (walk(k), walk(x));
      } else if (Object.getPrototypeOf(v) === Object.prototype) {
        objs.push(v);
        for (const k of Object.keys(v)) walk(v[k]);
      }
    };
    walk(value);
    const viaMap = () => {
      const m = new Map();
      for (let i = 0; i < objs.length; i++) if (m.get(objs[i]) === undefined) m.set(objs[i], i);
    };
    const viaSet = () => {
      const s = new Set();
      for (let i = 0; i < objs.length; i++) if (!s.has(objs[i])) s.add(objs[i]);
    };
    const viaWeakMap = () => {
      const m = new WeakMap();
      for (let i = 0; i < objs.length; i++) if (m.get(objs[i]) === undefined) m.set(objs[i], i);
    };
    const times = { Map: best(viaMap), Set: best(viaSet), WeakMap: best(viaWeakMap) };
    const [fastest, floor] = Object.entries(times).sort((a, b) => a[1] - b[1])[0];
    const ours = best(() => dumps(value));
    const c = cpy[name].dumps;
    const budget = c / 0.7;
    const left = budget - floor;
    console.log(
      `   ${name}: ${objs.length} containers; Map ${f2(times.Map)}, Set ${f2(times.Set)}, WeakMap ${f2(times.WeakMap)} (floor: ${fastest}, ${((floor * 1e6) / objs.length).toFixed(0)} ns each)`,
    );
    console.log(
      `     CPython dumps ${f2(c)}, so 0.7× means ≤ ${f2(budget)}; after the floor, ${f2(left)} is left to write every opcode, ${((100 * left) / c).toFixed(0)}% of CPython's whole time (memo included); mpwire dumps: ${f2(ours)} (${(c / ours).toFixed(2)}×)`,
    );
  }

  // ---- 3. dicts_10k loads: construction floor, for comparison -----------------------------------
  {
    const buf = read('dicts_10k');
    const keys = ['id', 'name', 'score', 'active', 'tags'];
    const names = Buffer.from(Array.from({ length: 10000 }, (_, i) => `user${i}`).join(''), 'latin1');
    const floor = best(() => {
      const out = [];
      let p = 0;
      for (let i = 0; i < 10000; i++) {
        const n = i < 10 ? 5 : i < 100 ? 6 : i < 1000 ? 7 : 8;
        const o = {};
        o[keys[0]] = i;
        o[keys[1]] = names.latin1Slice(p, p + n);
        o[keys[2]] = i * 0.5;
        o[keys[3]] = i % 3 === 0;
        o[keys[4]] = ['a', 'b'];
        p += n;
        out.push(o);
      }
      return out;
    });
    const ours = best(() => loads(buf));
    const pp = Parser ? best(() => new Parser().parse(buf), 4000, 3) : undefined;
    console.log('\n3. dicts_10k loads (10k records), for comparison');
    console.log(`   floor (building the same records, no decoding): ${f2(floor)}; mpwire loads: ${f2(ours)}; CPython loads: ${f2(cpy.dicts_10k.loads)}`);
    if (pp !== undefined)
      console.log(`   pickleparser: ${f2(pp)}; 5× needs ≤ ${f2(pp / 5)}; the floor allows ${(pp / floor).toFixed(1)}×, mpwire is at ${(pp / ours).toFixed(2)}×`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Helpers of the pickle interop suite: run the corpus script under an interpreter and compare
 * decoded values with the structural descriptions it prints.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ByteArray, FrozenSet, PyFloat, Tuple } from '../../src/pickle/index.js';

export const CORPUS_SCRIPT = fileURLToPath(new URL('./corpus.py', import.meta.url));

/** Run `corpus.py <mode>` with JSON lines on stdin; resolve to the JSON lines it prints. */
export function runCorpus<T = Record<string, unknown>>(python: string, mode: string, input: readonly object[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [CORPUS_SCRIPT, mode], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYENV_VERSION: '', PYTHONHASHSEED: '0', PYTHONIOENCODING: 'utf-8' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${python} corpus.py ${mode} exited ${code}: ${Buffer.concat(err).toString()}`));
      const lines = Buffer.concat(out).toString('utf8').split('\n').filter(Boolean);
      resolve(lines.map((l) => JSON.parse(l) as T));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input.map((o) => JSON.stringify(o)).join('\n') + '\n');
  });
}

/** A node of corpus.py's `describe()`. */
export type Desc = [string, ...unknown[]];

function floatHex(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b.toString('hex');
}

/** Compare an exact-mode value with a description; returns undefined or the first mismatch. */
export function matchDesc(v: unknown, d: Desc, refs = new Map<number, unknown>(), path = '$'): string | undefined {
  const bad = (why: string): string => `${path}: ${why}`;
  switch (d[0]) {
    case 'none':
      return v === null ? undefined : bad(`expected None, got ${String(v)}`);
    case 'bool':
      return v === d[1] ? undefined : bad(`expected ${String(d[1])}`);
    case 'int': {
      const want = BigInt(d[1] as string);
      if (typeof v === 'number' && Number.isSafeInteger(v) && BigInt(v) === want) return undefined;
      if (typeof v === 'bigint' && v === want && !(v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n)) return undefined;
      return bad(`expected int ${String(want)}, got ${typeof v} ${String(v)}`);
    }
    case 'float':
      return v instanceof PyFloat && floatHex(v.value) === d[1] ? undefined : bad(`expected float ${String(d[1])}, got ${String(v)}`);
    case 'str':
      return v === d[1] ? undefined : bad(`expected str ${JSON.stringify(d[1]).slice(0, 80)}, got ${JSON.stringify(v)?.slice(0, 80)}`);
    case 'bytes':
    case 'py2str':
      return Buffer.isBuffer(v) && v.toString('hex') === d[1] ? undefined : bad(`expected bytes ${String(d[1]).slice(0, 40)}`);
    case 'bytearray':
      return v instanceof ByteArray && Buffer.from(v).toString('hex') === d[1] ? undefined : bad('expected bytearray');
    case 'ref':
      return refs.get(d[1] as number) === v ? undefined : bad(`expected shared reference #${String(d[1])}`);
    case 'list':
    case 'tuple':
    case 'set':
    case 'frozenset': {
      const ok =
        d[0] === 'list'
          ? Array.isArray(v) && !(v instanceof Tuple)
          : d[0] === 'tuple'
            ? v instanceof Tuple
            : d[0] === 'set'
              ? v instanceof Set && !(v instanceof FrozenSet)
              : v instanceof FrozenSet;
      if (!ok) return bad(`expected ${d[0]}, got ${Object.prototype.toString.call(v)}`);
      refs.set(d[2] as number, v);
      const items = [...(v as Iterable<unknown>)];
      const want = d[1] as Desc[];
      if (items.length !== want.length) return bad(`length ${items.length} != ${want.length}`);
      for (let i = 0; i < items.length; i++) {
        const r = matchDesc(items[i], want[i] as Desc, refs, `${path}[${i}]`);
        if (r) return r;
      }
      return undefined;
    }
    case 'dict': {
      if (!(v instanceof Map)) return bad('expected dict (Map)');
      refs.set(d[2] as number, v);
      const want = d[1] as Array<[Desc, Desc]>;
      const got = [...v];
      if (got.length !== want.length) return bad(`size ${got.length} != ${want.length}`);
      for (let i = 0; i < got.length; i++) {
        const [k, x] = got[i] as [unknown, unknown];
        const [dk, dx] = want[i] as [Desc, Desc];
        const r = matchDesc(k, dk, refs, `${path}<key ${i}>`) ?? matchDesc(x, dx, refs, `${path}[${String(k)}]`);
        if (r) return r;
      }
      return undefined;
    }
    case 'opaque':
      return v === undefined ? bad('undefined') : undefined;
    default:
      return bad(`unknown description ${d[0]}`);
  }
}

/** True when a description contains only plain data (no opaque objects). */
export function isPlain(d: Desc): boolean {
  switch (d[0]) {
    case 'opaque':
      return false;
    case 'list':
    case 'tuple':
    case 'set':
    case 'frozenset':
      return (d[1] as Desc[]).every(isPlain);
    case 'dict':
      return (d[1] as Array<[Desc, Desc]>).every(([k, v]) => isPlain(k) && isPlain(v));
    default:
      return true;
  }
}

/** Run async jobs with at most `n` at a time. */
export async function pool<T, R>(items: readonly T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i] as T);
      }
    }),
  );
  return out;
}

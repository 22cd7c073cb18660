/**
 * Shared helpers of the interop suites: interpreters from the one discovery (`findPythons`),
 * Python peers started with execa, and the interpreter × scenario matrix printed at the end.
 */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ResultPromise, execa } from 'execa';
import { type PythonInfo, findPythons } from '../src/bridge/find-pythons.js';

const INTEROP_DIR = dirname(fileURLToPath(import.meta.url));
export const PEERS = join(INTEROP_DIR, 'peers');

/** Series the machine is expected to offer; the suite prints which of them were missing. */
export const EXPECTED_SERIES = ['2.7', '3.6', '3.7', '3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14', '3.15'];

export async function interpreters(): Promise<PythonInfo[]> {
  return findPythons();
}

export function label(py: PythonInfo): string {
  return py.source === 'path' ? `${py.version} (${py.path})` : py.version;
}

export function atLeast(py: PythonInfo, major: number, minor: number): boolean {
  const [a, b] = py.versionTuple;
  return a > major || (a === major && b >= minor);
}

/** Payload of n bytes with byte i = (i*31 + n) mod 256, as `peer.py` makes it. */
export function pattern(n: number): Buffer {
  const block = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) block[i] = (i * 31 + n) & 0xff;
  const out = Buffer.allocUnsafe(n);
  for (let off = 0; off < n; off += 256) block.copy(out, off, 0, Math.min(256, n - off));
  return out;
}

export interface Peer {
  proc: ResultPromise<{ buffer: false; reject: false; lines: false }>;
  /** Resolves with the first stdout line starting with `prefix` (the rest of the line). */
  line(prefix: string): Promise<string>;
  /** All stdout lines so far. */
  lines: string[];
  stderr(): string;
}

export function startPeer(py: PythonInfo, script: string, args: string[], env: Record<string, string> = {}): Peer {
  return startCommand(py.path, [join(PEERS, script), ...args], { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...env });
}

/**
 * Start any command as a peer (e.g. `docker exec … python peer.py …` for the container suite):
 * stdout lines are collected and awaited as with {@link startPeer}; killed after 120 s.
 */
export function startCommand(file: string, argv: string[], env: Record<string, string> = {}): Peer {
  const proc = execa(file, argv, {
    buffer: false,
    reject: false,
    lines: false,
    env,
    timeout: 120_000,
  });
  const lines: string[] = [];
  let err = '';
  const waiters: Array<{ prefix: string; resolve(s: string): void }> = [];
  let partial = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (d: string) => {
    partial += d;
    let i = partial.indexOf('\n');
    while (i >= 0) {
      const l = partial.slice(0, i);
      partial = partial.slice(i + 1);
      lines.push(l);
      for (const w of [...waiters]) {
        if (l.startsWith(w.prefix)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(l.slice(w.prefix.length).trim());
        }
      }
      i = partial.indexOf('\n');
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    err += d;
  });
  return {
    proc,
    lines,
    stderr: () => err,
    line(prefix) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return Promise.resolve(found.slice(prefix.length).trim());
      return new Promise((resolve, reject) => {
        waiters.push({ prefix, resolve });
        void proc.then((r) => reject(new Error(`peer exited (${r.exitCode}) before "${prefix}": ${lines.join(' | ')} ${err.slice(-2000)}`)));
      });
    },
  };
}

export function tempPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'mpwire-interop-')), name);
}

/** interpreter label → scenario → 'pass' | 'FAIL' | 'n/a' */
export class Matrix {
  readonly rows = new Map<string, Map<string, string>>();
  readonly scenarios: string[] = [];
  constructor(readonly title: string) {}
  set(row: string, scenario: string, value: string): void {
    if (!this.scenarios.includes(scenario)) this.scenarios.push(scenario);
    let r = this.rows.get(row);
    if (!r) this.rows.set(row, (r = new Map()));
    r.set(scenario, value);
  }
  async record(row: string, scenario: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      this.set(row, scenario, 'pass');
    } catch (e) {
      this.set(row, scenario, 'FAIL');
      throw e;
    }
  }
  render(found: PythonInfo[]): string {
    const w = Math.max(12, ...[...this.rows.keys()].map((k) => k.length));
    const head = ['interpreter'.padEnd(w), ...this.scenarios.map((_s, i) => `${i + 1}`.padStart(4))].join(' ');
    const body = [...this.rows.entries()].map(([k, r]) =>
      [k.padEnd(w), ...this.scenarios.map((s) => (r.get(s) === 'pass' ? '  ok' : r.get(s) === 'n/a' ? '   -' : r.has(s) ? 'FAIL' : '   ?').padStart(4))].join(' '),
    );
    const legend = this.scenarios.map((s, i) => `  ${i + 1}: ${s}`);
    const series = new Set(found.map((p) => `${p.versionTuple[0]}.${p.versionTuple[1]}`));
    const missing = EXPECTED_SERIES.filter((s) => !series.has(s));
    return [
      `== ${this.title}: interpreter × scenario (ok = pass, - = not applicable) ==`,
      head,
      ...body,
      'scenarios:',
      ...legend,
      `interpreters found: ${found.map(label).join(', ')}`,
      `interpreters missing: ${missing.length ? missing.join(', ') : 'none'}`,
    ].join('\n');
  }
  /**
   * Render the matrix and save it under `interop/.matrices/` (one file per suite, named after the
   * title) for `scripts/readme-matrix.mjs`, which builds the README's all-suites table from them.
   */
  report(found: PythonInfo[]): string {
    const slug = this.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    this.save(join(INTEROP_DIR, '.matrices', `${slug}.json`), found);
    return this.render(found);
  }
  save(file: string, found: PythonInfo[]): void {
    mkdirSync(dirname(file), { recursive: true });
    const data = { title: this.title, scenarios: this.scenarios, found: found.map(label), rows: Object.fromEntries([...this.rows].map(([k, v]) => [k, Object.fromEntries(v)])) };
    writeFileSync(file, JSON.stringify(data, null, 2));
  }
}

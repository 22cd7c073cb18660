/**
 * What `npm publish` would ship: `npm pack --dry-run --json` lists the tarball, and this checks it
 * holds the compiled JS with its .d.ts for every source file and export, the Python helper, the
 * docs and licence, and none of the tests, fixtures, benchmarks or examples. Needs a build first
 * (`make check-package` / `make test` build).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  main: string;
  types: string;
};

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

const norm = (p: string): string => posix.normalize(p.replace(/^\.\//, ''));

let files: Set<string>;

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (or `make build`) first');
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [report] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  files = new Set((report?.files ?? []).map((f) => f.path));
}, 60_000);

describe('npm pack file list', () => {
  it('has the package metadata, README, LICENSE, CHANGELOG and the Python helper', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'python/mpwire_child.py']) expect(files, f).toContain(f);
  });

  it('has every file that main, types, bin and each export point to', () => {
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
    for (const value of Object.values(pkg.exports)) targets.push(...(typeof value === 'string' ? [value] : Object.values(value)));
    for (const t of targets) expect(files, t).toContain(norm(t));
  });

  it('has compiled JS and a .d.ts for every source module, and nothing compiled from a deleted source', () => {
    const sources = walk(join(root, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => relative(join(root, 'src'), f).split('\\').join('/').replace(/\.ts$/, ''));
    for (const s of sources) {
      expect(files, `dist/${s}.js`).toContain(`dist/${s}.js`);
      expect(files, `dist/${s}.d.ts`).toContain(`dist/${s}.d.ts`);
    }
    const known = new Set(sources);
    const stale = [...files].filter((f) => f.startsWith('dist/') && f.endsWith('.js') && !known.has(f.slice(5, -3)));
    expect(stale, 'compiled files without a source (stale dist/: rebuild from clean)').toEqual([]);
  });

  it('ships no tests, fixtures, benchmarks, examples, generated docs or caches', () => {
    const bad = [...files].filter(
      (f) =>
        /^(test|tests|interop|bench|examples|docs|docker|scripts|coverage|node_modules)\//.test(f) ||
        /(^|\/)(__tests__|fixtures?|__pycache__)\//.test(f) ||
        /\.(test|spec)\.[cm]?[jt]s$/.test(f) ||
        /\.(pyc|log|tsbuildinfo|tgz)$/.test(f) ||
        /(^|\/)\.[^/]+$/.test(f),
    );
    expect(bad).toEqual([]);
  });

  it('has the sources that the source maps and declaration maps point to', () => {
    const missing: string[] = [];
    for (const f of files) {
      if (!f.endsWith('.map')) continue;
      const map = JSON.parse(readFileSync(join(root, f), 'utf8')) as { sources: string[] };
      for (const s of map.sources) {
        const target = posix.join(posix.dirname(f), s);
        if (!files.has(target)) missing.push(`${f} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

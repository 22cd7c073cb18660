/**
 * How consumers load the package: the `exports` conditions (ESM `import`, and `default` so that
 * `require()` of the ESM build works where Node supports it), and the Node versions `engines`
 * admits. Loading by name needs a build first (`npm run build`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  engines: { node: string };
};
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The lowest version a `>=X.Y.Z` range admits. */
function floor(range: string): [number, number, number] {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!m) throw new Error(`engines.node should be a single '>=' floor, got ${JSON.stringify(range)}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

const atLeast = (v: readonly number[], min: readonly number[]): boolean => {
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== (min[i] ?? 0)) return (v[i] ?? 0) > (min[i] ?? 0);
  return true;
};

const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');

describe('package.json exports', () => {
  it('every entry point has types first, then import and a default condition for the same file', () => {
    expect(subpaths).toEqual(['.', './pickle', './xmlrpc', './managers', './bridge']);
    for (const key of subpaths) {
      const entry = pkg.exports[key];
      expect(typeof entry, key).toBe('object');
      const conditions = entry as Record<string, string>;
      expect(Object.keys(conditions), key).toEqual(['types', 'import', 'default']);
      expect(conditions.default, key).toBe(conditions.import);
      expect(conditions.types, key).toBe(conditions.import?.replace(/\.js$/, '.d.ts'));
    }
  });

  it('require() loads every entry point from CommonJS (Node with require(esm): 20.19+, 22.12+)', () => {
    if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (or `make build`) first');
    const features = process.features as { require_module?: boolean };
    if (features.require_module !== true) return; // older Node: ERR_REQUIRE_ESM, as README says
    const names = subpaths.map((k) => (k === '.' ? 'mpwire' : `mpwire/${k.slice(2)}`));
    // A CommonJS script inside the package: `mpwire` resolves to this package through its exports.
    const script = `for (const n of ${JSON.stringify(names)}) { const m = require(n); console.log(n, Object.keys(m).length); }`;
    const out = execFileSync(process.execPath, ['--input-type=commonjs', '-e', script], { cwd: root, encoding: 'utf8' });
    const counts = out.trim().split('\n').map((l) => l.split(' '));
    expect(counts.map(([n]) => n)).toEqual(names);
    for (const [n, count] of counts) expect(Number(count), n).toBeGreaterThan(0);
    const listen = execFileSync(process.execPath, ['-e', "process.stdout.write(typeof require('mpwire').listen)"], { cwd: root, encoding: 'utf8' });
    expect(listen).toBe('function');
  });
});

describe('engines', () => {
  it('admits no Node older than 20.4.0, the first with Symbol.asyncDispose (await using, the package dispose methods)', () => {
    expect(atLeast(floor(pkg.engines.node), [20, 4, 0])).toBe(true);
    // The running Node is inside the range and has what the floor is there for.
    expect(atLeast(process.versions.node.split('.').map(Number), floor(pkg.engines.node))).toBe(true);
    expect(typeof Symbol.asyncDispose).toBe('symbol');
  });

  it('README states the same floor, and how CommonJS code loads the package', () => {
    const [major, minor, patch] = floor(pkg.engines.node);
    expect(readme).toContain(`\`engines\` says \`${pkg.engines.node}\``);
    expect(readme).toContain(`Node.js ${major}.${minor}.${patch}`);
    expect(readme).toMatch(/ESM-only|an ES module package/);
    expect(readme).toContain("require('mpwire')");
    expect(readme).toContain("await import('mpwire')");
  });
});

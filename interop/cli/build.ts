/**
 * A compiled copy of the package for subprocess tests (the CLI, Node parents of bridge children):
 * `tsc -p tsconfig.build.json` into a temporary directory laid out like the package (dist/,
 * python/ and node_modules/ linked), built once per test file.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let built: string | undefined;

/** A key over the sources (names, sizes, mtimes): a build is reused while nothing changed. */
function sourceKey(): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const st = statSync(p);
        h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
      }
    }
  };
  walk(join(ROOT, 'src'));
  return h.digest('hex').slice(0, 16);
}

/** Build (or reuse a build of the same sources) and return the package root of the compiled copy. */
export function buildPackage(): string {
  if (built) return built;
  const final = join(tmpdir(), `mpwire-build-${sourceKey()}`);
  if (existsSync(join(final, 'dist/cli/main.js'))) return (built = final);
  const dir = mkdtempSync(join(tmpdir(), 'mpwire-build-tmp-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist'), '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch {
    // Type errors elsewhere in the tree do not stop tsc from emitting JavaScript.
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'mpwire', version: '0.0.0-test', type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'python'), join(dir, 'python'));
  try {
    renameSync(dir, final);
  } catch {
    // Another test file built the same sources first.
    rmSync(dir, { recursive: true, force: true });
  }
  built = final;
  return final;
}

/** Path of the compiled CLI entry. */
export function cliPath(): string {
  return join(buildPackage(), 'dist/cli/main.js');
}

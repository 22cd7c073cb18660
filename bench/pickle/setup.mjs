// What bench.mjs and floors.mjs share: the build under test (`--dist <dir>`, default ../../dist),
// pickleparser when it is installed, and a best-of timer.
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
const argDist = process.argv.indexOf('--dist');
const dist = argDist > 0 ? process.argv[argDist + 1] : join(here, '..', '..', 'dist');

/** `loads`/`dumps` of the build under test, its `findPythons`, and pickleparser's `Parser` (undefined when missing). */
export async function loadBuild() {
  const { loads, dumps } = await import(pathToFileURL(join(dist, 'pickle', 'index.js')).href);
  const { findPythons } = await import(pathToFileURL(join(dist, 'bridge', 'find-pythons.js')).href);
  let Parser;
  try {
    ({ Parser } = await import('pickleparser'));
  } catch {
    Parser = undefined;
  }
  return { loads, dumps, findPythons, Parser };
}

/** The best time of `f` in seconds: at least `minRuns` runs, more while `budgetMs` lasts (200 at most). */
export function best(f, budgetMs = 1000, minRuns = 3) {
  let min = Infinity;
  const start = performance.now();
  for (let n = 0; n < minRuns || (performance.now() - start < budgetMs && n < 200); n++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min / 1000;
}

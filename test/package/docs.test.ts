/**
 * Claims in README.md, SECURITY.md and the entry points' TSDoc that have gone wrong before: the
 * fixed pickle budgets and their numbers, the serveManager example's typeids, the Python 2 way to
 * open `MPWIRE_FD`, which calls have a handshake, and subpaths that do not exist.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COPY_BUDGET_BASE, COPY_BUDGET_PER_BYTE } from '../../src/pickle/budget.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const readme = read('README.md');
const security = read('SECURITY.md');
const pkg = JSON.parse(read('package.json')) as { exports: Record<string, unknown> };

/** The number a `NAME = …` constant of the pickle decoder is set to (`1 << n` included). */
function decoderConstant(name: string): number {
  const m = new RegExp(`const ${name} = (\\d+)(?: << (\\d+))?;`).exec(read('src/pickle/loads.ts'));
  if (!m) throw new Error(`src/pickle/loads.ts no longer defines ${name}: update SECURITY.md and this test`);
  return m[2] === undefined ? Number(m[1]) : Number(m[1]) << Number(m[2]);
}

describe('SECURITY.md', () => {
  const row = (name: string): string => security.split('\n').find((l) => l.startsWith('| pickle |') && l.includes(name)) ?? '';

  it('lists the fixed pickle budgets with the numbers the decoder uses', () => {
    const n = (x: number): string => x.toLocaleString('en-US');
    expect(row('copy budget')).toContain(`| ${COPY_BUDGET_PER_BYTE} items per input byte + ${n(COPY_BUDGET_BASE)} |`);
    const walk = row('hook-argument walk');
    expect(walk).toContain(`| ${decoderConstant('HOOK_WALK_PER_BYTE')} steps per input byte + ${n(decoderConstant('HOOK_WALK_BASE'))} |`);
    expect(row('reserved list capacity')).toContain('the input bytes still unread');
    for (const what of ['builtins handlers', 'NumPy models', 'hooks']) expect(row('copy budget')).toContain(what);
  });
});

describe('README.md', () => {
  it('every typeid a served method returns (methodToTypeid) is registered in the same example', () => {
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').filter((b) => b.includes('serveManager('));
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      for (const m of block.matchAll(/methodToTypeid: \{([^}]*)\}/g)) {
        for (const t of (m[1] ?? '').matchAll(/'([^']+)'/g)) expect(block, `typeid ${t[1]}`).toMatch(new RegExp(`\\b${t[1]}: \\{`));
      }
    }
  });

  it('the limits table gives handshakeTimeout only to calls that have a handshake', () => {
    const rows = readme.split('\n').filter((l) => l.startsWith('| `handshakeTimeout`'));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const where = r.split('|')[2] ?? '';
      expect(where).not.toMatch(/same|`Pipe`,|`adoptFd`,|`adoptFd` \|/);
    }
  });

  it('says how Python 2.7 opens MPWIRE_FD without the helper', () => {
    expect(readme).toContain("_multiprocessing.Connection(int(os.environ['MPWIRE_FD']))");
    expect(readme).not.toMatch(/Plain stdlib code works too:\s*`Connection\(/);
  });
});

describe('entry point docs', () => {
  it('name only subpaths the package exports', () => {
    const exported = new Set(Object.keys(pkg.exports).map((k) => (k === '.' ? 'mpwire' : `mpwire/${k.slice(2)}`)));
    for (const file of ['README.md', 'SECURITY.md', 'src/index.ts', 'src/bridge/index.ts', 'src/bridge/spawn-python.ts', 'src/bridge/rpc.ts']) {
      for (const m of read(file).matchAll(/`(mpwire\/[a-z]+)`/g)) expect(exported, `${file}: ${m[1]}`).toContain(m[1]);
    }
  });
});

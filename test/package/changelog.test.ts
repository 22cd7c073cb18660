/** CHANGELOG.md stays in the Keep a Changelog shape the README promises. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const text = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const headings = [...text.matchAll(/^## \[([^\]]+)\](.*)$/gm)].map((m) => ({ name: m[1] as string, rest: (m[2] ?? '').trim() }));
const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

function cmp(a: string, b: string): number {
  const pa = SEMVER.exec(a)?.slice(1, 4).map(Number) ?? [];
  const pb = SEMVER.exec(b)?.slice(1, 4).map(Number) ?? [];
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

describe('CHANGELOG.md', () => {
  it('starts with the title and an Unreleased section', () => {
    expect(text.startsWith('# Changelog\n')).toBe(true);
    expect(headings[0]?.name).toBe('Unreleased');
  });

  it('lists released versions as `## [x.y.z] - YYYY-MM-DD`, newest first', () => {
    const released = headings.slice(1);
    for (const h of released) {
      expect(h.name, h.name).toMatch(SEMVER);
      expect(h.rest, h.name).toMatch(/^- \d{4}-\d{2}-\d{2}$/);
    }
    for (let i = 1; i < released.length; i++) expect(cmp(released[i - 1]?.name ?? '', released[i]?.name ?? '')).toBeGreaterThan(0);
  });

  it("has the package.json version once any version has been released", () => {
    const released = headings.slice(1).map((h) => h.name);
    if (released.length > 0) expect(released).toContain(version);
  });
});

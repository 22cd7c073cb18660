import { describe, expect, it } from 'vitest';
import { findPythons } from '../src/bridge/find-pythons.js';

describe('findPythons', () => {
  it('finds at least one CPython with an exact version, sorted, without duplicates', async () => {
    const list = await findPythons();
    expect(list.length).toBeGreaterThan(0);
    for (const py of list) {
      expect(py.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(py.path.startsWith('/')).toBe(true);
    }
    const keys = list.map((p) => `${p.implementation} ${p.version}`);
    expect(new Set(keys).size).toBe(keys.length);
    console.log(list.map((p) => `${p.version} (${p.source}) ${p.path}`).join('\n'));
  });
  it('honours MPWIRE_PYTHONS and ignores missing paths', async () => {
    const all = await findPythons();
    const first = all[0]!;
    const list = await findPythons({ env: { MPWIRE_PYTHONS: `${first.path}:/nonexistent/python9`, PATH: '', HOME: '/nonexistent' } });
    expect(list.map((p) => p.path)).toEqual([first.path]);
    expect(list[0]!.source).toBe('env');
  });
});

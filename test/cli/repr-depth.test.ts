import { describe, expect, it } from 'vitest';
import { pyRepr, toJson } from '../../src/cli/repr.js';
import { loads, tuple } from '../../src/pickle/index.js';

const DEEP = 100_000;
const CAP = 200;

/** `[[[…]]]` nested `depth` lists deep, built without recursion; `leaf` goes in the innermost. */
function nestedLists(depth: number, ...leaf: unknown[]): unknown[] {
  const root: unknown[] = [];
  let cur = root;
  for (let i = 1; i < depth; i++) {
    const next: unknown[] = [];
    cur.push(next);
    cur = next;
  }
  cur.push(...leaf);
  return root;
}

describe('rendering deeply nested values', () => {
  it('pyRepr and toJson cut a 100,000-deep list at the depth cap instead of overflowing the stack', () => {
    const v = nestedLists(DEEP);
    expect(pyRepr(v)).toBe(`${'['.repeat(CAP)}[...]${']'.repeat(CAP)}`);
    expect(toJson(v)).toBe(`${'['.repeat(CAP)}"..."${']'.repeat(CAP)}`);
  });

  it('a 100,000-deep pickle (~200 KB, as a peer sends it) decodes and renders', () => {
    // PROTO 2, EMPTY_LIST × n, APPEND × (n - 1), STOP: each list appended into its parent.
    const data = Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(DEEP, ']'), Buffer.alloc(DEEP - 1, 'a'), Buffer.from('.')]);
    const v = loads(data);
    expect(pyRepr(v)).toBe(`${'['.repeat(CAP)}[...]${']'.repeat(CAP)}`);
    expect(toJson(v)).toBe(`${'['.repeat(CAP)}"..."${']'.repeat(CAP)}`);
  });

  it('deep tuples and dicts use their own abbreviations; leaves at the cap still print', () => {
    let t: unknown = 1;
    for (let i = 0; i < DEEP; i++) t = tuple(t);
    expect(pyRepr(t)).toBe(`${'('.repeat(CAP)}(...)${',)'.repeat(CAP)}`);
    let d: unknown = 'x';
    for (let i = 0; i < DEEP; i++) d = new Map([['k', d]]);
    expect(pyRepr(d)).toBe(`${"{'k': ".repeat(CAP)}{...}${'}'.repeat(CAP)}`);
    expect(toJson(d)).toBe(`${'{"k":'.repeat(CAP)}"..."${'}'.repeat(CAP)}`);
    const full = nestedLists(CAP, Buffer.from('z'), 2);
    expect(pyRepr(full)).toBe(`${'['.repeat(CAP)}b'z', 2${']'.repeat(CAP)}`);
    expect(toJson(full)).toBe(`${'['.repeat(CAP)}{"$bytes":"7a"},2${']'.repeat(CAP)}`);
  });
});

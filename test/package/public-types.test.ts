/**
 * The public types: no `any` in what the package ships, and user callbacks typed so that their
 * parameters are checked. The `// @ts-expect-error` lines are checked by `tsc -p .` (`make
 * typecheck`), not by vitest: they fail the type check if the line stops being an error. The
 * `.d.ts` scan needs a build first (`npm run build`).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { FindPythonsOptions, Handler, Handlers, SpawnPythonOptions } from '../../src/bridge/index.js';
import type { ManagerFactory, ServeManagerOptions } from '../../src/managers/server.js';
import type { ListenOptions } from '../../src/wire/listener.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every `any` written as a type in a declaration file (comments and strings do not count), as `file:line: text`. */
function anyTypes(file: string, text = readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      found.push(`${relative(root, file)}:${line + 1}: ${node.parent.getText(source)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Type-level assertion: the argument must be assignable to `T`. */
const accept = <T>(value: T): T => value;

describe('public declarations', () => {
  it('no emitted .d.ts uses `any` as a type', () => {
    const dist = join(root, 'dist');
    if (!existsSync(join(dist, 'index.d.ts'))) throw new Error('dist/ is missing: run `npm run build` (or `make build`) first');
    const files = walk(dist).filter((f) => f.endsWith('.d.ts'));
    expect(files.length).toBeGreaterThan(10);
    expect(files.flatMap((f) => anyTypes(f))).toEqual([]);
  });

  it('the scan finds `any` in every position it can take, and only as a type', () => {
    const text = [
      'export declare const a: any;',
      'export declare function b(...args: any[]): void;',
      'export type C = Promise<any>;',
      'export interface D { e(x: string): any }',
      'export type F = { [k: string]: any };',
      'export declare class G { h: Map<string, any> }',
      "/** Not types: any, `: any`, any[] in a comment, and 'any' in a string. */",
      "export declare const i: 'any';",
    ].join('\n');
    expect(anyTypes(join(root, 'dist', 'example.d.ts'), text).map((l) => l.replace(/^[^:]+:/, ''))).toEqual([
      '1: a: any',
      '2: any[]',
      '3: Promise<any>',
      '4: e(x: string): any',
      '5: [k: string]: any',
      '6: Map<string, any>',
    ]);
  });

  it('ManagerFactory and Handler take typed parameters and refuse unchecked use of untyped ones', () => {
    const typed = [
      accept<ManagerFactory>((a: number, b: string) => a + b.length),
      accept<ManagerFactory>((start: number = 0) => ({ n: start })),
      accept<ManagerFactory>(() => new Map()),
      accept<Handler>((a: number, b: string) => a + b.length),
      accept<Handler>(async (...values: unknown[]) => values.length),
      accept<Handlers>({ log: (line: string) => line.length, now: () => Date.now() }),
      accept<ServeManagerOptions>({ authkey: 'k', registry: { Calc: { callable: (n: number) => ({ n }), exposed: ['n'] } } }),
      // @ts-expect-error an unannotated parameter is `never`, so using it does not compile
      accept<ManagerFactory>((x) => x.no.such),
      // @ts-expect-error the same for a bridge handler
      accept<Handler>((x) => x.no.such),
      // @ts-expect-error and inside the options of spawnPython
      accept<SpawnPythonOptions>({ handlers: { log: (line) => line.toUpperCase() } }),
    ];
    expect(typed.every((v) => v !== undefined)).toBe(true);
  });

  it('the calls that wait accept { signal, timeout } (API.md), the setup-only ones a signal', () => {
    const { signal } = new AbortController();
    const options = [
      accept<SpawnPythonOptions>({ signal, timeout: 1000, handshakeTimeout: 500 }),
      accept<FindPythonsOptions>({ signal, timeout: 1000, refresh: true }),
      accept<ListenOptions>({ signal }),
      accept<ServeManagerOptions>({ authkey: 'k', signal }),
    ];
    expect(options).toHaveLength(4);
  });
});

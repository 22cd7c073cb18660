/**
 * Input budget and bookkeeping shared by the fuzzers in test/fuzz.
 *
 * `MPWIRE_FUZZ_RUNS` is the base number of inputs per property (default 200, the short CI run);
 * each property scales it by a weight that reflects its cost. `make fuzz` sets it high enough for
 * more than a million inputs in all. Every fuzzer counts the inputs it really executed (shrinking
 * included) and prints them per target when its file ends; with `MPWIRE_FUZZ_REPORT=<file>` the
 * counts are also appended to that file as JSON lines, which `make fuzz` sums up.
 */
import { appendFileSync } from 'node:fs';
import { afterAll } from 'vitest';

const raw = process.env.MPWIRE_FUZZ_RUNS;
/** Base number of inputs per property. */
export const BASE_RUNS = raw !== undefined && Number(raw) > 0 ? Math.floor(Number(raw)) : 200;

/** Inputs for one property: the base count times `weight`, at least 1. */
export function runs(weight = 1): number {
  return Math.max(1, Math.round(BASE_RUNS * weight));
}

/** A generous per-test timeout for the current budget (the long run raises it on the CLI too). */
export const FUZZ_TIMEOUT = Math.max(60_000, BASE_RUNS * 20);

const counts = new Map<string, number>();

/** Count one executed input for `target`. */
export function tried(target: string, n = 1): void {
  counts.set(target, (counts.get(target) ?? 0) + n);
}

/** Inputs executed so far for `target`. */
export function triedSoFar(target: string): number {
  return counts.get(target) ?? 0;
}

/** Register the end-of-file report (call once per fuzz file, at top level). */
export function reportInputs(file: string): void {
  afterAll(() => {
    const lines = [...counts].map(([target, n]) => `[fuzz] ${file} ${target}: ${n} inputs`);
    console.log(lines.join('\n'));
    const out = process.env.MPWIRE_FUZZ_REPORT;
    if (out) {
      for (const [target, n] of counts) appendFileSync(out, `${JSON.stringify({ file, target, inputs: n })}\n`);
    }
  });
}

/** Object.prototype's own keys and property values, to prove that nothing polluted it. */
export function prototypeSnapshot(): string {
  const parts: string[] = [];
  for (const proto of [Object.prototype, Array.prototype, Map.prototype, Set.prototype, Function.prototype]) {
    for (const k of Reflect.ownKeys(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, k);
      parts.push(`${String(k)}:${typeof d?.value}:${typeof d?.get}:${typeof d?.set}`);
    }
  }
  return parts.join('|');
}

/** Throws when any of the usual pollution symptoms is visible; with `before`, also compares a full snapshot. */
export function assertNotPolluted(before?: string): void {
  const probe = {} as Record<string, unknown>;
  if (probe['polluted'] !== undefined || ([] as unknown as Record<string, unknown>)['polluted'] !== undefined) {
    throw new Error('Object.prototype was polluted');
  }
  if (Object.getPrototypeOf(probe) !== Object.prototype) throw new Error('prototype of {} changed');
  if (before !== undefined && prototypeSnapshot() !== before) throw new Error('a builtin prototype changed');
}

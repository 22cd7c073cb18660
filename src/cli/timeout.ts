/**
 * The `--timeout <ms>` option of the commands.
 * @module
 */
import { UsageError } from './errors.js';

/**
 * Parse `--timeout`: a positive number of milliseconds, or `Infinity`/`inf` for no limit. Values
 * beyond 2^31-1 ms are kept as they are (the timers take any delay).
 */
export function parseTimeout(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = /^\s*\+?inf(inity)?\s*$/i.test(v) ? Number.POSITIVE_INFINITY : Number(v);
  if (Number.isNaN(n) || n <= 0) throw new UsageError(`--timeout must be a positive number of milliseconds or Infinity, got '${v}'`);
  return n;
}

/**
 * `ChildExitError`: the Python child of a bridge died while calls were pending.
 * @module
 */
import { MpwireError, type MpwireErrorOptions } from '../errors.js';

/**
 * Details of a child's exit.
 * @example
 * ```ts
 * const child = await spawnPython(['worker.py']);
 * const { exitCode, signal } = await child.exit;
 * ```
 */
export interface ChildExit {
  /** Exit code, or `null` when a signal ended it. */
  readonly exitCode: number | null;
  /** Signal name, e.g. `'SIGKILL'`, or `null`. */
  readonly signal: NodeJS.Signals | null;
}

/**
 * The Python child exited (crash, `sys.exit`, a signal) while a receive, send or call was pending.
 * `stderrTail` holds the last lines it wrote to stderr (usually the traceback).
 * @example
 * ```ts
 * await child.call('crash').catch((e) => { if (e instanceof ChildExitError) console.log(e.exitCode, e.stderrTail); });
 * ```
 */
export class ChildExitError extends MpwireError {
  /** The child's exit code, or `null` when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended the child, e.g. `'SIGKILL'`, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** The child's process id, when known. */
  readonly pid: number | undefined;
  /** The last lines of the child's stderr (at most 20 lines / 8 KiB). */
  readonly stderrTail: string;
  constructor(exit: ChildExit & { pid?: number | undefined; stderrTail: string }, options?: MpwireErrorOptions) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    const last = exit.stderrTail.trimEnd().split('\n').pop() ?? '';
    super(`python child${exit.pid ? ` ${exit.pid}` : ''} ${how}${last ? `: ${last}` : ''}`, 'MPWIRE_CHILD_EXIT', options);
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
    this.pid = exit.pid;
    this.stderrTail = exit.stderrTail;
  }
}

/**
 * Narrowing guard.
 * @example
 * ```ts
 * await child.call('work').catch((e) => {
 *   if (isChildExitError(e)) console.log(`worker died (${e.exitCode}):\n${e.stderrTail}`);
 * });
 * ```
 */
export function isChildExitError(e: unknown): e is ChildExitError {
  return e instanceof ChildExitError;
}

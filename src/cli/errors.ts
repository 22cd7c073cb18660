/**
 * Errors of the command-line tool: each becomes one line on stderr and an exit code.
 * @module
 */

/** Exit codes of `mpwire`. */
export const EXIT = {
  ok: 0,
  /** A check, probe or operation failed (verdict FAIL, connection refused, remote error). */
  failure: 1,
  /** Bad arguments. */
  usage: 2,
  /** Authentication failed. */
  auth: 3,
  /**
   * Standard output was closed by its reader (`mpwire listen … | head -1`): the command stops
   * quietly. 141 is what a shell reports for a process that SIGPIPE ended (128 + 13), as `cat` or
   * `yes` would end in the same pipeline.
   */
  brokenPipe: 141,
} as const;

/** Bad command-line input (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure already explained to the user; carries the exit code. */
export class CliFailure extends Error {
  override name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

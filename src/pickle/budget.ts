/**
 * The copy budget of a running `loads`: how many items (and bytes) the models and the builtins
 * handlers may still copy out of values the pickle already holds. A reduction such as `list(x)`
 * costs a few bytes of pickle and copies all of `x`, so a memoized large collection handed to it
 * again and again would turn a small input into gigabytes; every such copy is charged here.
 * Internal (not in the package index).
 * @module
 */

/** Items or bytes a decode may copy per byte of its input, on top of {@link COPY_BUDGET_BASE}. */
export const COPY_BUDGET_PER_BYTE = 4;
/** Items or bytes every decode may copy whatever its size. */
export const COPY_BUDGET_BASE = 1 << 20;

/** What is left of the budget of the innermost running decode (a hook may run a nested `loads`). */
let active: { left: number } | undefined;

/**
 * Charge `n` copied items (or bytes) to the running decode; throws once the budget is spent.
 * Outside `loads` (a model used directly) nothing is charged.
 */
export function chargeCopies(n: number): void {
  if (active !== undefined && (active.left -= n) < 0) {
    throw new RangeError(
      `the pickle copies more than ${COPY_BUDGET_PER_BYTE} items per input byte (+${COPY_BUDGET_BASE}) out of values it already holds`,
    );
  }
}

/** Run `f` (a decode of an input of `inputBytes` bytes) with a fresh budget, and restore the outer one after. */
export function withCopyBudget<T>(inputBytes: number, f: () => T): T {
  const outer = active;
  active = { left: COPY_BUDGET_PER_BYTE * inputBytes + COPY_BUDGET_BASE };
  try {
    return f();
  } finally {
    active = outer;
  }
}

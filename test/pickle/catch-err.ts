import { UnpicklingError } from '../../src/pickle/index.js';

/** The UnpicklingError `f` throws; any other outcome fails the test with what happened instead. */
export function catchErr(f: () => unknown): UnpicklingError {
  try {
    f();
  } catch (e) {
    if (e instanceof UnpicklingError) return e;
    throw new Error(`expected UnpicklingError, got ${String(e)}`);
  }
  throw new Error('expected UnpicklingError, got a value');
}

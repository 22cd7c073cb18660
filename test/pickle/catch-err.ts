import { UnpicklingError } from '../../src/pickle/index.js';

/** The error of class `cls` that `f` throws; any other outcome fails the test with what happened instead. */
export function catchErrOf<E extends Error>(cls: new (...args: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof cls) return e;
    throw new Error(`expected ${cls.name}, got ${String(e)}`);
  }
  throw new Error(`expected ${cls.name}, got a value`);
}

/** The UnpicklingError `f` throws; any other outcome fails the test with what happened instead. */
export function catchErr(f: () => unknown): UnpicklingError {
  return catchErrOf(UnpicklingError, f);
}

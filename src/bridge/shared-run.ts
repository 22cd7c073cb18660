/**
 * A slow job (interpreter discovery, a version probe) shared by every caller that asks for it
 * while it runs or after it succeeded, with `{ signal, timeout }` per caller. A caller that gives
 * up stops waiting; the job itself is stopped (its processes killed) only once no caller waits for
 * it any more, so one caller's abort never fails the others.
 * @module
 */
import { type WaitOptions, waitFor } from '../wire/deadline.js';

interface Run<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  /** Callers waiting with a signal or timeout; one without either keeps the run alive on its own. */
  waiting: number;
  /** A caller with neither a signal nor a timeout waits on it: it is never stopped. */
  pinned: boolean;
  settled: boolean;
}

/**
 * One shared job, started on demand by `start(signal)`; `signal` aborts when every caller gave up.
 * A job that fails (or was stopped) is forgotten, so the next caller starts it again.
 */
export class SharedRun<T> {
  readonly #start: (signal: AbortSignal) => Promise<T>;
  readonly #what: string;
  #run: Run<T> | undefined;

  constructor(what: string, start: (signal: AbortSignal) => Promise<T>) {
    this.#what = what;
    this.#start = start;
  }

  /**
   * Wait for the job (a fresh one when `fresh` or none is known). Rejects with `AbortError` or
   * `TimeoutError` per `options`; an already-aborted signal starts nothing.
   */
  get(options: WaitOptions = {}, fresh = false): Promise<T> {
    const patient = options.signal === undefined && options.timeout === undefined;
    return waitFor<T>(
      options,
      (resolve, reject) => {
        const run = (!fresh && this.#run) || this.#begin();
        if (patient) run.pinned = true;
        else run.waiting++;
        run.promise.then(resolve, reject);
        return () => {
          run.waiting--;
          if (run.waiting > 0 || run.pinned || run.settled) return;
          if (this.#run === run) this.#run = undefined;
          run.controller.abort();
        };
      },
      this.#what,
    );
  }

  #begin(): Run<T> {
    const controller = new AbortController();
    const run: Run<T> = { promise: this.#start(controller.signal), controller, waiting: 0, pinned: false, settled: false };
    this.#run = run;
    run.promise.then(
      () => {
        run.settled = true;
      },
      () => {
        run.settled = true;
        if (this.#run === run) this.#run = undefined;
      },
    );
    return run;
  }
}

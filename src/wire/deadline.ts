/**
 * `{ signal, timeout }` handling shared by every call that can wait.
 * @module
 */
import { AbortError, TimeoutError } from '../errors.js';

/**
 * Options of every call that can wait.
 * @example
 * ```ts
 * const conn = await listener.accept({ timeout: 5_000, signal: AbortSignal.timeout(60_000) });
 * ```
 */
export interface WaitOptions {
  /** Cancels the wait; the call rejects with {@link AbortError} whose `cause` is `signal.reason`. */
  signal?: AbortSignal;
  /** Milliseconds before the call rejects with {@link TimeoutError}. */
  timeout?: number;
}

/** Longest delay `setTimeout` honours (~24.8 days): Node fires a longer one after 1 ms (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The cancel function of a timer that was never armed. */
const noop = (): void => undefined;

/**
 * `setTimeout(fn, ms)` for any delay: one longer than Node's limit is waited in chained timers of at
 * most 2^31 - 1 ms (not taken as "never": a 30-day timeout still fires). `Infinity` arms no timer
 * at all (so nothing keeps the event loop alive) and returns a cancel function that does nothing;
 * a negative delay or NaN fires as soon as possible, like 0. Returns the cancel function.
 * @example
 * ```ts
 * const cancel = startTimer(30 * 86_400_000, () => console.log('30 days later'));
 * cancel();
 * ```
 */
export function startTimer(ms: number, fn: () => void): () => void {
  if (ms === Number.POSITIVE_INFINITY) return noop;
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number): void => {
    const step = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => (left > step ? arm(left - step) : fn()), step);
  };
  arm(Number.isNaN(ms) ? 0 : Math.max(0, ms));
  return () => clearTimeout(timer);
}

/**
 * Run a waiting operation under `{ signal, timeout }`. `start` begins the wait and returns a
 * function that cancels it (removes it from whatever queue it sits in); it is called exactly once
 * when the wait ends early by abort or timeout.
 */
export function waitFor<T>(
  options: WaitOptions | undefined,
  start: (resolve: (value: T) => void, reject: (err: unknown) => void) => () => void,
  what = 'operation',
): Promise<T> {
  const signal = options?.signal;
  const timeout = options?.timeout;
  if (signal?.aborted) return Promise.reject(new AbortError(`${what} aborted`, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cancelTimer: (() => void) | undefined;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const cancel = start(
      (v) => {
        if (finish()) resolve(v);
      },
      (e) => {
        if (finish()) reject(e);
      },
    );
    function onAbort(): void {
      if (!finish()) return;
      cancel();
      reject(new AbortError(`${what} aborted`, { cause: signal?.reason }));
    }
    if (done) return;
    if (timeout !== undefined) {
      cancelTimer = startTimer(timeout, () => {
        if (!finish()) return;
        cancel();
        reject(new TimeoutError(`${what} timed out after ${timeout} ms`));
      });
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Join `line` (wake-up functions, first first) and wait until called, under `options`; a wait that
 * ends early (abort, timeout) takes its place out of the line, so it is never woken afterwards.
 * @example
 * ```ts
 * const line: Array<(conn: Connection) => void> = [];
 * const conn = await waitInLine(line, { timeout: 5_000 }, 'accept'); // woken by line.shift()?.(conn)
 * ```
 */
export function waitInLine<T>(line: Array<(value: T) => void>, options: WaitOptions | undefined, what: string): Promise<T> {
  return waitFor<T>(
    options,
    (resolve) => {
      line.push(resolve);
      return () => {
        const i = line.indexOf(resolve);
        if (i >= 0) line.splice(i, 1);
      };
    },
    what,
  );
}

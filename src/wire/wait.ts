/**
 * `wait()`: the first of several connections or listeners that is ready.
 * @module
 */
import { AbortError, ConnectionClosedError } from '../errors.js';
import { Connection } from './connection.js';
import { startTimer } from './deadline.js';
import type { Listener } from './listener.js';

/**
 * Something {@link wait} can watch.
 * @example
 * ```ts
 * const watched: Waitable[] = [conn, listener];
 * const ready = await wait(watched, 1.0);
 * ```
 */
export type Waitable = Connection | Listener;

/**
 * Wait until at least one object is ready (a connection has data or EOF, a listener has a
 * connection to accept) and resolve with the ready ones, in the given order; `[]` on timeout.
 * `timeout` is in seconds as in Python; `undefined`/`null`/`Infinity` wait forever.
 *
 * A closed connection rejects the call with {@link ConnectionClosedError} (CPython raises
 * `OSError: handle is closed`). An open connection that can no longer be read (a write-only end,
 * or one a framing error such as an oversized frame made write-only) is reported ready: its `recv`
 * does not wait but raises, as in CPython, whose `wait()` reports such a socket readable. Aborting
 * `signal` rejects with {@link AbortError} unless something is already ready.
 * @example
 * ```ts
 * for (const c of await wait([a, b], 1.0)) console.log(await (c as Connection).recv());
 * ```
 */
export async function wait<T extends Waitable>(objects: readonly T[], timeout?: number | null, options: { signal?: AbortSignal } = {}): Promise<T[]> {
  const ready = (): T[] => {
    for (const o of objects) if (o instanceof Connection && o.closed) throw new ConnectionClosedError();
    return objects.filter((o) => o._ready);
  };
  const now = ready();
  if (now.length > 0 || timeout === 0 || (typeof timeout === 'number' && timeout < 0)) return now;
  const signal = options.signal;
  /** Ends the wait: the caller's signal or the timeout. */
  const end = new AbortController();
  let timedOut = false;
  const onAbort = (): void => end.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  // startTimer, not setTimeout: Node fires a delay over 2^31-1 ms after 1 ms; Infinity arms nothing.
  const cancelTimer =
    timeout === undefined || timeout === null
      ? undefined
      : startTimer(timeout * 1000, () => {
          timedOut = true;
          end.abort();
        });
  try {
    for (;;) {
      if (signal?.aborted) throw new AbortError('wait aborted', { cause: signal.reason });
      await nextChange(objects, end.signal);
      const found = ready();
      if (found.length > 0 || timedOut) return found;
    }
  } finally {
    cancelTimer?.();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Resolves when any object may have become ready, or when `stop` aborts. */
function nextChange(objects: readonly Waitable[], stop: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const round = new AbortController();
    const done = (): void => {
      round.abort();
      stop.removeEventListener('abort', done);
      resolve();
    };
    stop.addEventListener('abort', done, { once: true });
    if (stop.aborted) done();
    for (const o of objects) {
      if (round.signal.aborted) break;
      if (o instanceof Connection) void o.poll(null, { signal: round.signal }).then(done, done);
      else round.signal.addEventListener('abort', o._onReady(done), { once: true });
    }
  });
}

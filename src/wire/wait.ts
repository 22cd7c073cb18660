/**
 * `wait()`: the first of several connections or listeners that is ready.
 * @module
 */
import { Connection } from './connection.js';
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
 * `timeout` is in seconds as in Python; `undefined`/`null` waits forever.
 * @example
 * ```ts
 * for (const c of await wait([a, b], 1.0)) console.log(await (c as Connection).recv());
 * ```
 */
export async function wait<T extends Waitable>(objects: readonly T[], timeout?: number | null, options: { signal?: AbortSignal } = {}): Promise<T[]> {
  const ready = (): T[] => objects.filter((o) => o._ready);
  const now = ready();
  if (now.length > 0 || timeout === 0 || (typeof timeout === 'number' && timeout < 0)) return now;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    const watchers: Array<Promise<unknown>> = objects.map((o) => {
      if (o instanceof Connection) return o.poll(null, { signal: ac.signal }).catch(() => true);
      return new Promise<void>((resolve) => {
        const off = o._onReady(resolve);
        ac.signal.addEventListener('abort', () => {
          off();
          resolve();
        }, { once: true });
      });
    });
    if (timeout !== undefined && timeout !== null) {
      watchers.push(new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeout * 1000);
        ac.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
      }));
    }
    if (options.signal?.aborted) return [];
    await Promise.race(watchers);
    return ready();
  } finally {
    ac.abort();
    options.signal?.removeEventListener('abort', stop);
  }
}

/**
 * The request/response helper of the bridge: `call(name, ...args)` on one end, `serve({ name: fn })`
 * on the other, with ids, pipelining and exceptions mapped both ways. The Python end is
 * `python/mpwire_child.py`; both ends may call and serve on the same connection.
 *
 * Messages are plain lists so that any codec carries them:
 * `['call', id, name, args, kwargs]`, `['ok', id, value]`, `['err', id, info]` with
 * `info = { type, module, message, args, traceback }`.
 * @module
 */
import { startTimer } from '../wire/deadline.js';
import type { Connection } from '../wire/index.js';
import { AbortError, MpwireError, ProtocolError, RemoteError, TimeoutError, UnpicklingError } from '../errors.js';

/**
 * A handler answering calls from the other end; its return value (or promise) is the result. It
 * receives the positional arguments the caller sent, then a plain object of the keyword arguments
 * when there are any. Annotate its parameters with the types you expect: `never[]` accepts any
 * parameter list, while an unannotated parameter is typed `never`, so using it is a type error
 * instead of an unchecked `any`. Nothing checks the values at run time.
 * @example
 * ```ts
 * const log: Handler = (line: string) => console.log('[python]', line);
 * const child = await spawnPython(['worker.py'], { handlers: { log } });
 * ```
 */
export type Handler = (...args: never[]) => unknown;

/**
 * Handlers by name.
 * @example
 * ```ts
 * const handlers: Handlers = { now: () => Date.now(), log: (s: string) => console.log(s) };
 * child.handle(handlers);
 * ```
 */
export type Handlers = Record<string, Handler>;

/**
 * Options of one call.
 * @example
 * ```ts
 * const r = await child.callWith('resize', [image], { kwargs: { width: 640 }, timeout: 5_000 });
 * ```
 */
export interface CallOptions {
  /** Keyword arguments for the Python handler. */
  kwargs?: Record<string, unknown>;
  /** Aborting it rejects the call with `AbortError` (the late answer is dropped). */
  signal?: AbortSignal;
  /** Milliseconds before the call rejects with `TimeoutError` (the late answer is dropped). */
  timeout?: number;
}

/**
 * Options of {@link RpcPeer}.
 * @example
 * ```ts
 * const peer = new RpcPeer(conn, { handlers: { ping: () => 'pong' }, onEnd: () => console.log('peer gone') });
 * ```
 */
export interface RpcPeerOptions {
  /** Handlers the other end may call. Passing it (even `{}`) starts reading the connection at once. */
  handlers?: Handlers;
  /**
   * Maps a receive error (EOF, protocol error) to the error given to pending calls; the bridge
   * uses it to turn a dead child's EOF into `ChildExitError`.
   */
  mapError?: (err: unknown) => unknown | Promise<unknown>;
  /** Called once when the connection ends (EOF, close, fatal error). */
  onEnd?: (err: unknown) => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  cleanup(): void;
}

/** Python-side exception info carried by an `'err'` message. */
interface ErrorInfo {
  type?: unknown;
  module?: unknown;
  message?: unknown;
  args?: unknown;
  traceback?: unknown;
}

const JS_TO_PY: Record<string, string> = {
  TypeError: 'TypeError',
  RangeError: 'ValueError',
  SyntaxError: 'SyntaxError',
  ReferenceError: 'NameError',
  EvalError: 'RuntimeError',
  URIError: 'ValueError',
  Error: 'Exception',
  AbortError: 'KeyboardInterrupt',
};

/** Text for a value that may be hostile (no `toString`, a throwing getter): never throws. */
function safeText(v: unknown, fallback: string): string {
  try {
    return typeof v === 'string' ? v : String(v);
  } catch {
    return fallback;
  }
}

/** An error's message as text, or `fallback` when it has none or reading it throws. */
function messageOf(e: unknown, fallback: string): string {
  try {
    const m = (e as { message?: unknown } | null | undefined)?.message;
    return typeof m === 'string' ? m : fallback;
  } catch {
    return fallback;
  }
}

/** The info sent when nothing about an error can be read or encoded: plain strings only. */
function plainInfo(message: string): Record<string, unknown> {
  return { type: 'Exception', module: 'javascript', message, args: [message], traceback: '' };
}

/**
 * The `'err'` payload for an error thrown by a JS handler. Never throws: a value that cannot be
 * read (no `toString`, throwing getters) gives plain fallback text, so every call is answered.
 * @example
 * ```ts
 * await conn.send(['err', id, errorInfo(new TypeError('bad input'))]);
 * ```
 */
export function errorInfo(err: unknown): Record<string, unknown> {
  try {
    if (err instanceof RemoteError) {
      const message = safeText(err.message, '');
      return { type: err.type ?? 'RemoteError', module: err.module ?? 'mpwire', message, args: [...err.args], traceback: err.traceback ?? '' };
    }
    if (err instanceof Error) {
      const message = safeText(err.message, '');
      const stack = safeText(err.stack ?? '', '');
      const pyType = (err as { type?: unknown }).type;
      const pyArgs = (err as { args?: unknown }).args;
      // PyException from mpwire/pickle carries a Python type and args already.
      if (typeof pyType === 'string' && Array.isArray(pyArgs)) {
        const module = (err as { module?: unknown }).module;
        return { type: pyType, module: typeof module === 'string' ? module : 'builtins', message, args: [...pyArgs], traceback: stack };
      }
      const name = safeText(err.name, 'Error');
      return { type: JS_TO_PY[name] ?? name, module: 'javascript', message, args: [message], traceback: stack };
    }
    return plainInfo(safeText(err, '<unprintable JS value>'));
  } catch {
    return plainInfo('<unprintable JS error>');
  }
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return undefined;
}

/**
 * The {@link RemoteError} for an `'err'` message from Python.
 * @example
 * ```ts
 * const [kind, id, payload] = (await conn.recv()) as [string, number, unknown];
 * if (kind === 'err') throw remoteErrorFrom(payload);
 * ```
 */
export function remoteErrorFrom(info: unknown): RemoteError {
  const i = (info ?? {}) as ErrorInfo;
  const type = str(i.type);
  const message = str(i.message) ?? '';
  const text = type ? (message ? `${type}: ${message}` : type) : message || 'remote error';
  return new RemoteError(text, {
    ...(type === undefined ? {} : { type }),
    ...(str(i.module) === undefined ? {} : { module: str(i.module) as string }),
    args: Array.isArray(i.args) ? i.args : [],
    ...(str(i.traceback) === undefined ? {} : { traceback: str(i.traceback) as string }),
  });
}

/**
 * Both directions of the request/response protocol over one {@link Connection}. Calls are
 * pipelined: any number may be in flight; answers are matched by id. Do not call
 * `conn.recv()` yourself while a peer reads the connection.
 * @example
 * ```ts
 * const peer = new RpcPeer(conn, { handlers: { log: (s) => console.log(s) } });
 * const sum = await peer.call('add', 1, 2);
 * ```
 */
export class RpcPeer implements AsyncDisposable {
  /** The connection this peer reads and writes. */
  readonly conn: Connection;
  /** The handlers the other end may call: a copy of `options.handlers`, extended by {@link handle}. */
  readonly handlers: Handlers;
  readonly #pending = new Map<number, Pending>();
  readonly #mapError: (err: unknown) => unknown | Promise<unknown>;
  readonly #onEnd: ((err: unknown) => void) | undefined;
  #nextId = 0;
  /** Sends go one after another: a burst of calls waits on one 'drain', not on one listener each. */
  #sendChain: Promise<unknown> = Promise.resolve();
  #reading = false;
  #ended: unknown;

  constructor(conn: Connection, options: RpcPeerOptions = {}) {
    this.conn = conn;
    this.handlers = { ...options.handlers };
    this.#mapError = options.mapError ?? ((e) => e);
    this.#onEnd = options.onEnd;
    if (options.handlers !== undefined) this.#startReading();
  }

  /** Number of calls waiting for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Add handlers the other end may call; starts reading the connection. */
  handle(handlers: Handlers): this {
    Object.assign(this.handlers, handlers);
    this.#startReading();
    return this;
  }

  /**
   * Call the remote handler `name` with positional `args`. Rejects with {@link RemoteError} when
   * it raises (Python type, module, args and traceback kept).
   * @example
   * ```ts
   * await peer.call('divide', 1, 0).catch((e) => e.type === 'ZeroDivisionError');
   * ```
   */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    return this.callWith<T>(name, args);
  }

  /** {@link call} with keyword arguments, a timeout or an AbortSignal. */
  callWith<T = unknown>(name: string, args: readonly unknown[] = [], options: CallOptions = {}): Promise<T> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    const { signal, timeout } = options;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    // Checked before anything is registered: a bad call must leave no pending entry or timer behind.
    if (!Array.isArray(args)) return Promise.reject(new TypeError(`call ${String(name)}: args must be an array`));
    const kwargs = options.kwargs ?? {};
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      return Promise.reject(new TypeError(`call ${String(name)}: kwargs must be an object`));
    }
    this.#startReading();
    const id = ++this.#nextId;
    const message = ['call', id, name, [...args], kwargs];
    return new Promise<T>((resolve, reject) => {
      let cancelTimer: (() => void) | undefined;
      const onAbort = (): void => {
        this.#pending.get(id)?.cleanup();
        this.#pending.delete(id);
        reject(new AbortError(undefined, { cause: signal?.reason }));
      };
      const entry: Pending = {
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup: () => {
          cancelTimer?.();
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.#pending.set(id, entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined) {
        // startTimer, not setTimeout, which fires a delay over 2^31-1 ms after 1 ms; Infinity arms nothing.
        cancelTimer = startTimer(timeout, () => {
          this.#pending.delete(id);
          signal?.removeEventListener('abort', onAbort);
          reject(new TimeoutError(`call ${name} timed out after ${timeout} ms`));
        });
      }
      this.#send(message).catch((e: unknown) => {
        if (this.#pending.delete(id)) {
          entry.cleanup();
          void Promise.resolve(this.#mapError(e)).then(reject, reject);
        }
      });
    });
  }

  #startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    for (;;) {
      let msg: unknown;
      try {
        msg = await this.conn.recv();
      } catch (e) {
        let err: unknown = e;
        if (!this.conn.closed && (e instanceof UnpicklingError || !(e instanceof MpwireError))) {
          // A frame the codec could not decode: it may be a reply (whose call would hang) or a
          // request (whose sender would wait forever), and we cannot tell whose. Fail loudly: close
          // the connection (the other end sees EOF) and reject every call with a typed error,
          // UnpicklingError as is, any other codec's error (e.g. JSON's SyntaxError) wrapped in
          // ProtocolError with reason 'undecodable'.
          err = e instanceof MpwireError ? e : new ProtocolError(`undecodable frame: ${messageOf(e, 'codec error')}`, 'undecodable', { cause: e });
          this.conn.close();
        }
        this.#ended = err;
        this.#fail(await this.#mapError(err));
        return;
      }
      this.#onMessage(msg);
    }
  }

  #onMessage(msg: unknown): void {
    if (!Array.isArray(msg) || msg.length < 2) return;
    const kind = msg[0];
    if (kind === 'call') {
      // Never rejects (errors become 'err' replies); the catch only guards against a crash.
      this.#serveOne(msg).catch(() => undefined);
      return;
    }
    const id = msg[1];
    if ((kind !== 'ok' && kind !== 'err') || (typeof id !== 'number' && typeof id !== 'bigint')) return;
    const entry = this.#pending.get(Number(id));
    if (!entry) return; // timed out or aborted
    this.#pending.delete(Number(id));
    entry.cleanup();
    // A reply of the wrong shape still answers its call: dropping it would hang the caller.
    if (msg.length !== 3) entry.reject(new ProtocolError(`malformed '${kind}' reply: ${msg.length} elements, expected 3`, 'bad-reply'));
    else if (kind === 'ok') entry.resolve(msg[2]);
    else entry.reject(remoteErrorFrom(msg[2]));
  }

  async #serveOne(msg: unknown[]): Promise<void> {
    const [, id, rawName, rawArgs, rawKwargs] = msg;
    const name = str(rawName) ?? '';
    const handler = Object.hasOwn(this.handlers, name) ? this.handlers[name] : undefined;
    let reply: unknown[];
    try {
      if (!handler) throw Object.assign(new Error(`no handler named '${name}'`), { name: 'NameError' });
      const args = Array.isArray(rawArgs) ? rawArgs : [];
      const kwargs = rawKwargs instanceof Map ? Object.fromEntries(rawKwargs) : rawKwargs;
      const hasKwargs = kwargs !== null && typeof kwargs === 'object' && Object.keys(kwargs).length > 0;
      // The one place a handler is called: its parameter types are the user's claim about the peer.
      const call = handler as (...values: unknown[]) => unknown;
      const result = await call(...args, ...(hasKwargs ? [kwargs] : []));
      reply = ['ok', id, result ?? null];
    } catch (e) {
      reply = ['err', id, errorInfo(e)];
    }
    // Exactly one reply per call: when the result or the error info cannot be encoded, the
    // encoding error is sent instead, and failing that a reply of plain strings.
    const fallbacks = [(e: unknown) => ['err', id, errorInfo(e)], (e: unknown) => ['err', id, plainInfo(`reply could not be encoded: ${messageOf(e, 'unknown error')}`)]];
    for (;;) {
      try {
        await this.#send(reply);
        return;
      } catch (e) {
        const next = fallbacks.shift();
        if (!next || this.conn.closed) return;
        reply = next(e);
      }
    }
  }

  #send(msg: unknown[]): Promise<void> {
    const p = this.#sendChain.then(() => this.conn.send(msg));
    this.#sendChain = p.catch(() => undefined);
    return p;
  }

  #failPending(err: unknown): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.cleanup();
      p.reject(err);
    }
  }

  #fail(err: unknown): void {
    this.#ended = err;
    this.#failPending(err);
    this.#onEnd?.(err);
  }

  /** Close the connection; pending calls reject. */
  close(): void {
    this.conn.close();
  }

  /** Closes the connection, as `close()` does; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * Serve `handlers` on `conn` until the other end closes it (resolves then).
 * @example
 * ```ts
 * await serve(conn, { add: (a, b) => a + b });
 * ```
 */
export function serve(conn: Connection, handlers: Handlers): Promise<void> {
  return new Promise((resolve) => {
    new RpcPeer(conn, { handlers, onEnd: () => resolve() });
  });
}

/**
 * `spawnPython()`: start a Python child with a `multiprocessing` Connection on an extra
 * socketpair stdio slot (PROTOCOL.md §1.5), no port and no file.
 * @module
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import type { Socket } from 'node:net';
import { delimiter } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { serverHandshake } from '../auth/handshake.js';
import type { Codec } from '../codec.js';
import { AbortError, ConnectionClosedError, EOFError, MpwireError, ProtocolError, TimeoutError } from '../errors.js';
import { dumps, pickleCodec } from '../pickle/index.js';
import { Connection, type WaitOptions } from '../wire/index.js';
import { startTimer } from '../wire/deadline.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, withHandshakeDeadline } from '../wire/listener.js';
import { ChildExitError, type ChildExit } from './child-exit-error.js';
import { type PythonInfo, findPythons } from './find-pythons.js';
import { groupAlive, groupGone, signalGroup, track, untrack } from './reaper.js';
import { type CallOptions, type Handlers, RpcPeer } from './rpc.js';
import { SharedRun } from './shared-run.js';

/**
 * Options of {@link spawnPython}.
 *
 * `signal` and `timeout` bound the start: `spawnPython` is *ready* when its promise resolves, that
 * is once the interpreter is found (when `python` is not given), the child is running and, with
 * `authkey`, the handshake has succeeded. If the signal aborts or `timeout` ms pass before then, a
 * child already started is killed (its whole process group, SIGKILL) and reaped, and the call
 * rejects with `AbortError` (`cause`: the signal's reason) or `TimeoutError`. `handshakeTimeout`
 * still bounds the handshake on its own; whichever limit ends first decides. Neither applies once
 * the child is ready: aborting the signal later does nothing, so use `close()` or `kill()`.
 * @example
 * ```ts
 * const child = await spawnPython(['worker.py', '--fast'], {
 *   python: '/usr/bin/python3',
 *   cwd: '/srv/app',
 *   env: { ...process.env, APP_MODE: 'batch' },
 *   stderr: 'inherit',
 *   timeout: 30_000,
 * });
 * ```
 */
export interface SpawnPythonOptions extends WaitOptions {
  /**
   * Interpreter path. Default: `MPWIRE_PYTHON`, else the newest CPython 3 found by
   * {@link findPythons}.
   */
  python?: string;
  /** Codec of `conn.send`/`recv`. Default: pickle, `'auto'` protocol, first message in a protocol the child reads. */
  codec?: Codec;
  /** Extra environment variables (merged over `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the child. */
  cwd?: string;
  /**
   * Authenticate the socketpair with CPython's HMAC handshake (Node challenges first, like a
   * `Listener`). The key reaches the child as hex in `MPWIRE_AUTHKEY`; `mpwire_child.connect()`
   * answers it, or call `multiprocessing.connection.answer_challenge`/`deliver_challenge` yourself.
   */
  authkey?: Uint8Array | string;
  /**
   * Milliseconds the `authkey` handshake alone may take (counted from the child's start; `timeout`
   * covers the whole call). On expiry the child is killed and `spawnPython` rejects with
   * `TimeoutError`. Default 20000, as for `listen`/`connect`.
   */
  handshakeTimeout?: number;
  /** Handlers the Python side may call with `mpwire_child.call(name, ...)`. */
  handlers?: Handlers;
  /** Child stdin: `'ignore'` (default), `'pipe'` or `'inherit'`. */
  stdin?: 'ignore' | 'pipe' | 'inherit';
  /** Child stdout: `'pipe'` (default; unread output is discarded), `'inherit'` or `'ignore'`. */
  stdout?: 'pipe' | 'inherit' | 'ignore';
  /**
   * Child stderr: `'pipe'` (default) or `'inherit'` (copied to our stderr). Its last lines are
   * kept for {@link ChildExitError} either way.
   */
  stderr?: 'pipe' | 'inherit';
  /**
   * Milliseconds `kill()` waits after SIGTERM before SIGKILL (to the whole group: anything the child
   * left running included). Default 2000. `Infinity`: never SIGKILL; negative or NaN: at once.
   */
  killGrace?: number;
  /** Largest frame accepted from the child. */
  maxMessageSize?: number;
}

/**
 * A running Python child.
 * @example
 * ```ts
 * await using child = await spawnPython(['worker.py']);
 * console.log(child.pid, child.python.version, await child.call('add', 1, 2));
 * ```
 */
export interface PythonChild extends AsyncDisposable {
  /**
   * The Connection to the child. On its side: `multiprocessing.connection.Connection(int(os.environ['MPWIRE_FD']))`
   * on Python 3, `_multiprocessing.Connection(...)` on Python 2.7, or the `mpwire_child` helper.
   */
  readonly conn: Connection;
  /** The child's process id. */
  readonly pid: number;
  /** The interpreter that runs it. */
  readonly python: { readonly path: string; readonly version: string };
  /** Resolves (never rejects) when the child has exited. */
  readonly exit: Promise<ChildExit>;
  /** Child stdout when `stdout: 'pipe'` (flowing: attach listeners right after `spawnPython` resolves). */
  readonly stdout: Readable | null;
  /** Child stderr when `stderr: 'pipe'`. */
  readonly stderr: Readable | null;
  /** Child stdin when `stdin: 'pipe'`. */
  readonly stdin: Writable | null;
  /** The last lines the child wrote to stderr. */
  stderrTail(): string;
  /**
   * Signal the child's process group (default SIGTERM), then SIGKILL after `killGrace` unless the
   * group is empty by then. Processes the child left in its group are reached even after the
   * child itself exited. Resolves with the child's exit.
   */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
  /**
   * Close the connection (a `serve()` loop then returns) and wait for the exit; kill the child
   * (as {@link kill} does) after `timeout` ms (default 5000), or as soon as `signal` aborts. Resolves
   * with the exit either way: closing never leaves the child running.
   */
  close(options?: PythonChildCloseOptions): Promise<ChildExit>;
  /** Call a handler of `mpwire_child.serve({...})` in the child. */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
  /** {@link call} with kwargs, timeout or signal. */
  callWith<T = unknown>(name: string, args?: readonly unknown[], options?: CallOptions): Promise<T>;
  /** Register handlers the child may call. */
  handle(handlers: Handlers): void;
}

/**
 * Options of {@link PythonChild.close}: how long to wait for the child to exit by itself before
 * killing it. Unlike other waits, neither option makes `close()` reject: both cut the wait short.
 * @example
 * ```ts
 * const ac = new AbortController();
 * process.once('SIGINT', () => ac.abort()); // a second Ctrl-C stops waiting and kills the child
 * await child.close({ timeout: 30_000, signal: ac.signal });
 * ```
 */
export interface PythonChildCloseOptions {
  /** Milliseconds to wait for the exit before killing the child. Default 5000; `Infinity`: wait for ever. */
  timeout?: number;
  /** Aborting it stops the wait and kills the child at once (already aborted: kill without waiting). */
  signal?: AbortSignal;
}

const TAIL_LINES = 20;
const TAIL_BYTES = 8192;

/**
 * Directory holding `mpwire_child.py` (added to the child's `PYTHONPATH`).
 * @example
 * ```ts
 * // Run your own subprocess with the helper importable:
 * spawn('python3', ['worker.py'], { env: { ...process.env, PYTHONPATH: childModuleDir() } });
 * ```
 */
export function childModuleDir(): string | undefined {
  const env = process.env.MPWIRE_CHILD_DIR;
  if (env) return env;
  const dir = fileURLToPath(new URL('../../python/', import.meta.url));
  return existsSync(`${dir}mpwire_child.py`) ? dir.replace(/\/$/, '') : undefined;
}

/** Version probes by interpreter path: shared while running, kept once they succeeded. */
const versionProbes = new Map<string, SharedRun<string>>();

function probeVersion(path: string, signal?: AbortSignal): Promise<string> {
  let run = versionProbes.get(path);
  if (!run) {
    run = new SharedRun(
      'python version probe',
      (stop) =>
        new Promise<string>((resolve, reject) => {
          const script = 'import sys; sys.stdout.write("%d.%d.%d" % sys.version_info[:3])';
          execFile(path, ['-c', script], { timeout: 15_000, signal: stop, killSignal: 'SIGKILL' }, (err, out) => {
            if (err) reject(new MpwireError(`cannot run python ${path}: ${err.message}`, 'MPWIRE_NO_PYTHON', { cause: err }));
            else resolve(out.trim());
          });
        }),
    );
    versionProbes.set(path, run);
  }
  return run.get({ signal });
}

function same(a: string, b: string): boolean {
  try {
    return a === b || realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The interpreter `spawnPython` uses when none is given. `signal`/`timeout` bound the discovery
 * (see {@link findPythons}).
 * @example
 * ```ts
 * const py = await defaultPython(); // MPWIRE_PYTHON, else the newest CPython 3 found
 * console.log(`using ${py.path} (${py.version})`);
 * ```
 */
export async function defaultPython(options: WaitOptions = {}): Promise<PythonInfo> {
  const all = await findPythons(options);
  const env = process.env.MPWIRE_PYTHON;
  if (env) {
    const known = all.find((p) => same(p.path, env));
    if (known) return known;
    const version = await probeVersion(env, options.signal);
    const t = version.split('.').map(Number);
    return { path: env, version, versionTuple: [t[0] ?? 0, t[1] ?? 0, t[2] ?? 0], implementation: 'CPython', source: 'env' };
  }
  const py3 = all.filter((p) => p.versionTuple[0] === 3);
  const pick = py3.filter((p) => p.implementation === 'CPython').pop() ?? py3.pop() ?? all[all.length - 1];
  if (!pick) throw new MpwireError('no Python interpreter found (set MPWIRE_PYTHON or pass { python })', 'MPWIRE_NO_PYTHON');
  return pick;
}

async function resolvePython(python: string | undefined, signal: AbortSignal | undefined): Promise<{ path: string; version: string }> {
  if (python === undefined) return defaultPython({ signal });
  const known = (await findPythons({ signal })).find((p) => same(p.path, python));
  if (known) return known;
  return { path: python, version: await probeVersion(python, signal) };
}

/**
 * `spawnPython`'s `signal` and `timeout` as one signal that aborts with the error to reject with
 * (`AbortError` caused by the user's reason, or `TimeoutError`); `undefined` when neither is given.
 * `dispose()` disarms both once the child is ready (or the call failed).
 */
function startDeadline(options: WaitOptions): { signal: AbortSignal | undefined; dispose(): void } {
  const { signal, timeout } = options;
  if (signal === undefined && timeout === undefined) return { signal: undefined, dispose: () => undefined };
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(new AbortError('spawnPython aborted', { cause: signal?.reason }));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const cancelTimer =
    timeout === undefined || controller.signal.aborted
      ? () => undefined
      : startTimer(timeout, () => controller.abort(new TimeoutError(`spawnPython timed out after ${timeout} ms`)));
  return {
    signal: controller.signal,
    dispose: () => {
      cancelTimer();
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** A promise that rejects with `signal`'s reason when it aborts (never settles without a signal). */
function whenAborted(signal: AbortSignal | undefined): { promise: Promise<never>; dispose(): void } {
  if (signal === undefined) return { promise: new Promise<never>(() => undefined), dispose: () => undefined };
  let onAbort = (): void => undefined;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/** Highest pickle protocol a Python of this version reads, capped at 4 (the default). */
function readableProtocol(version: string): 2 | 3 | 4 {
  const [major = 3, minor = 0] = version.split('.').map(Number);
  if (major < 3) return 2;
  return minor < 4 ? 3 : 4;
}

/**
 * Pickle with `'auto'` protocol whose first message (before the child has sent anything) uses a
 * protocol this interpreter can read: 2 for Python 2, 3 for 3.0–3.3, 4 otherwise. A Python 2
 * child's byte `str` is decoded as latin-1: it never fails (the default 'ASCII' rejects
 * `'café'`, leaving the child's call unanswered), keeps ASCII text a JS string, and maps each
 * byte to one char (`Buffer.from(s, 'latin1')` gives the bytes back). `'bytes'` would turn every
 * ASCII `str` (names, keys) into a Buffer.
 */
function bridgePickle(initial: 2 | 3 | 4): Codec {
  const make = (): Codec => {
    const inner = pickleCodec(initial === 2 ? { encoding: 'latin1' } : {}).forConnection();
    let heard = false;
    return {
      name: 'pickle',
      encode: (v) => (heard ? inner.encode(v) : dumps(v, { protocol: initial })),
      decode: (f, owned) => {
        const v = inner.decode(f, owned);
        heard = true;
        return v;
      },
      forConnection: make,
    };
  };
  return make();
}

function isEnding(e: unknown): boolean {
  return e instanceof EOFError || e instanceof ProtocolError || e instanceof ConnectionClosedError;
}

/** A Connection whose errors name the child's exit when the child is what went away. */
class ChildConnection extends Connection {
  #explain: ((e: unknown, cleanIsError: boolean) => Promise<unknown>) | undefined;
  setExplain(fn: (e: unknown, cleanIsError: boolean) => Promise<unknown>): void {
    this.#explain = fn;
  }
  async #wrap<T>(run: () => Promise<T>, cleanIsError: boolean): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (!this.#explain || this.closed || !isEnding(e)) throw e;
      throw await this.#explain(e, cleanIsError);
    }
  }
  override recv(options?: WaitOptions): Promise<unknown> {
    return this.#wrap(() => super.recv(options), false);
  }
  override recvBytes(maxLength?: number, options?: WaitOptions): Promise<Buffer> {
    return this.#wrap(() => super.recvBytes(maxLength, options), false);
  }
  override recvBytesInto(buffer: ArrayBufferView, offset?: number, options?: WaitOptions): Promise<number> {
    return this.#wrap(() => super.recvBytesInto(buffer, offset, options), false);
  }
  override send(value: unknown, options?: WaitOptions): Promise<void> {
    return this.#wrap(() => super.send(value, options), true);
  }
  override sendBytes(buffer: ArrayBufferView | ArrayBuffer, offset?: number, size?: number, options?: WaitOptions): Promise<void> {
    return this.#wrap(() => super.sendBytes(buffer, offset, size, options), true);
  }
}

function waitSpawn(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
}

/**
 * Start `python argv…` with a Connection on an extra stdio slot (an AF_UNIX socketpair) whose fd
 * number is in `MPWIRE_FD`. The child runs in its own process group; `kill()`, `close()` and
 * Node's exit (normal or by SIGINT/SIGTERM/SIGHUP) never leave it running. When the child dies,
 * pending receives and calls reject with {@link ChildExitError} (exit code, signal, stderr tail).
 * @example
 * ```ts
 * const child = await spawnPython(['-c', 'import mpwire_child; mpwire_child.serve({"add": lambda a, b: a + b})']);
 * console.log(await child.call('add', 1, 2)); // 3
 * await child.close();
 * ```
 */
export async function spawnPython(argv: readonly string[], options: SpawnPythonOptions = {}): Promise<PythonChild> {
  const deadline = startDeadline(options);
  try {
    return await start(argv, options, deadline.signal);
  } finally {
    deadline.dispose();
  }
}

/** {@link spawnPython} until the child is ready; `setup` (when given) aborts with the error to reject with. */
async function start(argv: readonly string[], options: SpawnPythonOptions, setup: AbortSignal | undefined): Promise<PythonChild> {
  setup?.throwIfAborted();
  let python: { path: string; version: string };
  try {
    python = await resolvePython(options.python, setup);
  } catch (e) {
    // The discovery's own AbortError names findPythons: reject with spawnPython's error instead.
    setup?.throwIfAborted();
    throw e;
  }
  setup?.throwIfAborted();
  const helperDir = childModuleDir();
  const baseEnv = { ...process.env, ...options.env };
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    MPWIRE_FD: '3',
    MPWIRE_PARENT_PID: String(process.pid),
    ...(helperDir ? { PYTHONPATH: baseEnv.PYTHONPATH ? `${helperDir}${delimiter}${baseEnv.PYTHONPATH}` : helperDir } : {}),
    ...(options.authkey === undefined
      ? {}
      : { MPWIRE_AUTHKEY: Buffer.from(typeof options.authkey === 'string' ? Buffer.from(options.authkey, 'utf8') : options.authkey).toString('hex') }),
  };
  if (options.authkey === undefined) delete env.MPWIRE_AUTHKEY;
  const stdoutMode = options.stdout ?? 'pipe';
  const stderrMode = options.stderr ?? 'pipe';
  const proc = spawn(python.path, [...argv], {
    cwd: options.cwd,
    env,
    stdio: [options.stdin ?? 'ignore', stdoutMode, 'pipe', 'pipe'],
    detached: process.platform !== 'win32', // own process group: kill() reaches grandchildren too
  });
  try {
    await waitSpawn(proc);
  } catch (e) {
    throw new MpwireError(`cannot start ${python.path}: ${(e as Error).message}`, 'MPWIRE_SPAWN', { cause: e });
  }
  const pid = proc.pid as number;
  track(pid);

  let tail = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    tail = (tail + d).slice(-TAIL_BYTES);
    if (stderrMode === 'inherit') process.stderr.write(d);
  });
  if (stdoutMode === 'pipe') proc.stdout?.resume();
  const stderrTail = (): string => {
    const lines = tail.split('\n');
    return lines.slice(Math.max(0, lines.length - TAIL_LINES - 1)).join('\n').trimEnd();
  };

  let exited: ChildExit | undefined;
  const exit = new Promise<ChildExit>((resolve) => {
    const done = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (exited) return;
      exited = { exitCode, signal };
      untrack(pid);
      resolve(exited);
    };
    // 'close' waits for stdio to drain, so the stderr tail is complete; a grandchild holding our
    // pipes open must not delay the exit for long, hence the short grace after 'exit'.
    proc.once('close', done);
    proc.once('exit', (exitCode, signal) => {
      setTimeout(() => done(exitCode, signal), 200).unref();
    });
  });

  const socket = proc.stdio[3] as Socket;
  const conn = new ChildConnection(socket, {
    codec: options.codec ?? bridgePickle(readableProtocol(python.version)),
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
  });

  /** Wait briefly for the exit that explains a broken connection. */
  const explain = async (e: unknown, cleanIsError: boolean): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([exit, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 2000)))]);
    clearTimeout(timer);
    if (!done) return e;
    if (!cleanIsError && done.exitCode === 0) return e;
    return new ChildExitError({ ...done, pid, stderrTail: stderrTail() }, { cause: e });
  };
  conn.setExplain(explain);

  // Until `spawnPython` resolves the caller has no handle to kill the child with: any failure
  // (an abort or timeout of `setup` included) kills and reaps it before rejecting.
  const abandon = async (e: unknown): Promise<never> => {
    conn.destroy();
    signalGroup(pid, 'SIGKILL');
    await exit;
    throw e;
  };
  // An abort that came while the process was starting.
  if (setup?.aborted) return abandon(setup.reason);

  if (options.authkey !== undefined) {
    const authkey = options.authkey;
    const aborted = whenAborted(setup);
    try {
      // The deadline clears its timer either way and destroys the connection on any failure.
      // The same default as `listen`/`connect`: a child that never answers must not hang us forever.
      const result = await withHandshakeDeadline(conn, options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT, () =>
        Promise.race([
          serverHandshake(conn, authkey),
          exit.then((x) => Promise.reject(new ChildExitError({ ...x, pid, stderrTail: stderrTail() }))),
          aborted.promise,
        ]),
      );
      conn.authDialect = result.dialect;
      conn.authDigest = result.digest;
    } catch (e) {
      return abandon(e);
    } finally {
      aborted.dispose();
    }
  }

  let peer: RpcPeer | undefined;
  const rpc = (): RpcPeer =>
    (peer ??= new RpcPeer(conn, { mapError: (e) => (isEnding(e) ? explain(e, true) : e) }));
  if (options.handlers) rpc().handle(options.handlers);

  const grace = options.killGrace ?? 2000;
  const kill = (signal: NodeJS.Signals = 'SIGTERM'): Promise<ChildExit> => {
    // After the child exited, its group may still hold what it started (reaper.ts on pid reuse).
    if (exited && !groupAlive(pid)) return exit;
    signalGroup(pid, signal);
    // Infinity: no escalation, and no wait for the group to be gone either.
    if (signal !== 'SIGKILL' && grace !== Number.POSITIVE_INFINITY) {
      // startTimer: setTimeout fires a delay over 2^31-1 ms after 1 ms. NaN counts as 0, like negatives.
      const cancel = startTimer(grace, () => signalGroup(pid, 'SIGKILL'));
      // Escalate until the whole group is gone, not just the child.
      void exit.then(() => groupGone(pid)).then(cancel);
    }
    return exit;
  };
  const close = async (opts: PythonChildCloseOptions = {}): Promise<ChildExit> => {
    conn.close();
    if (exited) return exited;
    const signal = opts.signal;
    if (signal?.aborted) return kill();
    // startTimer, as setTimeout fires a delay over 2^31-1 ms after 1 ms; Infinity arms nothing and waits for the exit.
    const ms = opts.timeout ?? 5000;
    let cancel: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    const giveUp = new Promise<undefined>((res) => {
      cancel = startTimer(ms, () => res(undefined));
      onAbort = () => res(undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const r = await Promise.race([exit, giveUp]);
    cancel?.();
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    return r ?? kill();
  };

  return {
    conn,
    pid,
    python: { path: python.path, version: python.version },
    exit,
    stdout: stdoutMode === 'pipe' ? proc.stdout : null,
    stderr: stderrMode === 'pipe' ? proc.stderr : null,
    stdin: proc.stdin,
    stderrTail,
    kill,
    close,
    call: (name, ...args) => rpc().call(name, ...args),
    callWith: (name, args, opts) => rpc().callWith(name, args, opts),
    handle: (handlers) => void rpc().handle(handlers),
    [Symbol.asyncDispose]: async () => {
      await close({ timeout: grace });
    },
  };
}

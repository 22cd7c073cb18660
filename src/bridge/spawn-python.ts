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
import { ConnectionClosedError, EOFError, MpwireError, ProtocolError } from '../errors.js';
import { dumps, pickleCodec } from '../pickle/index.js';
import { Connection, type WaitOptions } from '../wire/index.js';
import { startTimer } from '../wire/deadline.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, withHandshakeDeadline } from '../wire/listener.js';
import { ChildExitError, type ChildExit } from './child-exit-error.js';
import { type PythonInfo, findPythons } from './find-pythons.js';
import { groupAlive, groupGone, signalGroup, track, untrack } from './reaper.js';
import { type CallOptions, type Handlers, RpcPeer } from './rpc.js';

/**
 * Options of {@link spawnPython}.
 * @example
 * ```ts
 * const child = await spawnPython(['worker.py', '--fast'], {
 *   python: '/usr/bin/python3',
 *   cwd: '/srv/app',
 *   env: { ...process.env, APP_MODE: 'batch' },
 *   stderr: 'inherit',
 * });
 * ```
 */
export interface SpawnPythonOptions {
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
   * Milliseconds the `authkey` handshake may take. On expiry the child is killed and
   * `spawnPython` rejects with `TimeoutError`. Default 20000, as for `listen`/`connect`.
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
  /** The Connection to the child (`Connection(int(os.environ['MPWIRE_FD']))` on its side). */
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
  /** Close the connection (a `serve()` loop then returns) and wait for the exit; kill after `timeout` ms (default 5000). */
  close(options?: { timeout?: number }): Promise<ChildExit>;
  /** Call a handler of `mpwire_child.serve({...})` in the child. */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
  /** {@link call} with kwargs, timeout or signal. */
  callWith<T = unknown>(name: string, args?: readonly unknown[], options?: CallOptions): Promise<T>;
  /** Register handlers the child may call. */
  handle(handlers: Handlers): void;
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

const versionCache = new Map<string, Promise<string>>();

function probeVersion(path: string): Promise<string> {
  let p = versionCache.get(path);
  if (!p) {
    p = new Promise((resolve, reject) => {
      execFile(path, ['-c', 'import sys; sys.stdout.write("%d.%d.%d" % sys.version_info[:3])'], { timeout: 15_000 }, (err, out) => {
        if (err) reject(new MpwireError(`cannot run python ${path}: ${err.message}`, 'MPWIRE_NO_PYTHON', { cause: err }));
        else resolve(out.trim());
      });
    });
    versionCache.set(path, p);
  }
  return p;
}

function same(a: string, b: string): boolean {
  try {
    return a === b || realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The interpreter `spawnPython` uses when none is given.
 * @example
 * ```ts
 * const py = await defaultPython(); // MPWIRE_PYTHON, else the newest CPython 3 found
 * console.log(`using ${py.path} (${py.version})`);
 * ```
 */
export async function defaultPython(): Promise<PythonInfo> {
  const all = await findPythons();
  const env = process.env.MPWIRE_PYTHON;
  if (env) {
    const known = all.find((p) => same(p.path, env));
    if (known) return known;
    const version = await probeVersion(env);
    const t = version.split('.').map(Number);
    return { path: env, version, versionTuple: [t[0] ?? 0, t[1] ?? 0, t[2] ?? 0], implementation: 'CPython', source: 'env' };
  }
  const py3 = all.filter((p) => p.versionTuple[0] === 3);
  const pick = py3.filter((p) => p.implementation === 'CPython').pop() ?? py3.pop() ?? all[all.length - 1];
  if (!pick) throw new MpwireError('no Python interpreter found (set MPWIRE_PYTHON or pass { python })', 'MPWIRE_NO_PYTHON');
  return pick;
}

async function resolvePython(python: string | undefined): Promise<{ path: string; version: string }> {
  if (python === undefined) return defaultPython();
  const known = (await findPythons()).find((p) => same(p.path, python));
  if (known) return known;
  return { path: python, version: await probeVersion(python) };
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
  const python = await resolvePython(options.python);
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

  if (options.authkey !== undefined) {
    const authkey = options.authkey;
    try {
      // The deadline clears its timer either way and destroys the connection on any failure.
      // The same default as `listen`/`connect`: a child that never answers must not hang us forever.
      const result = await withHandshakeDeadline(conn, options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT, () =>
        Promise.race([
          serverHandshake(conn, authkey),
          exit.then((x) => Promise.reject(new ChildExitError({ ...x, pid, stderrTail: stderrTail() }))),
        ]),
      );
      conn.authDialect = result.dialect;
      conn.authDigest = result.digest;
    } catch (e) {
      // Reap the child before rejecting: the caller gets no handle to kill it with.
      signalGroup(pid, 'SIGKILL');
      await exit;
      throw e;
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
  const close = async (opts: { timeout?: number } = {}): Promise<ChildExit> => {
    conn.close();
    if (exited) return exited;
    // startTimer, as setTimeout fires a delay over 2^31-1 ms after 1 ms; Infinity arms nothing and waits for the exit.
    const ms = opts.timeout ?? 5000;
    let cancel: (() => void) | undefined;
    const r = await Promise.race([exit, new Promise<undefined>((res) => (cancel = startTimer(ms, () => res(undefined))))]);
    cancel?.();
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

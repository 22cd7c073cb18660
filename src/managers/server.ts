/**
 * A `multiprocessing.managers` server written in TypeScript (PROTOCOL.md §5): stock Python clients
 * (`BaseManager(address, authkey).connect()`, `SyncManager`, their proxies) use objects that Node
 * serves. Every connection is served asynchronously, so a blocked `get`/`acquire`/`wait` holds only
 * its own connection, like one server thread in CPython.
 * @module
 */
import { AuthenticationError, RemoteError } from '../errors.js';
import { checkDigestOptions, serverHandshake, type DigestName } from '../auth/handshake.js';
import { type PickleCodecOptions, PyException, PyGlobal, type Reduction, pyReduce, tuple } from '../pickle/index.js';
import { type Address, type Connection, type Listener, listen } from '../wire/index.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, withHandshakeDeadline } from '../wire/listener.js';
import {
  BUILTIN_FACTORIES,
  type CallContext,
  CallAborted,
  PyArray,
  PyBarrier,
  PyCondition,
  PyDict,
  PyEvent,
  PyIterator,
  PyList,
  PyLock,
  PyNamespace,
  PyQueue,
  PyRLock,
  PySemaphore,
  PyValue,
  QUEUE_METHODS,
  getValue,
  isServedObject,
  serveCall,
} from './builtins.js';
import { type ManagerCodec, type Serializer, managerCodec } from './codec.js';
import { type FastDecodeLimits, fastLoads } from './fast-decode.js';
import {
  ERROR,
  GETVALUE,
  MANAGERS_MODULE,
  PROXY,
  RETURN,
  SERVER_METHODS,
  SYNC_MANAGER_REGISTRY,
  TRACEBACK,
  Token,
  type ProxyReference,
  UNSERIALIZABLE,
  rebuildProxyReduction,
} from './protocol.js';
import { pyError, pyRepr, pyStr, pyTypeName } from './py-values.js';

/**
 * A JS factory of a typeid: called with the positional arguments Python passed to `create`
 * (e.g. `m.get_queue(1, 2)`), plus a trailing plain object of the keyword arguments when there are
 * any. May return a promise. Annotate its parameters with the types you expect: `never[]` accepts
 * any parameter list, while an unannotated parameter is typed `never`, so using it is a type error
 * instead of an unchecked `any`. Nothing checks the values at run time.
 * @example
 * ```ts
 * const makeCounter: ManagerFactory = (start: number = 0) => ({ n: start, inc() { return ++this.n; } });
 * await serveManager({ authkey: 'abc', registry: { Counter: makeCounter } }); // Python: m.Counter(5)
 * ```
 */
export type ManagerFactory = (...args: never[]) => unknown;

/**
 * The long form of a registry entry, like `BaseManager.register(typeid, callable, exposed=…, method_to_typeid=…)`.
 * @example
 * ```ts
 * // `child()` returns a proxy of typeid 'Calc', so 'Calc' is registered too (callable null: the
 * // server only serves it, as in BaseManager.register('Calc', None, ...)).
 * const calc: ManagerTypeOptions = { callable: (n: number) => new Calc(n), exposed: ['add', 'child'], methodToTypeid: { child: 'Calc' } };
 * await serveManager({ authkey: 'abc', registry: { get_calc: calc, Calc: { callable: null, exposed: ['add', 'child'], methodToTypeid: { child: 'Calc' } } } });
 * ```
 */
export interface ManagerTypeOptions {
  /** Makes the object; `null` means Python's "registered without callable": `create` takes the object itself. */
  callable: ManagerFactory | null;
  /** Method names clients may call; default: the object's public methods (names not starting with `_`). */
  exposed?: readonly string[];
  /** Methods whose results are served as new shared objects of the named typeid (reply `#PROXY`). */
  methodToTypeid?: Readonly<Record<string, string>>;
}

/**
 * Options of {@link serveManager}.
 * @example
 * ```ts
 * await using server = await serveManager({
 *   address: '/tmp/manager.sock',
 *   authkey: 'abc',
 *   serializer: 'pickle',
 *   registry: { get_jobs: () => jobs },
 * });
 * ```
 */
export interface ServeManagerOptions {
  /** Where to listen (Python's address shapes; `['127.0.0.1', 0]` picks a port). Default: a fresh Unix socket. */
  address?: Address | null;
  /** The manager's authkey (every connection is authenticated, in every CPython dialect). */
  authkey: Uint8Array | string;
  /** `BaseManager(serializer=…)`; both ends must agree. Default `'pickle'`. */
  serializer?: Serializer;
  /** typeid → factory, or the long form. Entries override the built-in typeids of the same name. */
  registry?: Readonly<Record<string, ManagerFactory | ManagerTypeOptions>>;
  /** Serve SyncManager's typeids (`dict`, `list`, `Queue`, `Lock`, …). Default true. */
  builtins?: boolean;
  /** Options of the pickle codec (limits, `findClass`, …). */
  pickle?: Omit<PickleCodecOptions, 'protocol' | 'exact'>;
  /** Milliseconds a client may take to authenticate. Default 20000. */
  handshakeTimeout?: number;
  /** Digest of our challenges. Default `'sha256'`. */
  digest?: DigestName;
  /** Listen backlog. Default 128. */
  backlog?: number;
  /**
   * Largest request frame accepted from a client, checked from the frame header before any of it
   * is buffered; a bigger request closes that client's connection. Default 1 GiB (the wire default).
   */
  maxMessageSize?: number;
  /**
   * Cancels the start (looking up the host name and binding): `serveManager` then rejects with
   * `AbortError` (`cause`: the signal's reason) and leaves nothing listening. Aborting it after
   * `serveManager` resolved does nothing; use `close()`.
   */
  signal?: AbortSignal;
}

interface TypeEntry {
  readonly typeid: string;
  /** `(args, kwargs) → object`; null: the object is the single argument. */
  readonly make: ((args: unknown[], kwargs: Record<string, unknown>) => unknown) | null;
  readonly exposed: readonly string[] | null;
  readonly methodToTypeid: Readonly<Record<string, string>> | null;
  /** Built-ins get exact-mode Python values; user objects idiomatic JS values. */
  readonly exact: boolean;
}

interface ObjectEntry {
  readonly obj: unknown;
  readonly typeid: string;
  readonly exposed: readonly string[];
  readonly exposedSet: ReadonlySet<string>;
  readonly methodToTypeid: Readonly<Record<string, string>> | null;
  readonly exact: boolean;
}

/**
 * A proxy of one of this server's own objects, received inside a value (e.g. `l.append(d)`): holds
 * the referent, and pickles back as the same `RebuildProxy` (CPython's "manager-owned" proxy).
 * @example
 * ```ts
 * // Python: l = m.list(); d = m.dict(); l.append(d)  → the list holds a LocalProxy of d
 * const held = served.items[0];
 * if (held instanceof LocalProxy) console.log(held.referent); // the PyDict itself
 * ```
 */
export class LocalProxy {
  constructor(
    /** The served object itself (e.g. a {@link PyDict}). */
    readonly referent: unknown,
    /** The object's token, with this server's address. */
    readonly token: Token,
    /** Python proxy class name it came as, e.g. `'DictProxy'` or `'AutoProxy'`. */
    readonly proxyClass: string,
    /** Exposed method names, from the received proxy or the object's registration. */
    readonly exposed: readonly string[] | undefined,
    /** The serializer named in the received `RebuildProxy`. */
    readonly serializer: string,
  ) {}
  /** How the pickler writes this value: `RebuildProxy(proxyClass, token, serializer, …)`, as it was received. */
  [pyReduce](): Reduction {
    return rebuildProxyReduction(this.token, this.serializer, this.exposed ?? null, this.proxyClass);
  }
}

/** A proxy of an object this server does not hold: kept and sent back as it came. */
class ForeignProxy {
  constructor(readonly ref: ProxyReference) {}
  [pyReduce](): Reduction {
    const cls = this.ref.func instanceof PyGlobal && this.ref.func.module === MANAGERS_MODULE ? this.ref.func.name : 'AutoProxy';
    return rebuildProxyReduction(this.ref.token, this.ref.serializer, this.ref.exposed ?? null, cls);
  }
}

const BUILTIN_TYPEIDS = new Map<unknown, string>([
  [PyDict, 'dict'],
  [PyList, 'list'],
  [PyQueue, 'Queue'],
  [PyNamespace, 'Namespace'],
  [PyValue, 'Value'],
  [PyArray, 'Array'],
  [PyLock, 'Lock'],
  [PyRLock, 'RLock'],
  [PySemaphore, 'Semaphore'],
  [PyCondition, 'Condition'],
  [PyEvent, 'Event'],
  [PyBarrier, 'Barrier'],
  [PyIterator, 'Iterator'],
]);

/** The codecs of one connection. */
interface Codecs {
  /** Limits of the fast request decode (fast-decode.ts); undefined: no fast path (xmlrpclib). */
  readonly limits: FastDecodeLimits | undefined;
  /** Exact-mode values (built-in objects). */
  readonly exact: ManagerCodec;
  /** Idiomatic JS values (objects of user factories). */
  readonly plain: ManagerCodec;
  /** The client is Python 2 (its strings arrive as bytes). */
  legacy: boolean;
}

/** Python class names of the built-in objects, for messages (`<class 'dict'>`). */
const PY_CLASSES = new Map<unknown, string>([
  [PyDict, 'dict'],
  [PyList, 'list'],
  [PyQueue, 'queue.Queue'],
  [PyNamespace, 'multiprocessing.managers.Namespace'],
  [PyValue, 'multiprocessing.managers.Value'],
  [PyArray, 'array.array'],
  [PyLock, '_thread.lock'],
  [PyRLock, '_thread.RLock'],
  [PySemaphore, 'threading.Semaphore'],
  [PyCondition, 'threading.Condition'],
  [PyEvent, 'threading.Event'],
  [PyBarrier, 'threading.Barrier'],
  [PyIterator, 'iterator'],
]);

function pyClassName(obj: unknown): string {
  return (obj !== null && typeof obj === 'object' && PY_CLASSES.get(obj.constructor)) || pyTypeName(obj);
}

type Message = readonly [string, unknown];

/** `'%x' % id(obj)`-like idents: the same object always gets the same ident. */
let nextIdent = 0x7f5a0000_0000;

function kwargsRecord(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (v instanceof Map) return v.size === 0 ? {} : Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw pyError('TypeError', `argument after ** must be a mapping, not ${pyTypeName(v)}`);
}

function argsArray(v: unknown): unknown[] {
  if (Array.isArray(v)) {
    // A plain copy (of a Tuple, say): Array.from goes through the iterator protocol and the
    // subclass's species lookups, several times the cost of this loop.
    const n = v.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = v[i];
    return out;
  }
  if (v === null || v === undefined) return [];
  throw pyError('TypeError', `argument after * must be an iterable, not ${pyTypeName(v)}`);
}

/** Python's `public_methods(obj)` for a JS object: function-valued names not starting with `_`. */
function publicMethods(obj: unknown): string[] {
  const names = new Set<string>();
  let o: unknown = obj;
  while (o !== null && o !== undefined && o !== Object.prototype && o !== Function.prototype) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || name.startsWith('_')) continue;
      try {
        if (typeof (obj as Record<string, unknown>)[name] === 'function') names.add(name);
      } catch {
        // getters that throw are not methods
      }
    }
    o = Object.getPrototypeOf(o);
  }
  return [...names].sort();
}

/** The exposed methods of a built-in class's instance returned by a user factory. */
function servedExposed(obj: unknown): readonly string[] | undefined {
  if (!isServedObject(obj)) return undefined;
  const typeid = BUILTIN_TYPEIDS.get(obj.constructor);
  if (typeid === undefined) return undefined;
  return typeid === 'Queue' ? QUEUE_METHODS : (SYNC_MANAGER_REGISTRY[typeid]?.exposed ?? undefined);
}

/** A JS error as the Python exception a `#ERROR` reply carries, or undefined (→ `#TRACEBACK`). */
function asPyException(e: unknown): PyException | undefined {
  if (e instanceof PyException) return e;
  if (e instanceof RemoteError && e.type && e.module) return new PyException(e.module, e.type, [...e.args]);
  return undefined;
}

/**
 * Python-style traceback text of a failure, ending with the `Type: message` line clients parse.
 * @example
 * ```ts
 * formatTraceback(new Error('boom'), 'get_jobs'); // '…\nError: boom'
 * ```
 */
export function formatTraceback(e: unknown, where: string): string {
  let last: string;
  let stack = '';
  if (e instanceof PyException) {
    const arg = e.args.length === 1 ? (e.type === 'KeyError' ? pyRepr(e.args[0]) : pyStr(e.args[0])) : e.args.length ? pyRepr(tuple(...e.args)) : '';
    const qual = e.module === 'builtins' || e.module === 'exceptions' ? e.type : `${e.module}.${e.type}`;
    last = arg ? `${qual}: ${arg}` : qual;
  } else if (e instanceof Error) {
    last = `${e.name}: ${e.message}`;
    stack = (e.stack ?? '')
      .split('\n')
      .filter((l) => /^\s+at /.test(l))
      .slice(0, 8)
      .map((l) => `  ${l.trim()}\n`)
      .join('');
  } else {
    last = `Exception: ${String(e)}`;
  }
  return `Traceback (most recent call last):\n  File "mpwire manager server", in ${where}\n${stack}${last}\n`;
}

/**
 * A running manager server (see {@link serveManager}). `close()` stops listening, ends every
 * connection (calls blocked on the server are abandoned) and resolves {@link ManagerServer.closed}.
 * @example
 * ```ts
 * const server = await serveManager({ address: ['127.0.0.1', 0], authkey: 'abc', registry: { get_jobs: () => jobs } });
 * console.log(server.address, server.refcounts());
 * await server.close();
 * ```
 */
export class ManagerServer implements AsyncDisposable {
  /** The bound address, in Python's shape (real port). Clients connect here. */
  readonly address: Address;
  /** The serializer every connection uses (`options.serializer`, default `'pickle'`). */
  readonly serializer: Serializer;
  /** Resolves once the server is closed, by `close()` or by a client's `shutdown()`. */
  readonly closed: Promise<void>;
  readonly #listener: Listener;
  readonly #authkey: Uint8Array | string;
  readonly #options: ServeManagerOptions;
  readonly #types = new Map<string, TypeEntry>();
  readonly #objects = new Map<string, ObjectEntry>();
  readonly #refcounts = new Map<string, number>();
  /** Objects referenced by proxies the server received (CPython's `id_to_local_proxy_obj`). */
  readonly #localProxyObjects = new Map<string, ObjectEntry>();
  readonly #idents = new WeakMap<object, string>();
  readonly #conns = new Set<Connection>();
  readonly #aborts = new Set<AbortController>();
  #channelSeq = 0;
  #closing = false;
  /** The `RebuildProxy` hook of every request decode (one closure per server, not per request). */
  readonly #proxyHook = (ref: ProxyReference): unknown => this.#onProxy(ref);
  #resolveClosed!: () => void;

  /** @internal use {@link serveManager}. */
  constructor(listener: Listener, options: ServeManagerOptions) {
    this.#listener = listener;
    this.address = listener.address;
    this.#authkey = options.authkey;
    this.#options = options;
    this.serializer = options.serializer ?? 'pickle';
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    if (options.builtins !== false) this.#registerBuiltins();
    for (const [typeid, e] of Object.entries(options.registry ?? {})) this.#registerUser(typeid, e);
    void this.#acceptLoop();
  }

  #registerBuiltins(): void {
    for (const [typeid, make] of Object.entries(BUILTIN_FACTORIES)) {
      const table = SYNC_MANAGER_REGISTRY[typeid];
      let exposed = table?.exposed ?? QUEUE_METHODS;
      // Names only Python 2 (and 3.6's has_key) clients call.
      if (typeid === 'dict') exposed = [...exposed, 'has_key'];
      if (typeid === 'list') exposed = [...exposed, '__getslice__', '__setslice__', '__delslice__'];
      if (typeid === 'Array') exposed = [...exposed, '__getslice__', '__setslice__'];
      this.#types.set(typeid, { typeid, make, exposed, methodToTypeid: table?.methodToTypeid ?? null, exact: true });
    }
    const it = SYNC_MANAGER_REGISTRY['Iterator'];
    this.#types.set('Iterator', { typeid: 'Iterator', make: null, exposed: [...(it?.exposed ?? []), 'next'], methodToTypeid: null, exact: true });
  }

  #registerUser(typeid: string, e: ManagerFactory | ManagerTypeOptions): void {
    const opts: ManagerTypeOptions = typeof e === 'function' ? { callable: e } : e;
    const fn = opts.callable;
    if (fn !== null && typeof fn !== 'function') throw new TypeError(`registry[${JSON.stringify(typeid)}].callable must be a function or null`);
    // The one place a user factory is called: its parameter types are the user's claim about the peer.
    const call = fn as ((...values: unknown[]) => unknown) | null;
    const make = call === null ? null : (args: unknown[], kwargs: Record<string, unknown>) => (Object.keys(kwargs).length ? call(...args, kwargs) : call(...args));
    this.#types.set(typeid, { typeid, make, exposed: opts.exposed ?? null, methodToTypeid: opts.methodToTypeid ?? null, exact: false });
  }

  /** Objects with a refcount above zero (`number_of_objects`). */
  get numberOfObjects(): number {
    return this.#refcounts.size;
  }

  /** Refcount per ident (a copy), as `debug_info` shows. */
  refcounts(): Map<string, number> {
    return new Map(this.#refcounts);
  }

  // ---------------------------------------------------------------- connections

  async #acceptLoop(): Promise<void> {
    for await (const conn of this.#listener) {
      if (this.#closing) {
        conn.destroy();
        continue;
      }
      this.#conns.add(conn);
      void this.#handle(conn)
        .catch(() => undefined)
        .finally(() => {
          this.#conns.delete(conn);
          conn.close();
        });
    }
  }

  #codecs(): Codecs {
    const pickle = this.#options.pickle ?? {};
    // Python 2 `str` reaches the built-in objects as bytes and goes back to Python 2 as `str`.
    return {
      limits:
        this.serializer === 'pickle'
          ? {
              maxLength: pickle.maxLength ?? Number.POSITIVE_INFINITY,
              maxMemo: pickle.maxMemo ?? Number.POSITIVE_INFINITY,
              maxDepth: pickle.maxDepth ?? Number.POSITIVE_INFINITY,
            }
          : undefined,
      exact: managerCodec(this.serializer, { encoding: 'bytes', ...pickle, exact: true }),
      plain: managerCodec(this.serializer, pickle),
      legacy: false,
    };
  }

  async #authenticate(conn: Connection): Promise<boolean> {
    const ms = this.#options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    try {
      const result = await withHandshakeDeadline(conn, ms, () => serverHandshake(conn, this.#authkey, { digest: this.#options.digest }), false);
      conn.authDialect = result.dialect;
      conn.authDigest = result.digest;
      return true;
    } catch (e) {
      // CPython's manager: `#FAILURE#` (sent by the handshake), then a pickled ('#TRACEBACK', text).
      if (e instanceof AuthenticationError) {
        const codec = managerCodec(this.serializer, {}, 2);
        const text = `Traceback (most recent call last):\n  File "mpwire manager server", in deliver_challenge\nmultiprocessing.context.AuthenticationError: ${e.message}\n`;
        await conn.sendBytes(codec.encode(tuple(TRACEBACK, text))).catch(() => undefined);
      }
      return false;
    }
  }

  /** Send a reply; `undefined` once it is handed to the socket (see `Connection._sendNow`). */
  #send(conn: Connection, codecs: Codecs, msg: Message, where: string): Promise<void> | undefined {
    const codec = codecs.exact;
    if (msg[0] === RETURN) {
      // Header and pickle in one buffer. A value that throws while being encoded takes the path below.
      let whole: Uint8Array | undefined;
      try {
        whole = codec.frameReply(RETURN, msg[1]);
      } catch {
        whole = undefined;
      }
      if (whole !== undefined) return conn._sendFramedNow(whole);
    }
    let value = msg[1];
    // Python 2 clients require traceback texts (and type names) as `str`.
    if (msg[0] === TRACEBACK) value = legacyText(codecs, value as string);
    else if (msg[0] === PROXY && codecs.legacy) value = legacyProxyValue(value);
    let frame: Uint8Array;
    try {
      frame = codec.encodeReply(msg[0], value);
    } catch (e) {
      // XML-RPC cannot carry an exception object (CPython's own server sends it anyway, and its
      // client fails with an unrelated TypeError): send its traceback text, so the Python client
      // raises a RemoteError that names the exception.
      frame =
        msg[0] === ERROR && value instanceof PyException
          ? codec.encode(tuple(TRACEBACK, legacyText(codecs, formatTraceback(value, where))))
          : codec.encode(tuple(UNSERIALIZABLE, legacyText(codecs, formatTraceback(e, where))));
    }
    return conn._sendNow(frame);
  }

  /** One connection: authenticate, then one server-method request (or an object-call channel). */
  async #handle(conn: Connection): Promise<void> {
    if (!(await this.#authenticate(conn))) return;
    const codecs = this.#codecs();
    let frame: Buffer;
    try {
      frame = await conn.recvBytes();
    } catch {
      return;
    }
    this.#setProtocol(codecs, frame);
    let msg: Message;
    let funcname = '';
    let args: unknown[] = [];
    let kwds: Record<string, unknown> = {};
    try {
      const req = codecs.exact.decode(frame, (ref) => this.#onProxy(ref));
      if (!Array.isArray(req) || req.length !== 4) {
        throw pyError('ValueError', `not enough values to unpack (expected 4, got ${Array.isArray(req) ? req.length : 0})`);
      }
      funcname = String(req[1]);
      // Python 2 sends its names as `str`, which the exact codec keeps as bytes.
      // Sticky: Python 2 AutoProxy methods send the (unicode) names our create reply gave them.
    if (req[1] instanceof Uint8Array) codecs.legacy = true;
      if (!(SERVER_METHODS as readonly string[]).includes(funcname)) throw pyError('AssertionError', `${pyRepr(req[1])} unrecognized`);
      args = argsArray(req[2]);
      kwds = kwargsRecord(req[3]);
      // `create` of a user typeid: constructor arguments as idiomatic JS values.
      if (funcname === 'create' && args.length > 0 && this.#types.get(String(args[0]))?.exact === false) {
        const plain = codecs.plain.decode(frame, (ref) => this.#onProxy(ref)) as unknown[];
        args = argsArray(plain[2]);
        kwds = kwargsRecord(plain[3]);
      }
      // A factory may run for long (or forever): a client that dies meanwhile frees its socket.
      if (funcname === 'create') dropWhenPeerGone(conn);
      msg = [RETURN, await this.#serverMethod(conn, codecs, funcname, args, kwds)];
    } catch (e) {
      if (e instanceof ChannelDone) return;
      msg = [TRACEBACK, formatTraceback(e, funcname || '_handle_request')];
    }
    await this.#send(conn, codecs, msg, funcname);
    if (funcname === 'shutdown') void this.close();
  }

  #setProtocol(codecs: Codecs, frame: Uint8Array): void {
    if (this.serializer !== 'pickle') return;
    const p = codecs.exact.protocolOf(frame);
    const protocol = p === undefined || p < 2 ? 2 : p;
    codecs.exact.protocol = protocol;
    codecs.plain.protocol = protocol;
  }

  async #serverMethod(
    conn: Connection,
    codecs: Codecs,
    name: string,
    args: unknown[],
    kwds: Record<string, unknown>,
  ): Promise<unknown> {
    switch (name) {
      case 'dummy':
        return null;
      case 'create': {
        if (args.length < 1) throw pyError('TypeError', "create() missing 1 required positional argument: 'typeid'");
        const [ident, exposed] = await this.#create(String(args[0]), args.slice(1), kwds);
        // Python 2 builds AutoProxy classes from these names: they must be `str` there.
        if (codecs.legacy) return tuple(Buffer.from(ident), tuple(...exposed.map((n) => Buffer.from(n))));
        return tuple(ident, tuple(...exposed));
      }
      case 'incref':
        this.#incref(String(args[0]));
        return null;
      case 'decref':
        this.#decref(String(args[0]));
        return null;
      case 'get_methods': {
        const token = args[0];
        const id = token instanceof Token ? token.id : String(args[0]);
        const e = this.#objects.get(id);
        if (!e) throw pyError('KeyError', id);
        return tuple(...e.exposed);
      }
      case 'number_of_objects':
        return this.#refcounts.size;
      case 'debug_info':
        return [...this.#refcounts.keys()]
          .sort()
          .map((id) => `  ${id}:       refcount=${this.#refcounts.get(id)}\n    ${this.#str(this.#objects.get(id)?.obj).slice(0, 75)}`)
          .join('\n');
      case 'accept_connection':
        await this.#send(conn, codecs, [RETURN, null], name);
        await this.#channel(conn, codecs);
        throw new ChannelDone();
      case 'shutdown':
        await this.#send(conn, codecs, [RETURN, null], name);
        return null;
      default:
        throw pyError('AssertionError', `'${name}' unrecognized`);
    }
  }

  #str(obj: unknown): string {
    if (isServedObject(obj)) return obj.pyRepr();
    if (obj !== null && typeof obj === 'object' && !(obj instanceof Map) && !Array.isArray(obj)) {
      const s = String(obj);
      if (s !== '[object Object]') return s;
      return `<${obj.constructor?.name ?? 'object'} object>`;
    }
    return pyStr(obj);
  }

  #identOf(obj: unknown): string {
    if (obj !== null && (typeof obj === 'object' || typeof obj === 'function')) {
      let id = this.#idents.get(obj);
      if (id === undefined) {
        id = (nextIdent += 0x30).toString(16);
        this.#idents.set(obj, id);
      }
      return id;
    }
    return (nextIdent += 0x30).toString(16);
  }

  async #create(typeid: string, args: unknown[], kwargs: Record<string, unknown>): Promise<[string, readonly string[]]> {
    const t = this.#types.get(typeid);
    if (!t) throw pyError('KeyError', typeid);
    let obj: unknown;
    if (t.make === null) {
      if (Object.keys(kwargs).length || args.length !== 1) throw pyError('ValueError', 'Without callable, must have one non-keyword argument');
      obj = args[0];
    } else {
      obj = await t.make(args, kwargs);
    }
    let exposed = t.exposed ?? servedExposed(obj) ?? publicMethods(obj);
    if (t.methodToTypeid) exposed = [...exposed, ...Object.keys(t.methodToTypeid).filter((m) => !exposed.includes(m))];
    const ident = this.#identOf(obj);
    this.#objects.set(ident, {
      obj,
      typeid,
      exposed,
      exposedSet: new Set(exposed),
      methodToTypeid: t.methodToTypeid,
      // Served objects (the built-in classes, also when a user factory returns one) get exact values.
      exact: t.exact || isServedObject(obj),
    });
    if (!this.#refcounts.has(ident)) this.#refcounts.set(ident, 0);
    this.#incref(ident);
    return [ident, exposed];
  }

  #incref(ident: string): void {
    const n = this.#refcounts.get(ident);
    if (n !== undefined) {
      this.#refcounts.set(ident, n + 1);
      return;
    }
    const local = this.#localProxyObjects.get(ident);
    if (!local) throw pyError('KeyError', ident);
    this.#refcounts.set(ident, 1);
    this.#objects.set(ident, local);
  }

  #decref(ident: string): void {
    if (!this.#refcounts.has(ident) && this.#localProxyObjects.has(ident)) return;
    const n = this.#refcounts.get(ident);
    if (n === undefined) throw pyError('KeyError', ident);
    if (n <= 0) throw pyError('AssertionError', `Id ${ident} has refcount ${n}, not 1+`);
    if (n === 1) {
      this.#refcounts.delete(ident);
      this.#objects.delete(ident);
    } else {
      this.#refcounts.set(ident, n - 1);
    }
  }

  /** A `RebuildProxy(...)` inside a request: our own object → a {@link LocalProxy}. */
  #onProxy(ref: ProxyReference): unknown {
    const id = ref.token.id;
    const entry = this.#objects.get(id) ?? this.#localProxyObjects.get(id);
    if (!entry) return new ForeignProxy(ref);
    if (!this.#localProxyObjects.has(id)) this.#localProxyObjects.set(id, entry);
    const cls = ref.func instanceof PyGlobal && ref.func.module === MANAGERS_MODULE ? ref.func.name : 'AutoProxy';
    const token = new Token(entry.typeid, this.address as Token['address'], id);
    return new LocalProxy(entry.obj, token, cls, ref.exposed ?? entry.exposed, ref.serializer);
  }

  // ---------------------------------------------------------------- object calls

  /** The object-call loop of one connection (CPython's `serve_client` thread). */
  async #channel(conn: Connection, codecs: Codecs): Promise<void> {
    const abort = new AbortController();
    this.#aborts.add(abort);
    const ctx: CallContext = { channel: ++this.#channelSeq, signal: abort.signal };
    const call: CallState = { method: '' };
    // The client disconnecting during a call abandons it (a blocked get() takes nothing): while a
    // call waits, the next receive is already issued and watches for the end of the connection.
    // Calls that complete synchronously (most of them) skip that promise chain.
    const watchNext = (): Promise<Buffer | undefined> => {
      const next = conn.recvBytes().catch(() => undefined);
      void next.then((f) => {
        if (f !== undefined) return;
        abort.abort();
        // A call that ignores the abort (a user method that never settles) must not keep the
        // dead client's socket open.
        if (!conn.closed) conn.destroy();
      });
      return next;
    };
    let next: Promise<Buffer | undefined> | undefined;
    const slot: { frame: Buffer | undefined } = { frame: undefined };
    try {
      for (;;) {
        let frame: Buffer | undefined;
        if (next !== undefined) {
          frame = await next;
          next = undefined;
        } else {
          try {
            const waiting = conn._recvFrame(slot);
            if (waiting !== undefined) await waiting;
          } catch {
            if (!conn.closed) conn.destroy();
            return;
          }
          frame = slot.frame;
          slot.frame = undefined;
        }
        if (frame === undefined || this.#closing) return;
        this.#setProtocol(codecs, frame);
        let msg: Message;
        call.method = '';
        try {
          const r = this.#objectCall(frame, codecs, ctx, call);
          if (r instanceof Promise) {
            next = watchNext();
            msg = await r;
          } else {
            msg = r;
          }
        } catch (e) {
          if (e instanceof CallAborted || abort.signal.aborted) return;
          msg = [TRACEBACK, formatTraceback(e, 'serve_client')];
        }
        if (abort.signal.aborted) return;
        const sending = this.#send(conn, codecs, msg, call.method);
        if (sending !== undefined) await sending;
      }
    } finally {
      abort.abort();
      this.#aborts.delete(abort);
    }
  }

  /**
   * One object call: the reply message, synchronously when the method returned a plain value
   * (no promise hop per request), else a promise of it. Sets `call.method` once it is known.
   */
  #objectCall(frame: Uint8Array, codecs: Codecs, ctx: CallContext, call: CallState): Message | Promise<Message> {
    let entry: ObjectEntry | undefined;
    let method = '';
    let args: unknown[] = [];
    let kwargs: Record<string, unknown> = {};
    // Most requests: one fast decode whose values suit built-in and user objects alike.
    const fast = codecs.limits === undefined ? undefined : fastLoads(frame, false, codecs.limits, true);
    if (isFastRequest(fast)) {
      entry = fast[0] === '0' ? undefined : (this.#objects.get(fast[0]) ?? this.#localProxyObjects.get(fast[0]));
      if (entry !== undefined) {
        method = fast[1];
        call.method = method;
        args = fast[2];
        kwargs = fast[3];
      }
    }
    if (entry === undefined) {
      // The general decoders (they also raise what CPython reports for a malformed request).
      const hook = this.#proxyHook;
      const decoded = codecs.exact.decode(frame, hook);
      if (!Array.isArray(decoded) || decoded.length !== 4) {
        throw pyError('ValueError', `not enough values to unpack (expected 4, got ${Array.isArray(decoded) ? decoded.length : 0})`);
      }
      let req: unknown[] = decoded;
      // Sticky: Python 2 AutoProxy methods send the (unicode) names our create reply gave them.
      if (req[1] instanceof Uint8Array) codecs.legacy = true;
      const ident = String(req[0]);
      method = String(req[1]);
      call.method = method;
      if (ident === '0') throw pyError('ValueError', 'not enough values to unpack (expected 3, got 2)');
      entry = this.#objects.get(ident) ?? this.#localProxyObjects.get(ident);
      if (!entry) throw pyError('KeyError', ident);
      if (!entry.exact) req = codecs.plain.decode(frame, hook) as unknown[];
      args = argsArray(req[2]);
      kwargs = kwargsRecord(req[3]);
    }
    const obj = entry.obj;

    if (!entry.exposedSet.has(method)) {
      switch (method) {
        case GETVALUE:
          return [RETURN, isServedObject(obj) && obj[getValue] ? obj[getValue]() : obj];
        case '__repr__':
          return [RETURN, isServedObject(obj) ? obj.pyRepr() : this.#str(obj)];
        case '__str__':
          return [RETURN, this.#str(obj)];
        default:
          throw pyError('AttributeError', `method '${method}' of <class '${pyClassName(obj)}'> object is not in exposed=${pyRepr(new Set(entry.exposed))}`);
      }
    }

    let result: unknown;
    try {
      if (isServedObject(obj)) {
        result = obj[serveCall](method, args, kwargs, ctx);
      } else {
        const fn = obj === null || obj === undefined ? undefined : (obj as Record<string, unknown>)[method];
        if (fn === undefined) {
          // CPython: getattr() failed → AttributeError → #TRACEBACK.
          return [TRACEBACK, formatTraceback(pyError('AttributeError', `'${pyTypeName(obj)}' object has no attribute '${method}'`), method)];
        }
        if (typeof fn !== 'function') throw pyError('TypeError', `'${pyTypeName(fn)}' object is not callable`);
        result = (fn as (...values: unknown[]) => unknown).apply(obj, Object.keys(kwargs).length ? [...args, kwargs] : args);
      }
    } catch (e) {
      return failureMessage(e, method);
    }
    if (isThenable(result)) return this.#settleCall(result, entry, method);
    return this.#resultMessage(result, entry, method);
  }

  /** The reply of a call whose method returned a promise (or any thenable), once it settles. */
  async #settleCall(pending: PromiseLike<unknown>, entry: ObjectEntry, method: string): Promise<Message> {
    let result: unknown;
    try {
      result = await pending;
    } catch (e) {
      return failureMessage(e, method);
    }
    return this.#resultMessage(result, entry, method);
  }

  /** `#RETURN` of a result, or `#PROXY` of a new object for a `method_to_typeid` method. */
  #resultMessage(result: unknown, entry: ObjectEntry, method: string): Message | Promise<Message> {
    // Own keys only: `toString`, `constructor`, … must not resolve through Object.prototype.
    const typeid = entry.methodToTypeid && Object.hasOwn(entry.methodToTypeid, method) ? entry.methodToTypeid[method] : undefined;
    if (typeid) return this.#proxyMessage(typeid, result);
    return [RETURN, result];
  }

  async #proxyMessage(typeid: string, result: unknown): Promise<Message> {
    const [rident, rexposed] = await this.#create(typeid, [result], {});
    return [PROXY, tuple(tuple(...rexposed), new Token(typeid, this.address as Token['address'], rident))];
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Stop listening and end every connection; blocked calls are abandoned (idempotent). Resolves
   * once the listener is closed.
   */
  async close(): Promise<void> {
    if (this.#closing) return this.closed;
    this.#closing = true;
    await this.#listener.close();
    for (const a of this.#aborts) a.abort();
    for (const c of this.#conns) c.close();
    this.#resolveClosed();
    return this.closed;
  }

  /** `await using server = await serveManager(…)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A text for the client: `str` (bytes) for Python 2, which requires it in tracebacks. */
function legacyText(codecs: Codecs, t: string): unknown {
  return codecs.legacy ? Buffer.from(t, 'utf8') : t;
}

/** A `#PROXY` value for Python 2, whose `type()` needs `str` (bytes) names: typeid, id, exposed. */
function legacyProxyValue(value: unknown): unknown {
  const [exposed, token] = value as [string[], Token];
  const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
  const reduction = token[pyReduce]();
  const addr = (reduction.state as unknown[])[1];
  const legacyToken = new LegacyToken({ ...reduction, state: tuple(bytes(token.typeid), addr, bytes(token.id)) });
  return tuple(tuple(...exposed.map(bytes)), legacyToken);
}

/** A Token pickled with Python 2 `str` fields. */
class LegacyToken {
  constructor(readonly reduction: Reduction) {}
  [pyReduce](): Reduction {
    return this.reduction;
  }
}

/** What the mode-free fast decode of a well-formed request gives: `[ident, method, args, {}]`. */
function isFastRequest(v: unknown): v is [string, string, unknown[], Record<string, unknown>] {
  if (!Array.isArray(v) || v.length !== 4) return false;
  const kw: unknown = v[3];
  return typeof v[0] === 'string' && typeof v[1] === 'string' && Array.isArray(v[2]) && typeof kw === 'object' && kw !== null && !Array.isArray(kw);
}

/** Per-channel state of the call being served: its method name, for error texts. */
interface CallState {
  method: string;
}

/** What `await` would adopt: a promise or any object with a callable `then`. */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** The reply to a method that threw: `#ERROR` with a Python exception, else `#TRACEBACK`. */
function failureMessage(e: unknown, method: string): Message {
  if (e instanceof CallAborted) throw e;
  const exc = asPyException(e);
  return exc ? [ERROR, exc] : [TRACEBACK, formatTraceback(e, method)];
}

/** Thrown inside `#handle` when an object-call channel ended (nothing more to send). */
class ChannelDone extends Error {}

/**
 * Destroy `conn` once its peer closes or fails while its request is still being worked on (the
 * peer sends nothing else on a control connection). Our own `close()` leaves it alone.
 */
function dropWhenPeerGone(conn: Connection): void {
  conn.recvBytes().then(
    () => undefined,
    () => {
      if (!conn.closed) conn.destroy();
    },
  );
}

/**
 * Serve shared objects to Python's `multiprocessing.managers` clients.
 * @example
 * ```ts
 * const queue = new Jobs();                       // any JS object: its public methods are exposed
 * await using server = await serveManager({
 *   address: ['127.0.0.1', 50000], authkey: 'abc',
 *   registry: { get_queue: () => queue },         // BaseManager.register('get_queue') in Python
 * });
 * // Python: m = SyncManager(('127.0.0.1', 50000), b'abc'); m.connect(); d = m.dict(); q = m.Queue()
 * ```
 */
export async function serveManager(options: ServeManagerOptions): Promise<ManagerServer> {
  if (options.authkey === undefined || options.authkey === null) throw new TypeError('serveManager needs an authkey (managers always authenticate)');
  const serializer = options.serializer ?? 'pickle';
  if (serializer !== 'pickle' && serializer !== 'xmlrpclib') throw new TypeError(`unknown serializer ${String(serializer)}`);
  checkDigestOptions({ digest: options.digest });
  const listener = await listen(options.address ?? null, {
    backlog: options.backlog ?? 128,
    ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  try {
    return new ManagerServer(listener, options);
  } catch (e) {
    // A bad registry entry: nothing may stay bound when serveManager rejects.
    await listener.close();
    throw e;
  }
}


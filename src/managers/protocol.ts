/**
 * The message layer of `multiprocessing.managers` (PROTOCOL.md §5), shared by the client and the
 * (later) server: request and reply shapes, the `Token`, `RebuildProxy` references found inside
 * values, the server's method list, the SyncManager registry, and the mapping of replies to values
 * or {@link RemoteError}s. Nothing here does I/O.
 * @module
 */
import { RemoteError } from '../errors.js';
import { PyException, PyGlobal, PyObject, type Reduction, pyReduce, pySetState, tuple } from '../pickle/index.js';
import { pyRepr } from './py-values.js';

/**
 * Reply kinds a manager server sends (`(kind, value)` 2-tuples).
 * @example
 * ```ts
 * const { kind, value } = parseReply(decoded);
 * if (kind === RETURN) return value;
 * ```
 */
export const RETURN = '#RETURN';
/**
 * Reply kind of a call that raised: the value is the pickled exception.
 * @example
 * ```ts
 * if (kind === ERROR) throw errorFromException(value); // the pickled Python exception
 * ```
 */
export const ERROR = '#ERROR';
/**
 * Reply kind of a server failure outside the call: the value is Python's traceback text.
 * @example
 * ```ts
 * if (kind === TRACEBACK) throw errorFromTraceback(kind, value); // the text of a server-side traceback
 * ```
 */
export const TRACEBACK = '#TRACEBACK';
/**
 * Reply kind of a result the server could not serialize: the value is the traceback text.
 * @example
 * ```ts
 * if (kind === UNSERIALIZABLE) throw errorFromTraceback(kind, value); // the result could not be pickled
 * ```
 */
export const UNSERIALIZABLE = '#UNSERIALIZABLE';
/**
 * Reply kind of a method listed in `method_to_typeid`: the value is `(exposed, token)` of a new shared object.
 * @example
 * ```ts
 * if (kind === PROXY) console.log('the method returned a shared object', value); // [exposed, token]
 * ```
 */
export const PROXY = '#PROXY';
/**
 * The fallback method every object answers with a pickled copy of the referent (`proxy._getvalue()`).
 * @example
 * ```ts
 * const copy = await proxy.call(GETVALUE); // what proxy.getValue() does: Python's proxy._getvalue()
 * ```
 */
export const GETVALUE = '#GETVALUE';

/**
 * Reply kind.
 * @example
 * ```ts
 * function check(kind: ReplyKind): boolean { return kind === RETURN || kind === PROXY; }
 * ```
 */
export type ReplyKind = typeof RETURN | typeof ERROR | typeof TRACEBACK | typeof UNSERIALIZABLE | typeof PROXY;

/**
 * `Server.public` (identical in CPython 2.7–3.15): the methods that may be called with
 * `ident = None`. Anything else is answered with a `#TRACEBACK` (`AssertionError`).
 * @example
 * ```ts
 * SERVER_METHODS.includes('create'); // true: callable with ident None
 * ```
 */
export const SERVER_METHODS = [
  'shutdown',
  'create',
  'accept_connection',
  'get_methods',
  'debug_info',
  'number_of_objects',
  'dummy',
  'incref',
  'decref',
] as const;
/**
 * One of {@link SERVER_METHODS}.
 * @example
 * ```ts
 * const method: ServerMethod = 'debug_info';
 * ```
 */
export type ServerMethod = (typeof SERVER_METHODS)[number];

/**
 * The Python module every manager class lives in.
 * @example
 * ```ts
 * const dictProxyClass = new PyGlobal(MANAGERS_MODULE, 'DictProxy');
 * ```
 */
export const MANAGERS_MODULE = 'multiprocessing.managers';

/**
 * A manager address in Python's shape: `[host, port]`, a Unix path, or abstract-socket bytes.
 * @example
 * ```ts
 * const address: TokenAddress = ['127.0.0.1', 50000];
 * const token = new Token('dict', address, '7f3a2c1b0e10');
 * ```
 */
export type TokenAddress = readonly [string, number] | string | Uint8Array | null;

/**
 * `multiprocessing.managers.Token`: names one shared object (`typeid`, server `address`, `id`).
 * Pickles as Python does (`Token.__new__` + BUILD with the `(typeid, address, id)` state tuple).
 * @example
 * ```ts
 * const token = new Token('Queue', ['127.0.0.1', 50000], '7f1e2d3c4b50');
 * dumps(token); // pickles as multiprocessing.managers.Token, as Python does
 * ```
 */
export class Token {
  constructor(
    /** Registry name of the object's type, e.g. `'dict'` or `'get_queue'`. */
    public typeid: string,
    /** The server's listener address as the server reports it (§5.5). */
    public address: TokenAddress,
    /** The object's ident, `'%x' % id(obj)` on the server. */
    public id: string,
  ) {}

  /** How the pickler writes this token: `Token.__new__` (NEWOBJ), then BUILD with `(typeid, address, id)`. */
  [pyReduce](): Reduction {
    const addr = Array.isArray(this.address) ? tuple(...(this.address as readonly unknown[])) : this.address;
    return { module: MANAGERS_MODULE, name: 'Token', args: [], via: 'newobj', state: tuple(this.typeid, addr, this.id) };
  }

  /** Restores the fields from the `(typeid, address, id)` state tuple; throws `TypeError` on any other shape. */
  [pySetState](state: unknown): void {
    if (!Array.isArray(state) || state.length !== 3) throw new TypeError('Token state must be a 3-tuple');
    const [typeid, address, id] = state as [unknown, unknown, unknown];
    this.typeid = String(typeid);
    this.id = String(id);
    this.address = normalizeAddress(address);
  }

  /** Python's repr, e.g. `Token(typeid="dict", address=("127.0.0.1", 50000), id="7f3a")`. */
  toString(): string {
    return `Token(typeid=${JSON.stringify(this.typeid)}, address=${formatTokenAddress(this.address)}, id=${JSON.stringify(this.id)})`;
  }
}

function normalizeAddress(a: unknown): TokenAddress {
  if (a === null || a === undefined) return null;
  if (typeof a === 'string' || a instanceof Uint8Array) return a;
  if (Array.isArray(a) && a.length >= 2) return [String(a[0]), Number(a[1])];
  return null;
}

function formatTokenAddress(a: TokenAddress): string {
  if (a === null) return 'None';
  if (typeof a === 'string') return JSON.stringify(a);
  if (a instanceof Uint8Array) return `b${JSON.stringify(Buffer.from(a).toString('latin1'))}`;
  return `(${JSON.stringify(a[0])}, ${a[1]})`;
}

/**
 * A pickled proxy found inside a value: `RebuildProxy(func, token, serializer, kwds)` (§5.5).
 * A receiving client turns it into a live proxy and increfs, as CPython's unpickling does.
 * @example
 * ```ts
 * const m = await connectManager(address, { authkey: 'abc' });
 * // A dict holding a proxy comes back with a live Proxy where Python sent RebuildProxy(...):
 * const holder = await m.dict();
 * const inner = (await holder.get('child')) as Proxy;
 * ```
 */
export interface ProxyReference {
  /** The proxy class the sender used (e.g. `DictProxy`, `AutoProxy`). */
  readonly func: unknown;
  /** The token of the shared object. */
  readonly token: Token;
  /** The serializer named in RebuildProxy (`'pickle'` when it was not a string). */
  readonly serializer: string;
  /** `kwds` of RebuildProxy; `exposed` is set for AutoProxy. */
  readonly exposed: readonly string[] | undefined;
}

/** Read `exposed` out of RebuildProxy's kwds (a plain object or a Map). */
export function exposedFromKwds(kwds: unknown): readonly string[] | undefined {
  let v: unknown;
  if (kwds instanceof Map) v = kwds.get('exposed');
  else if (kwds && typeof kwds === 'object') v = (kwds as Record<string, unknown>)['exposed'];
  return Array.isArray(v) ? v.map(String) : undefined;
}

/**
 * The reduction of a proxy sent inside a value: `RebuildProxy(AutoProxy, token, serializer,
 * {'exposed': exposed})`, which a Python receiver (client or the server itself) can always rebuild.
 * @example
 * ```ts
 * const reduction = rebuildProxyReduction(token, 'pickle', ['get', 'put']);
 * // { module: 'multiprocessing.managers', name: 'RebuildProxy', args: [AutoProxy, token, 'pickle', { exposed }] }
 * ```
 */
export function rebuildProxyReduction(token: Token, serializer: string, exposed: readonly string[] | null, proxyClass = 'AutoProxy'): Reduction {
  const kwds = new Map<string, unknown>();
  // AutoProxy needs `exposed` (else the receiver asks get_methods); named classes know theirs.
  // CPython 3.6's AutoProxy cannot be rebuilt inside the server (no `manager_owned` parameter),
  // so a named class is used whenever one is known.
  if (proxyClass === 'AutoProxy' && exposed) kwds.set('exposed', tuple(...exposed));
  return {
    module: MANAGERS_MODULE,
    name: 'RebuildProxy',
    args: [new PyGlobal(MANAGERS_MODULE, proxyClass), token, serializer, kwds],
  };
}

/**
 * A request 4-tuple `(ident, methodname, args, kwds)` ready for a codec.
 * @example
 * ```ts
 * const frame = managerCodec('pickle').encode(request(null, 'create', ['dict'], {}));
 * ```
 */
export function request(ident: string | null, method: string, args: readonly unknown[] = [], kwds?: unknown): unknown[] {
  return tuple(ident, method, tuple(...args), kwds ?? {});
}

/**
 * A decoded reply.
 * @example
 * ```ts
 * const reply: Reply = parseReply(codec.decode(frame));
 * ```
 */
export interface Reply {
  /** The reply kind, e.g. {@link RETURN}, {@link ERROR} or {@link PROXY}. */
  kind: string;
  /** The result, error or token the reply carries. */
  value: unknown;
}

/**
 * Split a decoded `(kind, value)` reply; throws a `RemoteError` for any other shape (a protocol error).
 * @example
 * ```ts
 * const { kind, value } = parseReply(codec.decode(await conn.recvBytes()));
 * ```
 */
export function parseReply(msg: unknown): Reply {
  if (Array.isArray(msg) && msg.length === 2 && typeof msg[0] === 'string') return { kind: msg[0], value: msg[1] };
  throw new RemoteError(`Unrecognized message from manager: ${describe(msg)}`);
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x))?.slice(0, 200) ?? String(v);
  } catch {
    return String(v);
  }
}

const DURING = 'During handling of the above exception, another exception occurred:';

/** JavaScript's `\s`, the characters `trimEnd` removes. */
function isJsSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * End of the first exception of a chained traceback: where the whitespace before the first
 * "During handling…" sentence standing on its own line starts (what `/\n\s*During…:\s*\n/`
 * matched), else the text's length. Scans instead of using that regex, which is quadratic on a long
 * run of newlines (a hostile server's 40,000 newlines held the event loop 2.5 s).
 */
function firstExceptionEnd(text: string): number {
  for (let at = text.indexOf(DURING); at >= 0; at = text.indexOf(DURING, at + 1)) {
    let start = at;
    let newlineBefore = false;
    while (start > 0 && isJsSpace(text.charCodeAt(start - 1))) {
      start--;
      if (text.charCodeAt(start) === 0x0a) newlineBefore = true;
    }
    let newlineAfter = false;
    for (let i = at + DURING.length; i < text.length && isJsSpace(text.charCodeAt(i)) && !newlineAfter; i++) newlineAfter = text.charCodeAt(i) === 0x0a;
    if (newlineBefore && newlineAfter) return start;
  }
  return text.length;
}

/** Last non-empty line of a traceback text, e.g. `"KeyError: 'x'"`. */
export function lastLine(text: string): string {
  // With chained exceptions the first one is the cause ("During handling of the above exception").
  const first = text.slice(0, firstExceptionEnd(text));
  const lines = first.trimEnd().split('\n');
  // The exception line ("pkg.Name: message"); 3.11+ may add notes after it.
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i] as string;
    if (/^[A-Za-z_][\w.]*(: |$)/.test(l) && !l.startsWith(' ')) return l.trim();
  }
  return (lines[lines.length - 1] ?? '').trim();
}

/**
 * Python's `str(exc)` for an exception of `type` with these args: the one argument's `str()`, but
 * its `repr()` for a `KeyError` (`KeyError: 'k'`, as `KeyError.__str__` gives).
 */
function excStr(type: string, args: readonly unknown[]): string {
  if (args.length === 0) return '';
  if (args.length === 1) {
    if (type === 'KeyError') return pyRepr(args[0]);
    return typeof args[0] === 'string' ? args[0] : describe(args[0]);
  }
  return describe(args);
}

/**
 * Turn the value of an `#ERROR` reply (the pickled exception) into a {@link RemoteError} with the
 * Python type name, module and args; `cause` keeps the decoded exception (with its `__dict__`
 * state). xmlrpclib servers send a struct of attributes instead (§5.10), kept as `args[0]`.
 * @example
 * ```ts
 * const err = errorFromException(new PyException('builtins', 'KeyError', ['k']));
 * err.type; // 'KeyError'
 * ```
 */
export function errorFromException(exc: unknown): RemoteError {
  if (exc instanceof PyException) {
    const msg = exc.type + (exc.args.length ? `: ${excStr(exc.type, exc.args)}` : '');
    return new RemoteError(msg, { type: exc.type, module: exc.module, args: exc.args }, { cause: exc });
  }
  if (exc instanceof PyObject) {
    const args = exc.args;
    const name = exc.name.split('.').pop() ?? exc.name;
    const msg = name + (args.length ? `: ${excStr(name, args)}` : '');
    return new RemoteError(msg, { type: name, module: exc.module, args }, { cause: exc });
  }
  return new RemoteError(`remote error: ${describe(exc)}`, { args: [exc] });
}

/**
 * `#TRACEBACK` / `#UNSERIALIZABLE` text → {@link RemoteError} carrying the text.
 * @example
 * ```ts
 * const err = errorFromTraceback(TRACEBACK, 'Traceback (most recent call last):\n...\nAssertionError');
 * ```
 */
export function errorFromTraceback(kind: string, text: unknown): RemoteError {
  const tb = typeof text === 'string' ? text : describe(text);
  const prefix = kind === UNSERIALIZABLE ? 'Unserializable message: ' : '';
  return new RemoteError(prefix + (lastLine(tb) || 'remote traceback'), { traceback: tb });
}

/**
 * One SyncManager registry entry (§5.8): the proxy class and the exposed methods CPython 3.8–3.13 use.
 * @example
 * ```ts
 * const entry: RegistryEntry | undefined = SYNC_MANAGER_REGISTRY['Queue'];
 * console.log(entry?.proxy, entry?.exposed); // 'AutoProxy', null
 * ```
 */
export interface RegistryEntry {
  /** Python proxy class name. */
  readonly proxy: string;
  /** Exposed methods; `null` when the server computes them (AutoProxy). */
  readonly exposed: readonly string[] | null;
  /** Methods whose results are returned as new shared objects of the named typeid. */
  readonly methodToTypeid?: Readonly<Record<string, string>>;
  /** False for typeids only produced by methods (`Iterator`, `AsyncResult`). */
  readonly create?: boolean;
}

const ACQUIRER = ['acquire', 'release'];

/**
 * The SyncManager registry (3.8–3.14; `registry_dump.py`). Clients trust the `exposed` tuple the
 * server returns; this table documents the defaults and serves the later server. Where versions
 * differ the table holds the union (3.14 added `set`, `dict.__or__`/`fromkeys`/…, `list.clear`/`copy`):
 * an older client never calls the methods it lacks.
 * @example
 * ```ts
 * Object.keys(SYNC_MANAGER_REGISTRY); // ['Queue', 'JoinableQueue', 'Event', 'Lock', …, 'dict', 'list', …]
 * ```
 */
export const SYNC_MANAGER_REGISTRY: Readonly<Record<string, RegistryEntry>> = {
  Queue: { proxy: 'AutoProxy', exposed: null },
  JoinableQueue: { proxy: 'AutoProxy', exposed: null },
  Event: { proxy: 'EventProxy', exposed: ['is_set', 'set', 'clear', 'wait'] },
  Lock: { proxy: 'AcquirerProxy', exposed: ACQUIRER },
  RLock: { proxy: 'AcquirerProxy', exposed: ACQUIRER },
  Semaphore: { proxy: 'AcquirerProxy', exposed: ACQUIRER },
  BoundedSemaphore: { proxy: 'AcquirerProxy', exposed: ACQUIRER },
  Condition: { proxy: 'ConditionProxy', exposed: ['acquire', 'release', 'wait', 'notify', 'notify_all'] },
  Barrier: { proxy: 'BarrierProxy', exposed: ['__getattribute__', 'wait', 'abort', 'reset'] },
  Pool: {
    proxy: 'PoolProxy',
    exposed: ['apply', 'apply_async', 'close', 'imap', 'imap_unordered', 'join', 'map', 'map_async', 'starmap', 'starmap_async', 'terminate'],
    methodToTypeid: { apply_async: 'AsyncResult', map_async: 'AsyncResult', starmap_async: 'AsyncResult', imap: 'Iterator', imap_unordered: 'Iterator' },
  },
  list: {
    proxy: 'ListProxy',
    exposed: ['__add__', '__contains__', '__delitem__', '__getitem__', '__len__', '__mul__', '__reversed__', '__rmul__', '__setitem__', 'append', 'count', 'extend', 'index', 'insert', 'pop', 'remove', 'reverse', 'sort', '__imul__', 'clear', 'copy'],
  },
  dict: {
    proxy: 'DictProxy',
    exposed: ['__contains__', '__delitem__', '__getitem__', '__iter__', '__len__', '__setitem__', 'clear', 'copy', 'get', 'items', 'keys', 'pop', 'popitem', 'setdefault', 'update', 'values', '__ior__', '__or__', '__reversed__', '__ror__', 'fromkeys'],
    methodToTypeid: { __iter__: 'Iterator' },
  },
  set: {
    proxy: 'SetProxy',
    exposed: ['__and__', '__class_getitem__', '__contains__', '__iand__', '__ior__', '__isub__', '__iter__', '__ixor__', '__len__', '__or__', '__rand__', '__ror__', '__rsub__', '__rxor__', '__sub__', '__xor__', '__ge__', '__gt__', '__le__', '__lt__', 'add', 'clear', 'copy', 'difference', 'difference_update', 'discard', 'intersection', 'intersection_update', 'isdisjoint', 'issubset', 'issuperset', 'pop', 'remove', 'symmetric_difference', 'symmetric_difference_update', 'union', 'update'],
  },
  Value: { proxy: 'ValueProxy', exposed: ['get', 'set'] },
  Array: { proxy: 'ArrayProxy', exposed: ['__len__', '__getitem__', '__setitem__'] },
  Namespace: { proxy: 'NamespaceProxy', exposed: ['__getattribute__', '__setattr__', '__delattr__'] },
  Iterator: { proxy: 'IteratorProxy', exposed: ['__next__', 'send', 'throw', 'close'], create: false },
  AsyncResult: { proxy: 'AutoProxy', exposed: null, create: false },
};

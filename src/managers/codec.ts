/**
 * Payload codecs of manager connections: pickle (with `Token` and `RebuildProxy` understood) and
 * xmlrpclib. Shared by the client and the server.
 * @module
 */
import { type DumpsOptions, type PickleCodecOptions, detectProtocol, dumps, loads, type PyClassHook, tuple } from '../pickle/index.js';
import { xmlCodec } from '../xmlrpc/index.js';
import { type FastDecodeLimits, fastLoads } from './fast-decode.js';
import { fastReply, fastRequest } from './fast-request.js';
import { MANAGERS_MODULE, type ProxyReference, Token, exposedFromKwds, request } from './protocol.js';

/**
 * The two serializers of `BaseManager(serializer=…)`.
 * @example
 * ```ts
 * const serializer: Serializer = 'xmlrpclib'; // Python: BaseManager(address, authkey, serializer='xmlrpclib')
 * const m = await connectManager(address, { authkey: 'abc', serializer });
 * ```
 */
export type Serializer = 'pickle' | 'xmlrpclib';

/**
 * Called for every `RebuildProxy(...)` found while decoding; returns what the value should hold instead.
 * @example
 * ```ts
 * const hook: ProxyHook = (ref) => `proxy of ${ref.token.typeid}`;
 * managerCodec('pickle').decode(frame, hook);
 * ```
 */
export type ProxyHook = (ref: ProxyReference) => unknown;

/**
 * Encodes requests/replies and decodes them, with pickled proxies handed to a hook.
 * @example
 * ```ts
 * const codec: ManagerCodec = managerCodec('pickle');
 * const frame = codec.encodeRequest(null, 'create', ['dict'], {});
 * ```
 */
export interface ManagerCodec {
  /** The serializer this codec speaks. */
  readonly serializer: Serializer;
  /** Pickle protocol used by `encode` (ignored by xmlrpclib). */
  protocol: number;
  /** Encode any message: a pickle at `protocol`, or an xmlrpclib document. */
  encode(message: unknown): Uint8Array;
  /** Encode the request `(ident, method, args, kwds)` (fast path for plain data at protocol 4/5). */
  encodeRequest(ident: string | null, method: string, args: readonly unknown[], kwds: unknown): Uint8Array;
  /** Encode the reply `(kind, value)` (fast path for plain values at protocol 4/5). */
  encodeReply(kind: string, value: unknown): Uint8Array;
  /**
   * The whole connection frame (4-byte length header, then the pickle) of a request, when the fast
   * encoder applies; `undefined` otherwise (then use `encodeRequest`).
   */
  frameRequest(ident: string | null, method: string, args: readonly unknown[], kwds: unknown): Uint8Array | undefined;
  /** The whole connection frame of a reply when the fast encoder applies (see `frameRequest`). */
  frameReply(kind: string, value: unknown): Uint8Array | undefined;
  /** Decode one message; with pickle, each pickled proxy in it is passed to `onProxy` (left as a `ProxyReference` without one). */
  decode(frame: Uint8Array, onProxy?: ProxyHook): unknown;
  /** Protocol of a received frame (pickle), or undefined. */
  protocolOf(frame: Uint8Array): number | undefined;
}

const tokenHook: PyClassHook = {
  create: () => new Token('', null, ''),
};

/**
 * `builtins.list(iterable)`: how multiprocessing's ForkingPickler sends dict views (`d.keys()`,
 * `d.items()`, `d.values()` → `rebuild_as_list`). The pickle decoder leaves this REDUCE as a
 * placeholder, so managers resolve it here.
 */
const listHook: PyClassHook = {
  create: (args) => (args.length === 0 ? [] : Array.from(args[0] as Iterable<unknown>)),
};

/**
 * A manager codec. `protocol` defaults to 2, which every CPython 2.7–3.15 server reads; the
 * client raises it to the protocol of the server's first reply. With `'xmlrpclib'`, `pickle.exact`
 * decodes integral floats to `Double` (a `PyFloat`) so they are sent back as floats, and
 * `undefined` is sent as None.
 * @example
 * ```ts
 * const codec = managerCodec('pickle', { exact: true });
 * const reply = codec.decode(await conn.recvBytes());
 * ```
 */
export function managerCodec(serializer: Serializer, pickle: Omit<PickleCodecOptions, 'protocol'> = {}, protocol = 2): ManagerCodec {
  if (serializer === 'xmlrpclib') {
    // Of the pickle options only `exact` applies: an integral float (`<double>1.0</double>`) then
    // decodes to a Double (a PyFloat), so it stays a float for the built-in objects and is written
    // back as `<double>`, where a plain number would become an `<int>` (refused beyond 32 bits).
    // `undefined` (a JS method without a return value) is None, as with pickle.
    const xml = xmlCodec({ wrapIntegralDoubles: pickle.exact === true, undefinedAsNone: true });
    return {
      serializer,
      protocol: 0,
      encode: (m) => xml.encode(m),
      encodeRequest: (ident, method, args, kwds) => xml.encode(request(ident, method, args, kwds)),
      encodeReply: (kind, value) => xml.encode(tuple(kind, value)),
      frameRequest: () => undefined,
      frameReply: () => undefined,
      decode: (f) => xml.decode(f),
      protocolOf: () => undefined,
    };
  }
  if (serializer !== 'pickle') throw new TypeError(`unknown serializer ${String(serializer)}`);
  const userFind = pickle.findClass;
  // The fast request encoder only stands in for `dumps` when no encoder hooks are configured.
  const plainDumps = pickle.reduce === undefined && pickle.persistentId === undefined;
  // fastReply nests at most MAX_DEPTH + 1 levels; a lower maxDepth must get dumps' error.
  const fastDepth = pickle.maxDepth === undefined || pickle.maxDepth > 64;
  let currentHook: ProxyHook | undefined;
  const rebuildHook: PyClassHook = {
    create: (args) => {
      const [func, token, ser, kwds] = args;
      if (!(token instanceof Token)) throw new TypeError('RebuildProxy without a Token');
      const ref: ProxyReference = { func, token, serializer: typeof ser === 'string' ? ser : 'pickle', exposed: exposedFromKwds(kwds) };
      return currentHook ? currentHook(ref) : ref;
    },
  };
  const loadOptions = {
    ...pickle,
    findClass: (module: string, name: string): PyClassHook | undefined => {
      if (module === MANAGERS_MODULE) {
        if (name === 'Token') return tokenHook;
        if (name === 'RebuildProxy') return rebuildHook;
      }
      if (module === 'builtins' && name === 'list') return userFind?.(module, name) ?? listHook;
      return userFind?.(module, name);
    },
  };
  // Small requests and replies of plain values skip the general unpickler (fast-decode.ts). Unset
  // limits are the defaults, far beyond what the fast path accepts.
  const exact = pickle.exact === true;
  const limits: FastDecodeLimits = {
    maxLength: pickle.maxLength ?? Number.POSITIVE_INFINITY,
    maxMemo: pickle.maxMemo ?? Number.POSITIVE_INFINITY,
    maxDepth: pickle.maxDepth ?? Number.POSITIVE_INFINITY,
  };
  // One options object per protocol, built on first use: spreading the options on every call made
  // `dumps` read them through megamorphic, dictionary-mode lookups (~3 µs per reply).
  const dumpsOptions: Array<DumpsOptions | undefined> = [];
  const codec: ManagerCodec = {
    serializer,
    protocol,
    encode(message) {
      const p = codec.protocol as 0 | 1 | 2 | 3 | 4 | 5;
      const options = (dumpsOptions[p] ??= { ...pickle, protocol: p });
      return dumps(message, options);
    },
    encodeRequest(ident, method, args, kwds) {
      const fast = plainDumps ? fastRequest(codec.protocol, ident, method, args, kwds) : undefined;
      return fast ?? codec.encode(request(ident, method, args, kwds));
    },
    frameRequest(ident, method, args, kwds) {
      return plainDumps ? fastRequest(codec.protocol, ident, method, args, kwds, true) : undefined;
    },
    frameReply(kind, value) {
      return plainDumps && fastDepth ? fastReply(codec.protocol, kind, value, true) : undefined;
    },
    encodeReply(kind, value) {
      const fast = plainDumps && fastDepth ? fastReply(codec.protocol, kind, value) : undefined;
      return fast ?? codec.encode(tuple(kind, value));
    },
    decode(frame, onProxy) {
      const fast = fastLoads(frame, exact, limits);
      if (fast !== undefined) return fast;
      const saved = currentHook;
      currentHook = onProxy;
      try {
        return loads(frame, loadOptions);
      } finally {
        currentHook = saved;
      }
    },
    protocolOf: (frame) => detectProtocol(frame),
  };
  return codec;
}

/**
 * Payload codecs of manager connections: pickle (with `Token` and `RebuildProxy` understood) and
 * xmlrpclib. Shared by the client and the server.
 * @module
 */
import { type PickleCodecOptions, detectProtocol, dumps, loads, type PyClassHook } from '../pickle/index.js';
import { xmlCodec } from '../xmlrpc/index.js';
import { fastRequest } from './fast-request.js';
import { MANAGERS_MODULE, type ProxyReference, Token, exposedFromKwds, request } from './protocol.js';

/** The two serializers of `BaseManager(serializer=…)`. */
export type Serializer = 'pickle' | 'xmlrpclib';

/** Called for every `RebuildProxy(...)` found while decoding; returns what the value should hold instead. */
export type ProxyHook = (ref: ProxyReference) => unknown;

/** Encodes requests/replies and decodes them, with pickled proxies handed to a hook. */
export interface ManagerCodec {
  readonly serializer: Serializer;
  /** Pickle protocol used by `encode` (ignored by xmlrpclib). */
  protocol: number;
  encode(message: unknown): Uint8Array;
  /** Encode the request `(ident, method, args, kwds)` (fast path for plain data at protocol 4/5). */
  encodeRequest(ident: string | null, method: string, args: readonly unknown[], kwds: unknown): Uint8Array;
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
 * client raises it to the protocol of the server's first reply.
 */
export function managerCodec(serializer: Serializer, pickle: Omit<PickleCodecOptions, 'protocol'> = {}, protocol = 2): ManagerCodec {
  if (serializer === 'xmlrpclib') {
    const xml = xmlCodec();
    return {
      serializer,
      protocol: 0,
      encode: (m) => xml.encode(m),
      encodeRequest: (ident, method, args, kwds) => xml.encode(request(ident, method, args, kwds)),
      decode: (f) => xml.decode(f),
      protocolOf: () => undefined,
    };
  }
  if (serializer !== 'pickle') throw new TypeError(`unknown serializer ${String(serializer)}`);
  const userFind = pickle.findClass;
  // The fast request encoder only stands in for `dumps` when no encoder hooks are configured.
  const plainDumps = pickle.reduce === undefined && pickle.persistentId === undefined;
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
  const codec: ManagerCodec = {
    serializer,
    protocol,
    encode(message) {
      return dumps(message, { ...pickle, protocol: codec.protocol as 0 | 1 | 2 | 3 | 4 | 5 });
    },
    encodeRequest(ident, method, args, kwds) {
      const fast = plainDumps ? fastRequest(codec.protocol, ident, method, args, kwds) : undefined;
      return fast ?? codec.encode(request(ident, method, args, kwds));
    },
    decode(frame, onProxy) {
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

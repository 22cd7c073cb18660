/**
 * `xmlCodec()`: frames values the way `multiprocessing.connection.XmlListener`/`XmlClient` do,
 * one `xmlrpc.client.dumps((obj,), None, None, None, 1)` chunk (UTF-8) per frame.
 * @module
 */
import type { Codec } from '../codec.js';
import { ExpatError, ResponseError } from './errors.js';
import { dumps } from './marshal.js';
import { loads, type LoadsOptions } from './unmarshal.js';

/**
 * Options of {@link xmlCodec}: the {@link LoadsOptions} applied to every received frame, and how
 * values are written.
 * @example
 * ```ts
 * const codec = xmlCodec({ maxSize: 1 << 20, maxDepth: 64, wrapIntegralDoubles: true });
 * ```
 */
export interface XmlCodecOptions extends LoadsOptions {
  /** Send `undefined` as None (`<nil/>`), as the pickle codec does, instead of throwing a MarshalError. Default `false`. */
  undefinedAsNone?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A {@link Codec} speaking the XML flavour of `multiprocessing.connection`: `encode(v)` gives
 * exactly the bytes of Python's `xmlrpc.client.dumps((v,), None, None, None, 1).encode('utf-8')`
 * (`null` allowed), and `decode(frame)` returns the single param, like Python's
 * `xmlrpc.client.loads(frame.decode('utf-8'))[0][0]`. A fault frame throws `Fault`.
 * Python peers: `XmlListener`/`XmlClient` exist in 2.7 and every 3.x through 3.15.
 * @example
 * ```ts
 * const conn = await connect(['127.0.0.1', port], { authkey: 'secret', codec: xmlCodec() });
 * await conn.send({ a: [1, 2.5, 'x'] }); const reply = await conn.recv();
 * ```
 */
export function xmlCodec(options: XmlCodecOptions = {}): Codec {
  return {
    name: 'xmlrpc',
    encode(value: unknown): Uint8Array {
      return Buffer.from(dumps([value], { allowNone: true, undefinedAsNone: options.undefinedAsNone === true }), 'utf8');
    },
    decode(frame: Uint8Array): unknown {
      let text: string;
      try {
        text = utf8.decode(frame);
      } catch (e) {
        throw new ExpatError('frame is not valid UTF-8', -1, -1, { cause: e });
      }
      const [params] = loads(text, options);
      if (params.length !== 1) throw new ResponseError(`expected exactly one param in an XML frame, got ${params.length}`, 'arity');
      return params[0];
    },
  };
}

/**
 * `mpwire/xmlrpc`: CPython's `xmlrpc.client` `dumps`/`loads` and the XML flavour of
 * `multiprocessing.connection` (`xmlCodec`).
 * @module
 */
export { dumps, escape, MAXINT, MININT, type DumpsOptions } from './marshal.js';
export { loads, DEFAULT_MAX_DEPTH, DEFAULT_MAX_INT_DIGITS, DEFAULT_MAX_SIZE, type LoadsOptions } from './unmarshal.js';
export { xmlCodec, type XmlCodecOptions } from './codec.js';
export { DateTime, Decimal, Double } from './types.js';
export {
  ExpatError,
  Fault,
  MarshalError,
  OverflowError,
  ResponseError,
  XmlForbiddenError,
  XmlLimitError,
  XmlRpcError,
  isFault,
  isXmlRpcError,
} from './errors.js';

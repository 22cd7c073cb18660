/**
 * mpwire: CPython's `multiprocessing` wire protocol for Node.js.
 * @module
 */
export type { AuthDialect, ClientDialect, DigestName } from './auth/handshake.js';
export { type Codec, bytesCodec, jsonCodec } from './codec.js';
export * from './errors.js';
export * from './wire/index.js';

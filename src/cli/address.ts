/**
 * ADDRESS arguments of the CLI: `host:port`, `:port` (127.0.0.1), `[::1]:port`, a socket path
 * (`/tmp/s`, `./s`, `unix:s`) or `@name` for the Linux abstract namespace.
 * @module
 */
import type { Address } from '../wire/index.js';
import { UsageError } from './errors.js';

/** Parse an ADDRESS argument into Python's address shape. */
export function parseAddress(text: string): Address {
  if (text.startsWith('unix:')) {
    // An empty path would reach Node as no path at all, which means TCP on localhost.
    if (text.length === 5) throw new UsageError(`empty socket path in address '${text}'`);
    return text.slice(5);
  }
  if (text.startsWith('@')) return `\0${text.slice(1)}`;
  if (text.startsWith('/') || text.startsWith('./') || text.startsWith('../')) return text;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) return [v6[1] as string, port(v6[2] as string, text)];
  const m = /^([^:]*):(\d+)$/.exec(text);
  if (m) return [m[1] || '127.0.0.1', port(m[2] as string, text)];
  if (/^\d+$/.test(text)) return ['127.0.0.1', port(text, text)];
  throw new UsageError(`cannot parse address '${text}' (use HOST:PORT, [V6]:PORT, /path/to/socket or @abstract)`);
}

function port(s: string, text: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`bad port in address '${text}'`);
  return n;
}

/** Render an address the way the CLI accepts it (the wire layer's `addressText`, which listen errors use too). */
export { addressText as formatAddress } from '../wire/addresses.js';

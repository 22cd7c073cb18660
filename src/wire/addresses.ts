/**
 * Addresses in Python's shapes and their families (PROTOCOL.md §2).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotSupportedError } from '../errors.js';

/**
 * `[host, port]` for TCP; IPv6 listeners report `[host, port, flowinfo, scopeid]` like Python.
 * @example
 * ```ts
 * const address: TcpAddress = ['127.0.0.1', 6000];
 * const listener = await listen(address);
 * ```
 */
export type TcpAddress = readonly [host: string, port: number] | readonly [host: string, port: number, flowinfo: number, scopeid: number];

/**
 * An address as Python writes it: a `[host, port]` tuple (AF_INET / AF_INET6), a filesystem path
 * (AF_UNIX), a string starting with `'\0'` (Linux abstract namespace) or `\\.\pipe\name` (AF_PIPE).
 * @example
 * ```ts
 * await listen(['127.0.0.1', 0]);          // AF_INET, a free port
 * await listen('/tmp/mpwire.sock');         // AF_UNIX
 * await listen('\0mpwire-abstract');       // Linux abstract namespace (Node ≥ 22)
 * ```
 */
export type Address = TcpAddress | string;

/**
 * Address family names as in Python.
 * @example
 * ```ts
 * // Python: Listener(('::1', 0), family='AF_INET6')
 * const conn = await connect(['::1', 6000], { family: 'AF_INET6' });
 * ```
 */
export type Family = 'AF_INET' | 'AF_INET6' | 'AF_UNIX' | 'AF_PIPE';

/** Node.js major version, for feature checks. */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * The family of an address, as Python's `address_type()` decides it; an IPv6 literal host
 * selects AF_INET6.
 * @example
 * ```ts
 * addressType(['127.0.0.1', 0]); // 'AF_INET'
 * addressType('/tmp/sock');      // 'AF_UNIX'
 * ```
 */
export function addressType(address: Address): Family {
  if (Array.isArray(address)) return (address[0] as string).includes(':') ? 'AF_INET6' : 'AF_INET';
  if (typeof address === 'string') return address.startsWith('\\\\') ? 'AF_PIPE' : 'AF_UNIX';
  throw new TypeError(`address type of ${String(address)} unrecognized`);
}

/** True for a Linux abstract-namespace address (`'\0name'`). */
export function isAbstract(address: Address): address is string {
  return typeof address === 'string' && address.startsWith('\0');
}

/**
 * Refuse an empty socket path, and what this platform cannot do: abstract sockets before Node 22 (Node 20's libuv pads the
 * name to the full `sun_path`, nodejs/node#50889, so it cannot meet Python's sockets) and Windows
 * named pipes (message-mode pipes, PROTOCOL.md §1.6).
 */
export function checkSupported(address: Address, family: Family): void {
  // Node reads `{ path: '' }` as no path at all and would listen on / connect to a TCP port.
  if (address === '') throw new TypeError('empty socket path');
  if (family === 'AF_PIPE') {
    throw new NotSupportedError(
      `AF_PIPE address ${String(address)}: Windows named pipes carry one message per write without a length header, which Node.js cannot read; use TCP or a Unix socket`,
    );
  }
  if (isAbstract(address) && NODE_MAJOR < 22) {
    throw new NotSupportedError(
      `abstract socket address ${JSON.stringify(address)} needs Node.js >= 22 (this is ${process.versions.node}, whose libuv pads abstract names; nodejs/node#50889)`,
    );
  }
  if (isAbstract(address) && process.platform !== 'linux') {
    throw new NotSupportedError('abstract socket addresses exist on Linux only');
  }
}

/**
 * A fresh address of the family, like Python's `arbitrary_address`: a new socket path under the
 * temporary directory for AF_UNIX, `['127.0.0.1', 0]` / `['::1', 0]` for TCP.
 * @example
 * ```ts
 * const listener = await listen(arbitraryAddress('AF_UNIX'));
 * ```
 */
export function arbitraryAddress(family: Family): Address {
  switch (family) {
    case 'AF_INET':
      return ['127.0.0.1', 0];
    case 'AF_INET6':
      return ['::1', 0];
    case 'AF_UNIX':
      return join(mkdtempSync(join(tmpdir(), 'mpwire-')), `listener-${randomBytes(4).toString('hex')}`);
    case 'AF_PIPE':
      return `\\\\.\\pipe\\mpwire-${process.pid}-${randomBytes(4).toString('hex')}`;
  }
}

/** Render an address for messages. */
export function formatAddress(address: Address): string {
  if (typeof address === 'string') return JSON.stringify(address);
  return `(${address.map((p) => (typeof p === 'string' ? `'${p}'` : String(p))).join(', ')})`;
}

/**
 * Render an address the way people type it (and the CLI parses it): `host:port`, `[v6]:port`, a
 * socket path, or `@name` for a Linux abstract one.
 */
export function addressText(address: Address): string {
  if (typeof address === 'string') return address.startsWith('\0') ? `@${address.slice(1)}` : address;
  const host = address[0];
  return host.includes(':') ? `[${host}]:${address[1]}` : `${host}:${address[1]}`;
}

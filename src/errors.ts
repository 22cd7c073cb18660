/**
 * Error classes of mpwire. Every error extends {@link MpwireError} and carries a stable
 * `code` string; Python's names are kept where Python has the same error.
 * @module
 */

/**
 * Options accepted by every mpwire error constructor.
 * @example
 * ```ts
 * throw new ProtocolError('frame too long', 'bad-length', { cause: err });
 * ```
 */
export interface MpwireErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error mpwire throws.
 * @example
 * ```ts
 * try { await conn.recv(); } catch (e) { if (e instanceof MpwireError) console.log(e.code); }
 * ```
 */
export class MpwireError extends Error {
  /** Stable machine-readable code, e.g. `'MPWIRE_EOF'`. */
  readonly code: string;
  constructor(message: string, code = 'MPWIRE_ERROR', options?: MpwireErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
  /** The error's class name, e.g. `'AuthenticationError'`. */
  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * The HMAC handshake failed: wrong key, a rejected digest, or a malformed challenge.
 * Mirrors Python's `multiprocessing.AuthenticationError`.
 * @example
 * ```ts
 * await connect(addr, { authkey: 'wrong' }).catch((e) => e instanceof AuthenticationError);
 * ```
 */
export class AuthenticationError extends MpwireError {
  constructor(message: string, options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_AUTH', options);
  }
}

/**
 * The frame did not fit the buffer given to `recvBytesInto`. `message` holds the whole frame,
 * which has been consumed; the connection stays usable (as in Python, where `args[0]` is the data).
 * @example
 * ```ts
 * try { await conn.recvBytesInto(small); } catch (e) { if (e instanceof BufferTooShort) use(e.data); }
 * ```
 */
export class BufferTooShort extends MpwireError {
  /** The complete message that did not fit. */
  readonly data: Buffer;
  constructor(data: Buffer) {
    super(`buffer too short for a ${data.length}-byte message`, 'MPWIRE_BUFFER_TOO_SHORT');
    this.data = data;
  }
}

/**
 * The peer closed the connection cleanly at a frame boundary (Python's `EOFError`).
 * @example
 * ```ts
 * try { await conn.recv(); } catch (e) { if (e instanceof EOFError) done(); }
 * ```
 */
export class EOFError extends MpwireError {
  constructor(message = 'connection closed by peer', options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_EOF', options);
  }
}

/**
 * The byte stream broke the protocol: a bad length, end of file inside a frame, a malformed
 * handshake message, or a socket error.
 * @example
 * ```ts
 * conn.recvBytes(1024).catch((e) => { if (e instanceof ProtocolError) console.log(e.reason); });
 * ```
 */
export class ProtocolError extends MpwireError {
  /** Short machine-readable reason: `'bad-length'`, `'truncated'`, `'negative-length'`, `'socket'`, `'handshake'`. */
  readonly reason: string;
  constructor(message: string, reason: string, options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_PROTOCOL', options);
    this.reason = reason;
  }
}

/**
 * An operation on a closed connection or listener, or on one whose direction does not allow it
 * (Python's `OSError('handle is closed')`, `'connection is write-only'`, …).
 * @example
 * ```ts
 * conn.close(); await conn.send(1).catch((e) => e instanceof ConnectionClosedError);
 * ```
 */
export class ConnectionClosedError extends MpwireError {
  constructor(message = 'handle is closed', options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_CLOSED', options);
  }
}

/**
 * A wait ran out of time (the `timeout` option elapsed).
 * @example
 * ```ts
 * await conn.recv({ timeout: 100 }).catch((e) => e instanceof TimeoutError);
 * ```
 */
export class TimeoutError extends MpwireError {
  constructor(message = 'operation timed out', options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_TIMEOUT', options);
  }
}

/**
 * A wait was cancelled through its `AbortSignal`; `cause` holds `signal.reason`.
 * @example
 * ```ts
 * const ac = new AbortController(); const p = conn.recv({ signal: ac.signal }); ac.abort();
 * await p.catch((e) => e instanceof AbortError);
 * ```
 */
export class AbortError extends MpwireError {
  constructor(message = 'operation aborted', options?: MpwireErrorOptions) {
    super(message, 'ABORT_ERR', options);
  }
}

/**
 * A pickle could not be decoded. `offset` is the byte offset of the failing opcode;
 * `truncated` tells input that ended early from input that is invalid.
 * @example
 * ```ts
 * try { loads(bytes); } catch (e) { if (e instanceof UnpicklingError) console.log(e.offset); }
 * ```
 */
export class UnpicklingError extends MpwireError {
  /** Byte offset in the input where decoding failed, or -1 when unknown. */
  readonly offset: number;
  /** True when the input ended before the pickle was complete. */
  readonly truncated: boolean;
  constructor(message: string, offset = -1, truncated = false, options?: MpwireErrorOptions) {
    super(offset >= 0 ? `${message} (at byte ${offset})` : message, 'MPWIRE_UNPICKLING', options);
    this.offset = offset;
    this.truncated = truncated;
  }
}

/**
 * A value could not be pickled; `path` names where inside the value the problem is.
 * @example
 * ```ts
 * try { dumps({ f: () => 1 }); } catch (e) { if (e instanceof PicklingError) console.log(e.path); }
 * ```
 */
export class PicklingError extends MpwireError {
  /** Location of the offending value, e.g. `'$.f'` or `'$[2]'`. */
  readonly path: string;
  constructor(message: string, path = '$', options?: MpwireErrorOptions) {
    super(`${message} at ${path}`, 'MPWIRE_PICKLING', options);
    this.path = path;
  }
}

/**
 * An error raised on the Python side of a manager or bridge call.
 * @example
 * ```ts
 * await d.call('__getitem__', ['missing']).catch((e) => e instanceof RemoteError && e.type === 'KeyError');
 * ```
 */
export class RemoteError extends MpwireError {
  /** Python exception type name, e.g. `'KeyError'`, or `undefined` for a traceback-only error. */
  readonly type: string | undefined;
  /** Python module of the exception type, e.g. `'builtins'`. */
  readonly module: string | undefined;
  /** Exception arguments, decoded. */
  readonly args: readonly unknown[];
  /** Formatted Python traceback text, when the peer sent one. */
  readonly traceback: string | undefined;
  constructor(
    message: string,
    details: { type?: string; module?: string; args?: readonly unknown[]; traceback?: string } = {},
    options?: MpwireErrorOptions,
  ) {
    super(message, 'MPWIRE_REMOTE', options);
    this.type = details.type;
    this.module = details.module;
    this.args = details.args ?? [];
    this.traceback = details.traceback;
  }
}

/**
 * Narrowing guard for any mpwire error.
 * @example
 * ```ts
 * try { await conn.recv(); } catch (e) { if (isMpwireError(e)) console.log(e.code); else throw e; }
 * ```
 */
export function isMpwireError(e: unknown): e is MpwireError {
  return e instanceof MpwireError;
}

/**
 * A feature that this platform or Node.js version cannot provide (for example Linux abstract
 * socket addresses on Node < 22, or Windows named pipes).
 * @example
 * ```ts
 * await listen('\0name').catch((e) => e instanceof NotSupportedError);
 * ```
 */
export class NotSupportedError extends MpwireError {
  constructor(message: string, options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_NOT_SUPPORTED', options);
  }
}

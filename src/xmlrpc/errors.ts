/**
 * Error classes of `mpwire/xmlrpc`. Every one extends {@link XmlRpcError} (itself an
 * {@link MpwireError}) and carries a stable `code`; Python's names are kept where Python raises
 * the same error (`Fault`, `ResponseError`, `ExpatError`, `OverflowError`).
 * @module
 */
import { MpwireError, type MpwireErrorOptions } from '../errors.js';

/**
 * Base class of every error thrown by `mpwire/xmlrpc`.
 * @example
 * ```ts
 * try { loads(xml); } catch (e) { if (isXmlRpcError(e)) console.log(e.code, e.reason); }
 * ```
 */
export class XmlRpcError extends MpwireError {
  /** Short machine-readable reason, e.g. `'bad-int'`, `'doctype'`, `'depth'`. */
  readonly reason: string;
  constructor(message: string, code = 'MPWIRE_XMLRPC', reason = 'xmlrpc', options?: MpwireErrorOptions) {
    super(message, code, options);
    this.reason = reason;
  }
}

/**
 * `String(v)` that never throws. A decoded struct can hold a `toString` or `valueOf` member that
 * is not a function, so `String()` throws on it; a fault must still become a {@link Fault}.
 * Falls back to JSON, then to `Object.prototype.toString`, then to the `typeof` name.
 */
function describe(v: unknown): string {
  try {
    return String(v);
  } catch {
    // not convertible: try the next form
  }
  try {
    const json = JSON.stringify(v);
    if (typeof json === 'string') return json;
  } catch {
    // cyclic, or holds a bigint: try the next form
  }
  try {
    return Object.prototype.toString.call(v);
  } catch {
    return typeof v;
  }
}

/**
 * An XML-RPC fault response (`<methodResponse><fault>…`), as Python's `xmlrpc.client.Fault`.
 * `loads` throws it when the document is a fault; `dumps` writes one when given one.
 * @example
 * ```ts
 * try { loads(xml); } catch (e) { if (e instanceof Fault) console.log(e.faultCode, e.faultString); }
 * const reply = dumps(new Fault(4, 'Too many parameters.'));
 * ```
 */
export class Fault extends XmlRpcError {
  /** The fault code sent by the peer (an int in well-behaved peers, but any value is kept). */
  readonly faultCode: unknown;
  /** The fault string sent by the peer. */
  readonly faultString: unknown;
  constructor(faultCode: unknown, faultString: unknown, options?: MpwireErrorOptions) {
    super(`<Fault ${describe(faultCode)}: ${JSON.stringify(describe(faultString))}>`, 'MPWIRE_XMLRPC_FAULT', 'fault', options);
    this.faultCode = faultCode;
    this.faultString = faultString;
  }
}

/**
 * The document is well-formed XML but not a valid XML-RPC message: an unknown tag inside
 * `<value>`, unbalanced arrays/structs, no `<params>`, an unparsable int/double/boolean/base64, …
 * Mirrors Python's `xmlrpc.client.ResponseError` (and the `ValueError`/`TypeError` Python's
 * unmarshaller lets escape for bad scalar text).
 * @example
 * ```ts
 * loads('<params><param><value><foo/></value></param></params>'); // throws ResponseError (reason 'unknown-tag')
 * ```
 */
export class ResponseError extends XmlRpcError {
  constructor(message: string, reason = 'response', options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_XMLRPC_RESPONSE', reason, options);
  }
}

/**
 * The input is not well-formed XML (or not decodable text), as Python's
 * `xml.parsers.expat.ExpatError`. `line`/`column` locate the problem when known (1-based; -1 if unknown).
 * @example
 * ```ts
 * try { loads('<params>'); } catch (e) { if (e instanceof ExpatError) console.log(e.line, e.column); }
 * ```
 */
export class ExpatError extends XmlRpcError {
  /** 1-based line of the error, or -1. */
  readonly line: number;
  /** 1-based column of the error, or -1. */
  readonly column: number;
  constructor(message: string, line = -1, column = -1, options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_XML_SYNTAX', 'syntax', options);
    this.line = line;
    this.column = column;
  }
}

/**
 * The input uses an XML feature refused for safety: a DOCTYPE (and with it entity declarations,
 * entity expansion bombs and external entities) or an undefined entity reference.
 * `reason` is `'doctype'` or `'entity'`.
 * @example
 * ```ts
 * loads('<!DOCTYPE x [<!ENTITY a "b">]><params/>'); // throws XmlForbiddenError (reason 'doctype')
 * ```
 */
export class XmlForbiddenError extends XmlRpcError {
  constructor(message: string, reason: 'doctype' | 'entity', options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_XML_FORBIDDEN', reason, options);
  }
}

/**
 * The input exceeds a configured limit: `reason` is `'size'` (`maxSize`), `'depth'` (`maxDepth`),
 * `'digits'` (`maxIntDigits`).
 * @example
 * ```ts
 * loads(deepXml, { maxDepth: 64 }); // throws XmlLimitError (reason 'depth')
 * ```
 */
export class XmlLimitError extends XmlRpcError {
  /** The limit that was exceeded. */
  readonly limit: number;
  constructor(message: string, reason: 'size' | 'depth' | 'digits', limit: number, options?: MpwireErrorOptions) {
    super(message, 'MPWIRE_XML_LIMIT', reason, options);
    this.limit = limit;
  }
}

/**
 * A value cannot be marshalled (Python's `TypeError: cannot marshal …`): `undefined`, a function,
 * a symbol, a `Set`, a recursive array/object, a struct key that is not a string, `null` without
 * `allowNone`, a string with a lone surrogate, a `Date` outside years 1–9999, arrays and structs
 * nested more than 681 deep (`reason` `'depth'`), …
 * `path` says where inside the value (e.g. `'$[0].a'`).
 * @example
 * ```ts
 * dumps([new Set()]); // throws MarshalError
 * ```
 */
export class MarshalError extends XmlRpcError {
  /** Location of the offending value, e.g. `'$[0].key'`. */
  readonly path: string;
  constructor(message: string, path = '$', reason = 'marshal', options?: MpwireErrorOptions, code = 'MPWIRE_XMLRPC_MARSHAL') {
    super(`${message} at ${path}`, code, reason, options);
    this.path = path;
  }
}

/**
 * An integer outside XML-RPC's 32-bit `<int>` range was marshalled (Python's
 * `OverflowError: int exceeds XML-RPC limits`).
 * @example
 * ```ts
 * dumps([2 ** 31]); // throws OverflowError
 * ```
 */
export class OverflowError extends MarshalError {
  constructor(path = '$', options?: MpwireErrorOptions) {
    super('int exceeds XML-RPC limits', path, 'overflow', options, 'MPWIRE_XMLRPC_OVERFLOW');
  }
}

/**
 * Narrowing guard for any `mpwire/xmlrpc` error.
 * @example
 * ```ts
 * try { loads(xml); } catch (e) { if (isXmlRpcError(e)) console.log(e.code); else throw e; }
 * ```
 */
export function isXmlRpcError(e: unknown): e is XmlRpcError {
  return e instanceof XmlRpcError;
}

/**
 * Narrowing guard for {@link Fault}.
 * @example
 * ```ts
 * try { loads(xml); } catch (e) { if (isFault(e)) console.log(e.faultCode, e.faultString); }
 * ```
 */
export function isFault(e: unknown): e is Fault {
  return e instanceof Fault;
}

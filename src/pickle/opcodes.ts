/**
 * The pickle opcode table (names as in CPython's pickletools). It drives the decoder's dispatch,
 * the encoder's opcode bytes and `dis()`.
 * @module
 */

/**
 * How an opcode's inline argument is laid out in the byte stream.
 * @example
 * ```ts
 * const kinds = new Set<ArgKind>(OPCODES.map((o) => o.arg));
 * ```
 */
export type ArgKind =
  | 'none'
  | 'uint1'
  | 'uint2'
  | 'int4'
  | 'uint4'
  | 'uint8'
  | 'long1'
  | 'long4'
  | 'float8'
  | 'decimalnl_short' // INT
  | 'decimalnl_long' // LONG
  | 'floatnl'
  | 'stringnl' // STRING: a Python repr
  | 'stringnl_noescape' // GET/PUT/PERSID
  | 'stringnl_noescape_pair' // GLOBAL/INST: two lines
  | 'unicodestringnl' // UNICODE: raw-unicode-escape
  | 'string1'
  | 'string4'
  | 'bytes1'
  | 'bytes4'
  | 'bytes8'
  | 'unicodestring1'
  | 'unicodestring4'
  | 'unicodestring8'
  | 'bytearray8';

/**
 * One row of the opcode table.
 * @example
 * ```ts
 * const info: OpcodeInfo | undefined = OPCODE_BY_CODE[0x80];
 * console.log(info?.name, info?.proto); // 'PROTO' 2
 * ```
 */
export interface OpcodeInfo {
  /** pickle.py's name of the opcode, e.g. `'PROTO'`. */
  readonly name: string;
  /** The opcode byte, e.g. `0x80`. */
  readonly code: number;
  /** How the opcode's argument is encoded in the stream (`'none'` when it has none). */
  readonly arg: ArgKind;
  /** Protocol that introduced the opcode. */
  readonly proto: number;
}

const TABLE: ReadonlyArray<readonly [string, string, ArgKind, number]> = [
  ['MARK', '(', 'none', 0],
  ['STOP', '.', 'none', 0],
  ['POP', '0', 'none', 0],
  ['POP_MARK', '1', 'none', 1],
  ['DUP', '2', 'none', 0],
  ['FLOAT', 'F', 'floatnl', 0],
  ['INT', 'I', 'decimalnl_short', 0],
  ['BININT', 'J', 'int4', 1],
  ['BININT1', 'K', 'uint1', 1],
  ['LONG', 'L', 'decimalnl_long', 0],
  ['BININT2', 'M', 'uint2', 1],
  ['NONE', 'N', 'none', 0],
  ['PERSID', 'P', 'stringnl_noescape', 0],
  ['BINPERSID', 'Q', 'none', 1],
  ['REDUCE', 'R', 'none', 0],
  ['STRING', 'S', 'stringnl', 0],
  ['BINSTRING', 'T', 'string4', 1],
  ['SHORT_BINSTRING', 'U', 'string1', 1],
  ['UNICODE', 'V', 'unicodestringnl', 0],
  ['BINUNICODE', 'X', 'unicodestring4', 1],
  ['APPEND', 'a', 'none', 0],
  ['BUILD', 'b', 'none', 0],
  ['GLOBAL', 'c', 'stringnl_noescape_pair', 0],
  ['DICT', 'd', 'none', 0],
  ['EMPTY_DICT', '}', 'none', 1],
  ['APPENDS', 'e', 'none', 1],
  ['GET', 'g', 'decimalnl_short', 0],
  ['BINGET', 'h', 'uint1', 1],
  ['INST', 'i', 'stringnl_noescape_pair', 0],
  ['LONG_BINGET', 'j', 'uint4', 1],
  ['LIST', 'l', 'none', 0],
  ['EMPTY_LIST', ']', 'none', 1],
  ['OBJ', 'o', 'none', 1],
  ['PUT', 'p', 'decimalnl_short', 0],
  ['BINPUT', 'q', 'uint1', 1],
  ['LONG_BINPUT', 'r', 'uint4', 1],
  ['SETITEM', 's', 'none', 0],
  ['TUPLE', 't', 'none', 0],
  ['EMPTY_TUPLE', ')', 'none', 1],
  ['SETITEMS', 'u', 'none', 1],
  ['BINFLOAT', 'G', 'float8', 1],
  ['PROTO', '\x80', 'uint1', 2],
  ['NEWOBJ', '\x81', 'none', 2],
  ['EXT1', '\x82', 'uint1', 2],
  ['EXT2', '\x83', 'uint2', 2],
  ['EXT4', '\x84', 'int4', 2],
  ['TUPLE1', '\x85', 'none', 2],
  ['TUPLE2', '\x86', 'none', 2],
  ['TUPLE3', '\x87', 'none', 2],
  ['NEWTRUE', '\x88', 'none', 2],
  ['NEWFALSE', '\x89', 'none', 2],
  ['LONG1', '\x8a', 'long1', 2],
  ['LONG4', '\x8b', 'long4', 2],
  ['BINBYTES', 'B', 'bytes4', 3],
  ['SHORT_BINBYTES', 'C', 'bytes1', 3],
  ['SHORT_BINUNICODE', '\x8c', 'unicodestring1', 4],
  ['BINUNICODE8', '\x8d', 'unicodestring8', 4],
  ['BINBYTES8', '\x8e', 'bytes8', 4],
  ['EMPTY_SET', '\x8f', 'none', 4],
  ['ADDITEMS', '\x90', 'none', 4],
  ['FROZENSET', '\x91', 'none', 4],
  ['NEWOBJ_EX', '\x92', 'none', 4],
  ['STACK_GLOBAL', '\x93', 'none', 4],
  ['MEMOIZE', '\x94', 'none', 4],
  ['FRAME', '\x95', 'uint8', 4],
  ['BYTEARRAY8', '\x96', 'bytearray8', 5],
  ['NEXT_BUFFER', '\x97', 'none', 5],
  ['READONLY_BUFFER', '\x98', 'none', 5],
];

/**
 * Every opcode, in pickletools order.
 * @example
 * ```ts
 * const sinceProtocol5 = OPCODES.filter((o) => o.proto === 5).map((o) => o.name);
 * // ['BYTEARRAY8', 'NEXT_BUFFER', 'READONLY_BUFFER']
 * ```
 */
export const OPCODES: readonly OpcodeInfo[] = TABLE.map(([name, ch, arg, proto]) =>
  Object.freeze({ name, code: ch.charCodeAt(0), arg, proto }),
);

/**
 * Opcode info indexed by byte value (undefined for bytes that are not opcodes).
 * @example
 * ```ts
 * const first = OPCODE_BY_CODE[data[0] ?? 0]?.name; // 'PROTO' for a protocol 2+ pickle
 * ```
 */
export const OPCODE_BY_CODE: ReadonlyArray<OpcodeInfo | undefined> = (() => {
  const a: Array<OpcodeInfo | undefined> = new Array<OpcodeInfo | undefined>(256).fill(undefined);
  for (const op of OPCODES) a[op.code] = op;
  return a;
})();

function code(name: string): number {
  const op = OPCODES.find((o) => o.name === name);
  if (!op) throw new Error(`unknown opcode ${name}`);
  return op.code;
}

/**
 * Opcode byte values by pickletools name (a plain frozen object, not a TS enum).
 * @example
 * ```ts
 * const isFramed = data[0] === OP.PROTO && data[2] === OP.FRAME;
 * ```
 */
export const OP = Object.freeze({
  MARK: code('MARK'),
  STOP: code('STOP'),
  POP: code('POP'),
  POP_MARK: code('POP_MARK'),
  DUP: code('DUP'),
  FLOAT: code('FLOAT'),
  INT: code('INT'),
  BININT: code('BININT'),
  BININT1: code('BININT1'),
  LONG: code('LONG'),
  BININT2: code('BININT2'),
  NONE: code('NONE'),
  PERSID: code('PERSID'),
  BINPERSID: code('BINPERSID'),
  REDUCE: code('REDUCE'),
  STRING: code('STRING'),
  BINSTRING: code('BINSTRING'),
  SHORT_BINSTRING: code('SHORT_BINSTRING'),
  UNICODE: code('UNICODE'),
  BINUNICODE: code('BINUNICODE'),
  APPEND: code('APPEND'),
  BUILD: code('BUILD'),
  GLOBAL: code('GLOBAL'),
  DICT: code('DICT'),
  EMPTY_DICT: code('EMPTY_DICT'),
  APPENDS: code('APPENDS'),
  GET: code('GET'),
  BINGET: code('BINGET'),
  INST: code('INST'),
  LONG_BINGET: code('LONG_BINGET'),
  LIST: code('LIST'),
  EMPTY_LIST: code('EMPTY_LIST'),
  OBJ: code('OBJ'),
  PUT: code('PUT'),
  BINPUT: code('BINPUT'),
  LONG_BINPUT: code('LONG_BINPUT'),
  SETITEM: code('SETITEM'),
  TUPLE: code('TUPLE'),
  EMPTY_TUPLE: code('EMPTY_TUPLE'),
  SETITEMS: code('SETITEMS'),
  BINFLOAT: code('BINFLOAT'),
  PROTO: code('PROTO'),
  NEWOBJ: code('NEWOBJ'),
  EXT1: code('EXT1'),
  EXT2: code('EXT2'),
  EXT4: code('EXT4'),
  TUPLE1: code('TUPLE1'),
  TUPLE2: code('TUPLE2'),
  TUPLE3: code('TUPLE3'),
  NEWTRUE: code('NEWTRUE'),
  NEWFALSE: code('NEWFALSE'),
  LONG1: code('LONG1'),
  LONG4: code('LONG4'),
  BINBYTES: code('BINBYTES'),
  SHORT_BINBYTES: code('SHORT_BINBYTES'),
  SHORT_BINUNICODE: code('SHORT_BINUNICODE'),
  BINUNICODE8: code('BINUNICODE8'),
  BINBYTES8: code('BINBYTES8'),
  EMPTY_SET: code('EMPTY_SET'),
  ADDITEMS: code('ADDITEMS'),
  FROZENSET: code('FROZENSET'),
  NEWOBJ_EX: code('NEWOBJ_EX'),
  STACK_GLOBAL: code('STACK_GLOBAL'),
  MEMOIZE: code('MEMOIZE'),
  FRAME: code('FRAME'),
  BYTEARRAY8: code('BYTEARRAY8'),
  NEXT_BUFFER: code('NEXT_BUFFER'),
  READONLY_BUFFER: code('READONLY_BUFFER'),
});

/**
 * Highest protocol this codec reads and writes.
 * @example
 * ```ts
 * dumps(value, { protocol: HIGHEST_PROTOCOL }); // protocol 5: Python 3.8+ peers only
 * ```
 */
export const HIGHEST_PROTOCOL = 5;
/**
 * Protocol used by `dumps` when none is given (CPython 3.8–3.13's default).
 * @example
 * ```ts
 * dumps(value).at(1) === DEFAULT_PROTOCOL; // true: PROTO 4
 * ```
 */
export const DEFAULT_PROTOCOL = 4;

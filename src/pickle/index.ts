/**
 * `mpwire/pickle`: a safe, fast pickle codec speaking every protocol (0–5) of CPython 2.7–3.15.
 * @module
 */
export { loads, type LoadsOptions, type LoadsLimits, type PyClassHook } from './loads.js';
export { dumps, pyFloatRepr, type DumpsOptions } from './dumps.js';
export { dis } from './dis.js';
export {
  pyEnum,
  pyNamedTuple,
  pyClasses,
  PyEnumClass,
  PyEnumMember,
  PyNamedTuple,
  PyNamedTupleClass,
  type PyClassDeclaration,
} from './classes.js';
export { pickleCodec, detectProtocol, type PickleCodec, type PickleCodecOptions } from './codec.js';
export { OPCODES, OP, OPCODE_BY_CODE, HIGHEST_PROTOCOL, DEFAULT_PROTOCOL, type OpcodeInfo, type ArgKind } from './opcodes.js';
export type { ConstructKind } from './known.js';
export {
  NDArray,
  NDScalar,
  DType,
  npScalar,
  typedArrayDtype,
  type DTypeField,
  type NDData,
  type NDOrder,
  type NDTypedArray,
  type NDTypedArrayConstructor,
} from './numpy.js';
export {
  Tuple,
  tuple,
  PyFloat,
  ByteArray,
  FrozenSet,
  PyGlobal,
  PyObject,
  PyPersistentId,
  PyDatetime,
  PyDate,
  PyTime,
  PyTimedelta,
  PyTimezone,
  PyDecimal,
  PyFraction,
  PyComplex,
  PyRange,
  PySlice,
  PyUUID,
  OrderedDict,
  DefaultDict,
  Counter,
  Deque,
  PyException,
  BUILTIN_EXCEPTIONS,
  pyReduce,
  pySetState,
  isReducible,
  type Reduction,
  type Reducible,
  type ObjectVia,
} from './model.js';
export { UnpicklingError, PicklingError } from '../errors.js';

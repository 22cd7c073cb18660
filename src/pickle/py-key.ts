/**
 * Python's hash equality over the codec's value model, as strings: values Python treats as one dict
 * key (`1`, `1.0`, `True`) get the same key. The manager server keys its dicts and sets with it, and
 * declared enums find a member by its value with it.
 * @module
 */
import { ByteArray, FrozenSet, PyException, PyFloat, PyGlobal, Tuple } from './model.js';

/**
 * Keys an object {@link pyKeyWith} has no rule of its own for: lists, dicts, sets and bytearrays
 * (which Python cannot hash), plain objects and class models.
 */
export type ObjectKey = (o: object) => string;

/**
 * Like {@link pyKey}, with `objectKey` deciding the key of the objects it has no rule for, also
 * where they sit inside a tuple or frozenset.
 * @example
 * ```ts
 * pyKeyWith(tuple(1, [2]), (o) => JSON.stringify(o)); // a key, where pyKey throws for the list
 * ```
 */
export function pyKeyWith(v: unknown, objectKey: ObjectKey): string {
  if (v === null || v === undefined) return 'N';
  switch (typeof v) {
    case 'boolean':
      return v ? 'i1' : 'i0';
    case 'number':
      return numberKey(v);
    case 'bigint':
      return `i${v}`;
    case 'string':
      return JSON.stringify(v);
    default:
      break;
  }
  if (v instanceof PyFloat) return numberKey(v.value);
  if (v instanceof Uint8Array && !(v instanceof ByteArray)) return `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (v instanceof Tuple) return `t[${v.map((x) => pyKeyWith(x, objectKey)).join(',')}]`;
  if (v instanceof FrozenSet) return `z[${[...v].map((x) => pyKeyWith(x, objectKey)).sort().join(',')}]`;
  if (v instanceof PyGlobal) return `g${v.module}.${v.name}`;
  if (typeof v === 'object' || typeof v === 'function') return objectKey(v as object);
  return `?${String(v)}`;
}

/**
 * An integral float equals the int of the same value in Python (`2.0**60 == 2**60`), so integral
 * numbers are keyed by their exact integer digits, as bigints are; `-0` is `0`.
 */
function numberKey(n: number): string {
  if (!Number.isInteger(n)) return `f${n}`;
  return `i${Number.isSafeInteger(n) ? n : BigInt(n)}`;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/** Python's name of a type it cannot hash, or undefined. */
function unhashableType(o: object): string | undefined {
  if (o instanceof ByteArray) return 'bytearray';
  if (Array.isArray(o)) return o instanceof Tuple ? undefined : 'list';
  if (o instanceof Map) return 'dict';
  if (o instanceof Set) return o instanceof FrozenSet ? undefined : 'set';
  return undefined;
}

/** pyKey's rule for other objects: unhashable builtins raise, the rest are keyed by identity. */
function identityKey(o: object): string {
  const type = unhashableType(o);
  if (type !== undefined) throw new PyException('builtins', 'TypeError', [`unhashable type: '${type}'`]);
  let k = identities.get(o);
  if (k === undefined) identities.set(o, (k = nextIdentity++));
  return `o${k}`;
}

/**
 * A string equal for keys Python considers equal (`1`, `1.0`, `True`); throws Python's
 * `TypeError: unhashable type` for lists, dicts, sets and bytearrays.
 * @example
 * ```ts
 * pyKey(1) === pyKey(true); // true, as in Python {1: 'a', True: 'b'} has one key
 * ```
 */
export function pyKey(v: unknown): string {
  return pyKeyWith(v, identityKey);
}

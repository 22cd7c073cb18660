/**
 * Python's hash equality over the codec's value model, as strings: values Python treats as one dict
 * key (`1`, `1.0`, `True`) get the same key. The manager server keys its dicts and sets with it, and
 * declared enums find a member by its value with it.
 * @module
 */
import { createHash } from 'node:crypto';
import { ByteArray, FrozenSet, PyException, PyFloat, PyGlobal, Tuple } from './model.js';

/**
 * Keys an object {@link pyKeyWith} has no rule of its own for: lists, dicts, sets and bytearrays
 * (which Python cannot hash), plain objects and class models. `key` keys a nested value within the
 * same computation (sharing its memo), for rules that recurse.
 */
export type ObjectKey = (o: object, key: (v: unknown) => string) => string;

/**
 * Parts of a key (a tuple's or frozenset's items) longer than this are replaced by their SHA-256:
 * a tuple that holds itself twice per level (a DAG, 2 pickle bytes a level) would otherwise have a
 * key that doubles in length per level. Keys of ordinary values are unchanged.
 */
const LONG_PART = 256;

/**
 * Like {@link pyKey}, with `objectKey` deciding the key of the objects it has no rule for, also
 * where they sit inside a tuple or frozenset. Each object is keyed once per call (memoized), so
 * shared references cost linear time.
 * @example
 * ```ts
 * pyKeyWith(tuple(1, [2]), (o) => JSON.stringify(o)); // a key, where pyKey throws for the list
 * ```
 */
export function pyKeyWith(v: unknown, objectKey: ObjectKey): string {
  const memo = new Map<unknown, string>();
  const part = (x: unknown): string => {
    let k = memo.get(x);
    if (k !== undefined) return k;
    k = key(x);
    if (k.length > LONG_PART) k = `h${createHash('sha256').update(k).digest('base64')}`;
    if (typeof x === 'object' || typeof x === 'string') memo.set(x, k);
    return k;
  };
  const key = (x: unknown): string => {
    if (x === null || x === undefined) return 'N';
    switch (typeof x) {
      case 'boolean':
        return x ? 'i1' : 'i0';
      case 'number':
        return numberKey(x);
      case 'bigint':
        return `i${x}`;
      case 'string':
        return JSON.stringify(x);
      default:
        break;
    }
    if (x instanceof PyFloat) return numberKey(x.value);
    if (x instanceof Uint8Array && !(x instanceof ByteArray)) return `b${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`;
    if (x instanceof Tuple) return `t[${x.map(part).join(',')}]`;
    if (x instanceof FrozenSet) return `z[${[...x].map(part).sort().join(',')}]`;
    if (x instanceof PyGlobal) return `g${x.module}.${x.name}`;
    if (typeof x === 'object' || typeof x === 'function') return objectKey(x as object, part);
    return `?${String(x)}`;
  };
  return key(v);
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

/**
 * Declared Python classes: enum members and namedtuples.
 *
 * A pickle does not say that a class is an `Enum` or a `namedtuple`: an enum member is written as
 * `Color(1)` (REDUCE of the class with the member's value) and a namedtuple as `P.__new__(P, 1, 2)`
 * (NEWOBJ with the field values), exactly like any other class called with arguments. So mpwire
 * recognises them when told: declare the classes with {@link pyEnum} and {@link pyNamedTuple}, pass
 * them to `loads` through {@link pyClasses}, and they decode to {@link PyEnumMember} and
 * {@link PyNamedTuple} models that `dumps` writes back as CPython does. Nothing is imported or run.
 * @module
 */
import type { PyClassHook } from './loads.js';
import { PyGlobal, PyObject, exceptionMessage, type Reducible, type Reduction, Tuple, pyReduce, pySetState } from './model.js';
import { pyKeyWith } from './py-key.js';

/**
 * The key a declared enum finds a member by its value with. Python compares enum values with `==`:
 * hashable values follow {@link pyKeyWith}'s rules, so `1`, `1.0` and `True` find the same member.
 * Enum values need not be hashable, and loads gives a tuple as a plain array unless `exact`, so a
 * list is keyed like a tuple. Other objects, which pyKey knows only by identity, are keyed by their
 * JSON text, so that a freshly decoded value still finds its member.
 */
function enumValueKey(v: unknown): string {
  return pyKeyWith(v, enumObjectKey);
}

function enumObjectKey(o: object, key: (v: unknown) => string): string {
  if (Array.isArray(o)) return `t[${Array.from(o, key).join(',')}]`;
  // A bytearray (the only Uint8Array that gets here) equals the bytes of the same content.
  if (o instanceof Uint8Array) return key(new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
  // JSON text expands shared references: bounded, so that a small pickle cannot make it huge.
  let values = MAX_JSON_VALUES;
  let chars = MAX_JSON_CHARS;
  const json = JSON.stringify(o, (_k, x: unknown) => {
    if (--values < 0) throw new RangeError('enum value too large to look up');
    const y = typeof x === 'bigint' ? String(x) : x;
    if (typeof y === 'string' && (chars -= y.length) < 0) throw new RangeError('enum value too large to look up');
    return y;
  });
  return `j${json}`;
}

/** Bounds of the JSON text {@link enumObjectKey} makes of an object value. */
const MAX_JSON_VALUES = 100_000;
const MAX_JSON_CHARS = 1 << 20;

/** BUILD on an enum member: Python's enum pickles never carry state, and members are shared. */
function refuseEnumState(): never {
  throw new TypeError('an enum member takes no state');
}

/**
 * A declared Python class, to give to {@link pyClasses}: what {@link pyEnum} and
 * {@link pyNamedTuple} return, or your own (module, name and a decoding hook).
 * @example
 * ```ts
 * const Money: PyClassDeclaration = { module: 'app', name: 'Money', hook: { create: ([cents]) => BigInt(cents as number) } };
 * loads(bytes, { findClass: pyClasses(Money) });
 * ```
 */
export interface PyClassDeclaration {
  /** Module of the class, e.g. `'app.models'`. */
  readonly module: string;
  /** Qualified name of the class, e.g. `'Color'`. */
  readonly name: string;
  /** The decoding hook of the class. */
  readonly hook: PyClassHook;
}

/**
 * A member of a declared Python `enum.Enum` class.
 * @example
 * ```ts
 * const Color = pyEnum('app', 'Color', { RED: 1, GREEN: 2 });
 * const red = loads(pickled, { findClass: pyClasses(Color) }) as PyEnumMember;
 * red.name;  // 'RED'
 * red.value; // 1
 * dumps(Color.member('GREEN')); // what pickle.dumps(Color.GREEN) writes
 * ```
 */
export class PyEnumMember implements Reducible {
  constructor(
    /** The declaring class. */
    readonly enumClass: PyEnumClass,
    /** Member name, e.g. `'RED'`. */
    readonly name: string,
    /** Member value, e.g. `1`. */
    readonly value: unknown,
  ) {}
  /** Python's `str()` of the member: `Color.RED`. */
  toString(): string {
    return `${this.enumClass.name}.${this.name}`;
  }
  /** JSON: the member's value. */
  toJSON(): unknown {
    return this.value;
  }
  /** How the pickler writes this value: the enum class called with the member's value, as CPython does. */
  [pyReduce](): Reduction {
    // CPython's Enum.__reduce_ex__: the class called with the value.
    return { module: this.enumClass.module, name: this.enumClass.name, args: [this.value] };
  }
  /** Refuses BUILD state (members are shared and frozen; CPython never pickles state for them). */
  [pySetState](): never {
    refuseEnumState();
  }
}

/**
 * A declared enum class: its members by name, each a unique {@link PyEnumMember}.
 * @example
 * ```ts
 * const Color = pyEnum('app', 'Color', { RED: 1, GREEN: 2 });
 * Color.member('RED').value; // 1
 * Color.members().map(String); // ['Color.RED', 'Color.GREEN']
 * ```
 */
export class PyEnumClass implements PyClassDeclaration {
  readonly #byName = new Map<string, PyEnumMember>();
  readonly #byValue = new Map<string, PyEnumMember>();
  readonly hook: PyClassHook;

  constructor(
    readonly module: string,
    readonly name: string,
    members: Readonly<Record<string, unknown>>,
  ) {
    for (const [n, v] of Object.entries(members)) {
      // Members are shared by every later decode: frozen, so that nothing (a hostile BUILD, a
      // careless caller) changes a member's value for the rest of the process.
      const member = Object.freeze(new PyEnumMember(this, n, v));
      this.#byName.set(n, member);
      // An alias (a second name for a value) resolves to the first member, as in Python.
      const key = enumValueKey(v);
      if (!this.#byValue.has(key)) this.#byValue.set(key, member);
    }
    this.hook = {
      create: (args) => {
        if (args.length !== 1) throw new Error(`${this.name}() takes one value, got ${args.length}`);
        const member = this.#byValue.get(enumValueKey(args[0]));
        if (!member) throw new Error(`${exceptionMessage(args)} is not a valid ${this.name} (declared: ${[...this.#byName.keys()].join(', ')})`);
        return member;
      },
      setState: refuseEnumState,
    };
  }

  /** The member called `name`. */
  member(name: string): PyEnumMember {
    const m = this.#byName.get(name);
    if (!m) throw new RangeError(`${this.name} has no member ${name}`);
    return m;
  }

  /** Every member, in declaration order (aliases included). */
  members(): PyEnumMember[] {
    return [...this.#byName.values()];
  }
}

/**
 * Declare a Python `enum.Enum` (or `IntEnum`, `Flag` member values that are declared) class.
 * @example
 * ```ts
 * const Color = pyEnum('app', 'Color', { RED: 1, GREEN: 2 });
 * ```
 */
export function pyEnum(module: string, name: string, members: Readonly<Record<string, unknown>>): PyEnumClass {
  return new PyEnumClass(module, name, members);
}

/**
 * An instance of a declared namedtuple class: a tuple (an array) with named, read-only fields.
 * @example
 * ```ts
 * const Point = pyNamedTuple('app', 'Point', ['x', 'y']);
 * const p = Point.of(1, 2);
 * p.get('x');    // 1
 * p.toObject();  // { x: 1, y: 2 }
 * ```
 */
export class PyNamedTuple<T = unknown> extends Tuple<T> implements Reducible {
  /** The declared class of this instance. */
  declare readonly namedTupleClass: PyNamedTupleClass;
  /** The value of field `field`. */
  get(field: string): T {
    const i = this.namedTupleClass.fields.indexOf(field);
    if (i < 0) throw new RangeError(`${this.namedTupleClass.name} has no field ${field}`);
    return this[i] as T;
  }
  /** The fields as a plain object (Python's `_asdict()`). */
  toObject(): Record<string, T> {
    const out: Record<string, T> = Object.create(null) as Record<string, T>;
    for (const [i, f] of this.namedTupleClass.fields.entries()) Object.defineProperty(out, f, { value: this[i], enumerable: true, writable: true });
    return out;
  }
  /** How the pickler writes this value: NEWOBJ of the class with the field values, as CPython does. */
  [pyReduce](): Reduction {
    // What CPython writes for a namedtuple: NEWOBJ of the class with the field values.
    return { module: this.namedTupleClass.module, name: this.namedTupleClass.name, args: [...this], via: 'newobj' };
  }
}

/**
 * A declared namedtuple class.
 * @example
 * ```ts
 * const Point = pyNamedTuple('app', 'Point', ['x', 'y']);
 * dumps(Point.of(1, 2)); // what pickle.dumps(Point(1, 2)) writes
 * ```
 */
export class PyNamedTupleClass implements PyClassDeclaration {
  readonly hook: PyClassHook;
  constructor(
    readonly module: string,
    readonly name: string,
    /** Field names, in order. */
    readonly fields: readonly string[],
  ) {
    this.hook = {
      create: (args, info) => {
        // NEWOBJ (protocol 2+) gives the values; REDUCE of the class (protocols 0–1) does too.
        const values = [...args];
        if (info.kwargs) for (const f of fields.slice(values.length)) if (info.kwargs.has(f)) values.push(info.kwargs.get(f));
        if (values.length !== fields.length) throw new Error(`${name} takes ${fields.length} values (${fields.join(', ')}), got ${values.length}`);
        return this.of(...values);
      },
    };
  }

  /** A new instance with these field values. */
  of<T>(...values: T[]): PyNamedTuple<T> {
    if (values.length !== this.fields.length) throw new RangeError(`${this.name} takes ${this.fields.length} values, got ${values.length}`);
    const t = new PyNamedTuple<T>();
    t.push(...values);
    Object.defineProperty(t, 'namedTupleClass', { value: this, enumerable: false });
    return t;
  }
}

/**
 * Declare a Python `collections.namedtuple` (or `typing.NamedTuple`) class.
 * @example
 * ```ts
 * const Point = pyNamedTuple('app', 'Point', ['x', 'y']);
 * ```
 */
export function pyNamedTuple(module: string, name: string, fields: readonly string[]): PyNamedTupleClass {
  return new PyNamedTupleClass(module, name, [...fields]);
}

/**
 * A `findClass` for `loads` that knows the declared classes (and defers to `fallback` for others).
 * @example
 * ```ts
 * loads(bytes, { findClass: pyClasses(pyEnum('app', 'Color', { RED: 1 }), pyNamedTuple('app', 'P', ['x', 'y'])) });
 * ```
 */
export function pyClasses(
  ...declarations: Array<PyClassDeclaration | ((module: string, name: string) => PyClassHook | undefined)>
): (module: string, name: string) => PyClassHook | undefined {
  const table = new Map<string, PyClassHook>();
  const enums = new Map<string, PyEnumClass>();
  const fallbacks: Array<(module: string, name: string) => PyClassHook | undefined> = [];
  for (const d of declarations) {
    if (typeof d === 'function') fallbacks.push(d);
    else {
      table.set(`${d.module}\0${d.name}`, d.hook);
      if (d instanceof PyEnumClass) enums.set(`${d.module}\0${d.name}`, d);
    }
  }
  const fallback = (module: string, name: string): PyClassHook | undefined => {
    for (const f of fallbacks) {
      const h = f(module, name);
      if (h) return h;
    }
    return undefined;
  };
  // Some CPython releases (3.11.0–3.11.4, e.g. Debian 12's 3.11.2) pickle enum members by name:
  // `getattr(Color, 'RED')`. Answer that call for declared enums, and leave any other alone.
  const getattrHook: PyClassHook | undefined = enums.size
    ? {
        create: (args, info) => {
          const [owner, attr] = args;
          if (args.length === 2 && owner instanceof PyGlobal && typeof attr === 'string') {
            const e = enums.get(`${owner.module}\0${owner.name}`);
            if (e) return e.member(attr);
          }
          const other = fallback('builtins', 'getattr');
          return other ? other.create(args, info) : new PyObject(new PyGlobal('builtins', 'getattr'), [...args], info.via, info.kwargs);
        },
      }
    : undefined;
  return (module, name) => {
    if (getattrHook && module === 'builtins' && name === 'getattr') return getattrHook;
    return table.get(`${module}\0${name}`) ?? fallback(module, name);
  };
}

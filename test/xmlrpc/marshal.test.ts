import { describe, expect, it } from 'vitest';
import { MpwireError } from '../../src/errors.js';
import {
  DateTime,
  Decimal,
  Double,
  Fault,
  MarshalError,
  DEFAULT_MAX_DEPTH,
  MAXINT,
  MININT,
  OverflowError,
  XmlRpcError,
  dumps,
  escape,
  loads,
  xmlCodec,
} from '../../src/xmlrpc/index.js';
import { PyFloat } from '../../src/pickle/index.js';
import { MAX_NESTING } from '../../src/xmlrpc/marshal.js';
import { pyFloatRepr } from '../../src/xmlrpc/numbers.js';

const frame = (v: unknown): string => Buffer.from(xmlCodec().encode(v)).toString('utf8');
const one = (inner: string): string => `<params>\n<param>\n${inner}</param>\n</params>\n`;

describe('frames documented in PROTOCOL.md §4.2', () => {
  it('42', () => {
    expect(frame(42)).toBe('<params>\n<param>\n<value><int>42</int></value>\n</param>\n</params>\n');
  });
  it('None (no newline before </param>)', () => {
    expect(frame(null)).toBe('<params>\n<param>\n<value><nil/></value></param>\n</params>\n');
  });
  it("(None, 'dummy', (), {})", () => {
    expect(frame([null, 'dummy', [], {}])).toBe(
      '<params>\n<param>\n<value><array><data>\n<value><nil/></value><value><string>dummy</string></value>\n' +
        '<value><array><data>\n</data></array></value>\n<value><struct>\n</struct></value>\n</data></array></value>\n' +
        '</param>\n</params>\n',
    );
  });
  it("b'\\x00\\xffhi'", () => {
    expect(frame(Buffer.from([0, 0xff, 0x68, 0x69]))).toBe(one('<value><base64>\nAP9oaQ==\n</base64></value>\n'));
  });
});

describe('int', () => {
  it('accepts the 32-bit range, numbers and bigints', () => {
    expect(frame(MAXINT)).toContain('<int>2147483647</int>');
    expect(frame(MININT)).toContain('<int>-2147483648</int>');
    expect(frame(5n)).toContain('<int>5</int>');
  });
  it.each([2 ** 31, -(2 ** 31) - 1, 2n ** 31n, 2n ** 64n, Number.MAX_SAFE_INTEGER, 1e300])('refuses %s with OverflowError', (v) => {
    let err: unknown;
    try {
      dumps([v]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OverflowError);
    expect(err).toBeInstanceOf(MarshalError);
    expect(err).toBeInstanceOf(XmlRpcError);
    expect(err).toBeInstanceOf(MpwireError);
    expect((err as OverflowError).code).toBe('MPWIRE_XMLRPC_OVERFLOW');
    expect((err as OverflowError).message).toMatch(/int exceeds XML-RPC limits/);
  });
  it('reports where the overflow is', () => {
    expect(() => dumps([{ a: [1, 2 ** 40] }])).toThrow(/at \$\[0\]\.a\[1\]/);
  });
});

describe('double', () => {
  it.each([
    [0.1, '0.1'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [1e-5, '1e-05'],
    [1e-4, '0.0001'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [123.456, '123.456'],
    [-2.5, '-2.5'],
    [1e22, '1e+22'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [2 ** 53, '9007199254740992.0'],
    [0.5, '0.5'],
    [-0, '-0.0'],
    [0, '0.0'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
    [1 / 3, '0.3333333333333333'],
  ])('repr(%s) = %s', (x, text) => {
    expect(pyFloatRepr(x)).toBe(text);
  });
  it('writes non-integral numbers, -0, NaN, ±inf and Double as <double>', () => {
    expect(frame(0.1)).toBe(one('<value><double>0.1</double></value>\n'));
    expect(frame(-0)).toContain('<double>-0.0</double>');
    expect(frame(NaN)).toContain('<double>nan</double>');
    expect(frame(-Infinity)).toContain('<double>-inf</double>');
    expect(frame(new Double(1))).toContain('<double>1.0</double>');
    expect(frame(new Double(1e300))).toContain('<double>1e+300</double>');
    // Double is the float of mpwire/pickle's value model; any PyFloat is written as <double>.
    expect(new Double(2)).toBeInstanceOf(PyFloat);
    expect(frame(new PyFloat(2 ** 31))).toContain('<double>2147483648.0</double>');
  });
});

describe('string', () => {
  it('escapes only & < > (like Python), so ]]> and quotes are safe', () => {
    expect(escape(`<&>"']]>`)).toBe(`&lt;&amp;&gt;"']]&gt;`);
    expect(frame('<&>]]>')).toContain('<string>&lt;&amp;&gt;]]&gt;</string>');
  });
  it('writes text outside the BMP as UTF-8', () => {
    expect(Buffer.from(xmlCodec().encode('\u{1F600}')).includes(Buffer.from([0xf0, 0x9f, 0x98, 0x80]))).toBe(true);
  });
  it('writes the empty string', () => {
    expect(frame('')).toContain('<value><string></string></value>');
  });
  it('refuses lone surrogates (no UTF-8 form exists)', () => {
    expect(() => dumps(['a\uD800b'])).toThrow(MarshalError);
    expect(() => dumps([{ '\uDC00': 1 }])).toThrow(MarshalError);
  });
});

describe('nil, boolean, base64, datetime', () => {
  it('refuses null unless allowNone', () => {
    expect(() => dumps([null])).toThrow(/allow_none/);
    expect(dumps([null], { allowNone: true })).toContain('<nil/>');
  });
  it('writes booleans as 1/0', () => {
    expect(frame(true)).toContain('<boolean>1</boolean>');
    expect(frame(false)).toContain('<boolean>0</boolean>');
  });
  it('wraps base64 like base64.encodebytes (76 chars per line)', () => {
    const text = frame(Buffer.alloc(58, 1));
    const body = /<base64>\n([\s\S]*)<\/base64>/.exec(text)?.[1] ?? '';
    expect(body.split('\n').map((l) => l.length)).toEqual([76, 4, 0]);
    expect(frame(new Uint8Array(0))).toContain('<base64>\n</base64>');
  });
  it('writes Dates in UTC without milliseconds, DateTime as given (escaped)', () => {
    expect(frame(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 999)))).toContain('<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>');
    const year1 = new Date(0);
    year1.setUTCFullYear(1, 0, 1); // Date.UTC maps years 0..99 to 19xx
    expect(frame(year1)).toContain('00010101T00:00:00');
    expect(frame(new DateTime('x<y'))).toContain('<dateTime.iso8601>x&lt;y</dateTime.iso8601>');
  });
  it('refuses invalid Dates and years outside 1..9999', () => {
    expect(() => dumps([new Date(Number.NaN)])).toThrow(MarshalError);
    expect(() => dumps([new Date(Date.UTC(10000, 0, 1))])).toThrow(/out of range/);
    const y0 = new Date(0);
    y0.setUTCFullYear(0);
    expect(() => dumps([y0])).toThrow(MarshalError);
  });
  it('DateTime converts to and from Date (UTC)', () => {
    const dt = DateTime.fromDate(new Date(Date.UTC(2000, 1, 29, 12, 0, 0)));
    expect(dt.value).toBe('20000229T12:00:00');
    expect(dt.toDate().toISOString()).toBe('2000-02-29T12:00:00.000Z');
    expect(dt.equals(new Date(Date.UTC(2000, 1, 29, 12, 0, 0, 500)))).toBe(true);
    expect(() => new DateTime('20230230T00:00:00').toDate()).toThrow(RangeError);
    expect(() => new DateTime('garbage').toDate()).toThrow(RangeError);
  });
});

describe('array and struct', () => {
  it('keeps Map and object member order, escapes names', () => {
    expect(frame(new Map([['z', 1], ['<a>', 2]]))).toBe(
      one(
        '<value><struct>\n<member>\n<name>z</name>\n<value><int>1</int></value>\n</member>\n' +
          '<member>\n<name>&lt;a&gt;</name>\n<value><int>2</int></value>\n</member>\n</struct></value>\n',
      ),
    );
    expect(frame(Object.assign(Object.create(null) as object, { a: 1 }))).toContain('<name>a</name>');
  });
  it('refuses non-string keys like Python (TypeError: dictionary key must be string)', () => {
    expect(() => dumps([new Map([[1, 'a']])])).toThrow(/dictionary key must be string/);
  });
  it('refuses recursion but allows shared references', () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => dumps([a])).toThrow(/recursive sequences/);
    const o: Record<string, unknown> = {};
    o.self = o;
    expect(() => dumps([o])).toThrow(/recursive dictionaries/);
    const shared = [1];
    expect(loads(dumps([[shared, shared]]))[0]).toEqual([[[1], [1]]]);
  });
  it('refuses nesting deeper than MAX_NESTING with MarshalError, not a stack overflow', () => {
    const nest = (k: number, wrap: (v: unknown) => unknown): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < k; i++) v = wrap(v);
      return v;
    };
    const thrown = (run: () => unknown): unknown => {
      try {
        run();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const inArray = (v: unknown): unknown => [v];
    for (const wrap of [inArray, (v: unknown) => ({ a: v }), (v: unknown) => new Map([['m', v]])]) {
      for (const encode of [(v: unknown) => dumps([v]), (v: unknown) => xmlCodec().encode(v)]) {
        const e = thrown(() => encode(nest(20_000, wrap)));
        expect(e).toBeInstanceOf(MarshalError);
        expect((e as MarshalError).reason).toBe('depth');
        expect(() => encode(nest(MAX_NESTING + 1, wrap))).toThrow(MarshalError);
      }
      // The deepest value dumps writes is one loads reads back with its default maxDepth.
      const deepest = nest(MAX_NESTING, wrap);
      expect(loads(dumps([deepest], { methodname: 'm' }), { mapStructs: wrap(1) instanceof Map })[0]).toEqual([deepest]);
    }
    expect(MAX_NESTING).toBe(Math.floor((DEFAULT_MAX_DEPTH - 5) / 3));
    expect(MAX_NESTING).toBeGreaterThan(497); // CPython's own dumps stops at about 497 arrays
    expect(thrown(() => dumps(new Fault(nest(20_000, inArray), 'deep')))).toBeInstanceOf(MarshalError);
    // A fault's own struct is one level.
    const fault = thrown(() => loads(dumps(new Fault(nest(MAX_NESTING - 1, inArray), 'deep'))));
    expect((fault as Fault).faultCode).toEqual(nest(MAX_NESTING - 1, inArray));
    expect(() => dumps(new Fault(nest(MAX_NESTING, inArray), 'deep'))).toThrow(MarshalError);
    const e = thrown(() => dumps([[[nest(MAX_NESTING, inArray)]]]));
    expect((e as MarshalError).path).toBe(`$[0]${'[0]'.repeat(MAX_NESTING)}`);
  });
  it.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a Set', new Set([1])],
    ['a class instance', new (class Point { x = 1 })()],
    ['a Decimal (Python cannot marshal Decimal either)', new Decimal('1.5')],
    ['an Error', new Error('x')],
  ])('refuses %s with MarshalError', (_name, v) => {
    expect(() => dumps([v], { allowNone: true })).toThrow(MarshalError);
  });
  it('undefinedAsNone writes undefined as <nil/> (still only with allowNone)', () => {
    const opts = { allowNone: true, undefinedAsNone: true };
    expect(dumps([undefined], opts)).toBe(dumps([null], opts));
    expect(dumps([[1, undefined], { a: undefined }], opts)).toBe(dumps([[1, null], { a: null }], opts));
    expect(Buffer.from(xmlCodec({ undefinedAsNone: true }).encode(undefined)).toString('utf8')).toBe(frame(null));
    expect(() => dumps([undefined], { undefinedAsNone: true })).toThrow(/allow_none/);
  });
});

describe('documents', () => {
  it('methodCall with an escaped method name', () => {
    expect(dumps([1], { methodname: 'a<b' })).toBe(
      "<?xml version='1.0'?>\n<methodCall>\n<methodName>a&lt;b</methodName>\n" + one('<value><int>1</int></value>\n') + '</methodCall>\n',
    );
    expect(loads(dumps([1, 'x'], { methodname: 'ns.m' }))).toEqual([[1, 'x'], 'ns.m']);
  });
  it('methodResponse needs exactly one param', () => {
    expect(dumps(['ok'], { methodresponse: true })).toMatch(/^<\?xml version='1.0'\?>\n<methodResponse>\n<params>/);
    expect(() => dumps([1, 2], { methodresponse: true })).toThrow(/singleton/);
  });
  it('encoding is named in the declaration when not utf-8', () => {
    expect(dumps([1], { methodname: 'm', encoding: 'iso-8859-1' })).toMatch(/^<\?xml version='1.0' encoding='iso-8859-1'\?>\n/);
    expect(dumps([1], { encoding: 'iso-8859-1' })).toMatch(/^<params>/);
  });
  it('a Fault becomes a methodResponse fault, and loads throws it back', () => {
    const text = dumps(new Fault(4, 'Too many <params>'));
    expect(text).toContain('<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>4</int></value>');
    let err: unknown;
    try {
      loads(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Fault);
    expect((err as Fault).faultCode).toBe(4);
    expect((err as Fault).faultString).toBe('Too many <params>');
    expect((err as Fault).code).toBe('MPWIRE_XMLRPC_FAULT');
  });
  it('refuses a params argument that is not an array or Fault', () => {
    expect(() => dumps('x' as unknown as unknown[])).toThrow(MarshalError);
  });
});

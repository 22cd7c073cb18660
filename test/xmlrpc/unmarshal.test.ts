import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_DEPTH,
  DateTime,
  Decimal,
  Double,
  ExpatError,
  Fault,
  ResponseError,
  XmlForbiddenError,
  XmlLimitError,
  XmlRpcError,
  dumps,
  isFault,
  isXmlRpcError,
  loads,
  xmlCodec,
} from '../../src/xmlrpc/index.js';
import { pyStrip } from '../../src/xmlrpc/numbers.js';

const P = (inner: string): string => `<params><param><value>${inner}</value></param></params>`;
const one = (inner: string, options = {}): unknown => loads(P(inner), options)[0][0];

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('hostile input', () => {
  const billionLaughs =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">\n`).join('') +
    ']>\n' +
    P('<string>&lol9;</string>');

  it('billion laughs is refused at the DOCTYPE, quickly', () => {
    const t0 = performance.now();
    const e = thrown(() => loads(billionLaughs));
    expect(e).toBeInstanceOf(XmlForbiddenError);
    expect((e as XmlForbiddenError).reason).toBe('doctype');
    expect((e as XmlForbiddenError).code).toBe('MPWIRE_XML_FORBIDDEN');
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('external entities (SYSTEM/PUBLIC) are refused', () => {
    for (const doc of [
      `<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${P('<string>&xxe;</string>')}`,
      `<!DOCTYPE p PUBLIC "-//X//DTD X//EN" "http://example.invalid/x.dtd">${P('<int>1</int>')}`,
      `<!DOCTYPE p [<!ENTITY % pe SYSTEM "http://example.invalid/x"> %pe;]>${P('<int>1</int>')}`,
    ]) {
      expect(thrown(() => loads(doc))).toBeInstanceOf(XmlForbiddenError);
    }
  });

  it('any DOCTYPE is refused, even an empty one', () => {
    const e = thrown(() => loads(`<!DOCTYPE params>${P('<int>1</int>')}`));
    expect((e as XmlForbiddenError).reason).toBe('doctype');
  });

  it('entity references other than the predefined five are refused', () => {
    const e = thrown(() => loads(P('<string>&xxe;</string>')));
    expect(e).toBeInstanceOf(XmlForbiddenError);
    expect((e as XmlForbiddenError).reason).toBe('entity');
    expect(one('<string>&lt;&gt;&amp;&quot;&apos;&#65;&#x1F600;</string>')).toBe(`<>&"'A\u{1F600}`);
  });

  it('a depth bomb is refused with XmlLimitError, quickly', () => {
    const n = 200_000;
    const bomb = `<params><param>${'<value><array><data>'.repeat(n)}${'</data></array></value>'.repeat(n)}</param></params>`;
    const t0 = performance.now();
    const e = thrown(() => loads(bomb));
    expect(e).toBeInstanceOf(XmlLimitError);
    expect((e as XmlLimitError).reason).toBe('depth');
    expect((e as XmlLimitError).limit).toBe(DEFAULT_MAX_DEPTH);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('accepts by default the deepest nesting CPython can write (497 arrays)', () => {
    let v: unknown = 1;
    for (let i = 0; i < 497; i++) v = [v];
    expect(loads(dumps([v]))[0]).toEqual([v]);
  });

  it('maxDepth is configurable', () => {
    const nested = (k: number): string => `${'<array><data><value>'.repeat(k)}<int>1</int>${'</value></data></array>'.repeat(k)}`;
    expect(one(nested(3))).toEqual([[[1]]]);
    // params/param/value + 3 × array/data/value + int = 13 elements
    expect(() => loads(P(nested(3)), { maxDepth: 12 })).toThrow(XmlLimitError);
    expect(loads(P(nested(3)), { maxDepth: 13 })[0]).toEqual([[[[1]]]]);
  });

  it('maxSize is checked before parsing (strings and bytes)', () => {
    const doc = P(`<string>${'x'.repeat(1000)}</string>`);
    expect(thrown(() => loads(doc, { maxSize: 100 }))).toMatchObject({ reason: 'size', code: 'MPWIRE_XML_LIMIT', limit: 100 });
    expect(() => loads(Buffer.from(doc), { maxSize: 100 })).toThrow(XmlLimitError);
    expect(() => xmlCodec({ maxSize: 100 }).decode(Buffer.from(doc))).toThrow(XmlLimitError);
    expect(loads(doc, { maxSize: doc.length })[0][0]).toHaveLength(1000);
  });

  it.each([
    ['unclosed element', '<params><param>'],
    ['mismatched tags', '<params><param></params></param>'],
    ['two roots', '<params/><params/>'],
    ['empty input', ''],
    ['text only', 'hello'],
    ['control character', P('<string>\u0001</string>')],
    ['invalid character reference', P('<string>&#1;</string>')],
    ['U+FFFE', P('<string>\uFFFE</string>')],
    ['bare ampersand', P('<string>a & b</string>')],
    ['bare <', P('<string>a < b</string>')],
    ['duplicate attribute', '<params a="1" a="2"/>'],
  ])('malformed XML (%s) gives ExpatError with a position', (_name, xml) => {
    const e = thrown(() => loads(xml));
    expect(e).toBeInstanceOf(ExpatError);
    expect((e as ExpatError).code).toBe('MPWIRE_XML_SYNTAX');
    expect(typeof (e as ExpatError).line).toBe('number');
  });

  it('unknown tags inside <value> are ResponseErrors; elsewhere ignored, as in Python', () => {
    const e = thrown(() => loads(P('<foo>1</foo>')));
    expect(e).toBeInstanceOf(ResponseError);
    expect((e as ResponseError).reason).toBe('unknown-tag');
    expect(thrown(() => loads(P('<ns:foo>1</ns:foo>')))).toBeInstanceOf(ResponseError);
    expect(loads('<params><x/><param><value><int>1</int></value></param></params>')[0]).toEqual([1]);
  });

  it('a document that is not XML-RPC is a ResponseError', () => {
    expect(thrown(() => loads('<foo/>'))).toBeInstanceOf(ResponseError);
    expect(thrown(() => loads('<methodResponse><fault><value><int>1</int></value></fault></methodResponse>'))).toBeInstanceOf(ResponseError);
  });

  it.each([
    ['boolean', '<boolean>yes</boolean>', 'bad-boolean'],
    ['int', '<int>1.5</int>', 'bad-int'],
    ['double', '<double>1.5x</double>', 'bad-double'],
    ['bigdecimal', '<bigdecimal>1.2.3</bigdecimal>', 'bad-decimal'],
    ['base64', '<base64>QQ</base64>', 'bad-base64'],
    ['base64 (non-ASCII)', '<base64>QQ==\u00e9</base64>', 'bad-base64'],
    ['struct member name', '<struct><member><value><int>1</int></value><value><int>2</int></value></member></struct>', 'bad-struct'],
    ['struct member without value', '<struct><member><name>a</name></member></struct>', 'bad-struct'],
  ])('bad %s text is a ResponseError', (_name, inner, reason) => {
    const e = thrown(() => loads(P(inner)));
    expect(e).toBeInstanceOf(ResponseError);
    expect((e as ResponseError).reason).toBe(reason);
  });

  it('a struct member named __proto__ never touches prototypes', () => {
    const v = one('<struct><member><name>__proto__</name><value><struct><member><name>polluted</name><value>yes</value></member></struct></value></member></struct>') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(v, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((v as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('the decoder keeps working after it threw', () => {
    expect(() => loads('<params>')).toThrow(ExpatError);
    expect(loads(P('<int>1</int>'))[0]).toEqual([1]);
  });

  it('whitespace inside number text costs linear time (pyStrip)', () => {
    // A regex strip backtracked quadratically here: over a minute for these inputs.
    const n = 150_000;
    const t0 = performance.now();
    expect(thrown(() => loads(P(`<int>1${' '.repeat(n)}1</int>`)))).toMatchObject({ reason: 'bad-int' });
    expect(thrown(() => loads(P(`<double>1${'\u3000'.repeat(n)}1</double>`)))).toMatchObject({ reason: 'bad-double' });
    expect(pyStrip(`x${' \t'.repeat(n / 2)}x`)).toHaveLength(n + 2);
    expect(one(`<int>${' '.repeat(n)}7${'\n'.repeat(n)}</int>`)).toBe(7);
    expect(performance.now() - t0).toBeLessThan(2000);
    // The stripped set stays exactly Python's str.isspace() set.
    const pyWs = new Set([...'\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000']);
    for (let c = 0x2000; c <= 0x200a; c++) pyWs.add(String.fromCharCode(c));
    const wrong: number[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      const padded = `${ch}${ch}a${ch}b${ch}${ch}`;
      if (pyStrip(padded) !== (pyWs.has(ch) ? `a${ch}b` : padded)) wrong.push(c);
    }
    expect(wrong).toEqual([]);
    expect(pyStrip(' \u3000 ')).toBe('');
    expect(pyStrip('')).toBe('');
  });

  it('text followed by many end tags is not copied once per end tag', () => {
    // Each end tag joined all text since the last start tag: about 14 s for this input.
    const text = 'x'.repeat(10_000_000);
    const depth = 2000;
    const doc = `<params><param>${'<value>'.repeat(depth)}${text}${'</value>a'.repeat(depth)}</param></params>`;
    const t0 = performance.now();
    const [params] = loads(doc);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(params).toHaveLength(1);
    expect(params[0] === text).toBe(true);
  });

  it('a fault whose code or string cannot be converted to a string is still a Fault', () => {
    const member = (name: string, value: string): string => `<member><name>${name}</name><value>${value}</value></member>`;
    const fault = (code: string, str: string): string =>
      `<methodResponse><fault><value><struct>${member('faultCode', code)}${member('faultString', str)}</struct></value></fault></methodResponse>`;
    for (const hostile of ['toString', 'valueOf']) {
      const struct = `<struct>${member(hostile, 'x')}${member('toString', 'y')}</struct>`;
      for (const xml of [fault(struct, 'y'), fault('<int>1</int>', struct)]) {
        const e = thrown(() => loads(xml));
        expect(e).toBeInstanceOf(Fault);
        expect((e as Fault).code).toBe('MPWIRE_XMLRPC_FAULT');
        expect((e as Fault).message).toMatch(/toString\\?":\\?"y/);
      }
    }
    const e = thrown(() => loads(fault(`<struct>${member('toString', 'x')}</struct>`, 'y')));
    expect((e as Fault).faultCode).toEqual({ toString: 'x' });
    expect((e as Fault).faultString).toBe('y');
    // Values no conversion can describe still give a Fault.
    const opaque = Object.create(null) as object;
    expect(new Fault(opaque, opaque).message).toBe('<Fault {}: "{}">');
    const cyclic: Record<string, unknown> = { toString: 1 };
    cyclic.self = cyclic;
    expect(new Fault(cyclic, 1n).message).toBe('<Fault [object Object]: "1">');
    expect(new Fault(4, 'Too many').message).toBe('<Fault 4: "Too many">');
  });

  it('every error is an XmlRpcError with a stable code', () => {
    for (const e of [new ExpatError('x'), new ResponseError('x'), new XmlForbiddenError('x', 'doctype'), new XmlLimitError('x', 'depth', 1), new Fault(1, 'x')]) {
      expect(isXmlRpcError(e)).toBe(true);
      expect(e.code).toMatch(/^MPWIRE_XML/);
    }
    expect(isFault(new Fault(1, 's'))).toBe(true);
    expect(isFault(new ResponseError('x'))).toBe(false);
  });
});

describe('types', () => {
  it('ints: number, or bigint beyond 2^53; every int tag and ex: prefix', () => {
    expect(one('<i4>7</i4>')).toBe(7);
    expect(one('<i8>9007199254740993</i8>')).toBe(9007199254740993n);
    expect(one('<ex:i8>-9223372036854775808</ex:i8>')).toBe(-9223372036854775808n);
    expect(one('<biginteger> 1_000 </biginteger>')).toBe(1000);
  });
  it('doubles, including Python spellings', () => {
    expect(one('<double>1e+16</double>')).toBe(1e16);
    expect(one('<double>inf</double>')).toBe(Infinity);
    expect(one('<double>-Infinity</double>')).toBe(-Infinity);
    expect(one('<double>nan</double>')).toBeNaN();
    expect(Object.is(one('<double>-0.0</double>'), -0)).toBe(true);
    expect(one('<float>.5</float>')).toBe(0.5);
  });
  it('wrapIntegralDoubles: an integral double is a Double, which dumps writes back as <double>', () => {
    const wrap = { wrapIntegralDoubles: true };
    for (const text of ['1.0', '2147483648.0', '1e+16', '1e+300', '-0.0']) {
      const v = one(`<double>${text}</double>`, wrap);
      expect(v, text).toBeInstanceOf(Double);
      expect(dumps([v])).toContain(`<double>${text}</double>`);
    }
    expect(Object.is((one('<double>-0.0</double>', wrap) as Double).value, -0)).toBe(true);
    // Non-integral values, nan and inf are written as <double> anyway: they stay numbers.
    expect(one('<double>2.5</double>', wrap)).toBe(2.5);
    expect(one('<double>inf</double>', wrap)).toBe(Infinity);
    expect(one('<double>nan</double>', wrap)).toBeNaN();
    expect(one('<int>1</int>', wrap)).toBe(1);
    // The default is unchanged, and so is xmlCodec's.
    expect(one('<double>1e+16</double>')).toBe(1e16);
    const frame = Buffer.from(P('<double>1.0</double>'));
    expect(xmlCodec().decode(frame)).toBe(1);
    expect(xmlCodec(wrap).decode(frame)).toEqual(new Double(1));
  });
  it('nil, ex:nil, booleans, strings and bare values', () => {
    expect(one('<nil/>')).toBeNull();
    expect(one('<ex:nil/>')).toBeNull();
    expect(one('<boolean>1</boolean>')).toBe(true);
    expect(one('<boolean>0</boolean>')).toBe(false);
    expect(one('bare')).toBe('bare');
    expect(one('')).toBe('');
    expect(one('<string><![CDATA[<&>]]></string>')).toBe('<&>');
    expect(one('<string>a\r\nb\rc</string>')).toBe('a\nb\nc');
  });
  it('base64 → Buffer', () => {
    const v = one('<base64>\nAP9oaQ==\n</base64>');
    expect(Buffer.isBuffer(v)).toBe(true);
    expect([...(v as Buffer)]).toEqual([0, 255, 104, 105]);
  });
  it('dateTime.iso8601 → DateTime (text kept), or a UTC Date with useDatetime', () => {
    expect(one('<dateTime.iso8601> 20240102T03:04:05 </dateTime.iso8601>')).toEqual(new DateTime('20240102T03:04:05'));
    expect(one('<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>', { useDatetime: true })).toEqual(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
    expect(one('<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>', { useBuiltinTypes: true })).toBeInstanceOf(Date);
    expect(() => one('<dateTime.iso8601>garbage</dateTime.iso8601>', { useDatetime: true })).toThrow(ResponseError);
  });
  it('bigdecimal → Decimal', () => {
    const d = one('<bigdecimal> 123.456 </bigdecimal>');
    expect(d).toEqual(new Decimal('123.456'));
    expect((d as Decimal).toNumber()).toBe(123.456);
  });
  it('structs: plain objects, or Maps keeping member order with mapStructs', () => {
    const xml = '<struct><member><name>z</name><value>1</value></member><member><name>10</name><value>2</value></member></struct>';
    expect(one(xml)).toEqual({ z: '1', 10: '2' });
    expect([...(one(xml, { mapStructs: true }) as Map<string, unknown>).keys()]).toEqual(['z', '10']);
  });
  it('methodCall gives the method name; bare params give null', () => {
    expect(loads('<methodCall><methodName>ping</methodName></methodCall>')).toEqual([[], 'ping']);
    expect(loads(P('<int>1</int>'))[1]).toBeNull();
  });
});

describe('bytes input and encodings', () => {
  const doc = (decl: string, body: Buffer): Buffer => Buffer.concat([Buffer.from(decl), Buffer.from('<params><param><value><string>'), body, Buffer.from('</string></value></param></params>')]);

  it('UTF-8 by default, with or without BOM', () => {
    expect(loads(doc('', Buffer.from('\u00e9\u{1F600}')))[0]).toEqual(['\u00e9\u{1F600}']);
    expect(loads(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), doc('', Buffer.from('x'))]))[0]).toEqual(['x']);
  });
  it('UTF-16 with BOM', () => {
    const text = P('<string>\u00e9</string>');
    expect(loads(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))[0]).toEqual(['\u00e9']);
  });
  it('ISO-8859-1 and US-ASCII when declared', () => {
    expect(loads(doc("<?xml version='1.0' encoding='iso-8859-1'?>", Buffer.from([0xe9])))[0]).toEqual(['\u00e9']);
    expect(loads(doc("<?xml version='1.0' encoding='us-ascii'?>", Buffer.from('a')))[0]).toEqual(['a']);
    expect(() => loads(doc("<?xml version='1.0' encoding='us-ascii'?>", Buffer.from([0xe9])))).toThrow(ExpatError);
  });
  it('invalid UTF-8 and unknown encodings are ExpatErrors', () => {
    expect(() => loads(doc('', Buffer.from([0xff])))).toThrow(ExpatError);
    expect(() => loads(doc("<?xml version='1.0' encoding='klingon'?>", Buffer.from('a')))).toThrow(/unknown encoding/);
  });
  it('a string input ignores the declared encoding (as Python does for str)', () => {
    expect(loads(`<?xml version='1.0' encoding='iso-8859-1'?>${P('<string>\u4e2d</string>')}`)[0]).toEqual(['\u4e2d']);
  });
});

describe('xmlCodec', () => {
  const codec = xmlCodec();
  it('round-trips one value per frame', () => {
    const v = { a: [1, 2.5, 'x', null, true, Buffer.from('hi')] };
    expect(codec.decode(codec.encode(v))).toEqual(v);
    expect(codec.name).toBe('xmlrpc');
  });
  it('a frame must hold exactly one param', () => {
    const two = Buffer.from(dumps([1, 2]));
    expect(thrown(() => codec.decode(two))).toMatchObject({ reason: 'arity' });
    expect(() => codec.decode(Buffer.from('<params></params>'))).toThrow(ResponseError);
  });
  it('a fault frame throws Fault; non-UTF-8 frames throw ExpatError', () => {
    expect(() => codec.decode(Buffer.from(dumps(new Fault(1, 'x'))))).toThrow(Fault);
    expect(() => codec.decode(Buffer.from([0x3c, 0xff]))).toThrow(ExpatError);
  });
  it('passes loads options through', () => {
    const dateCodec = xmlCodec({ useDatetime: true });
    expect(dateCodec.decode(codec.encode(new Date(Date.UTC(2020, 5, 6, 7, 8, 9))))).toEqual(new Date(Date.UTC(2020, 5, 6, 7, 8, 9)));
  });
  it('every thrown error is an XmlRpcError', () => {
    for (const bad of ['', '<', '<params><param><value><foo/></value></param></params>', '<!DOCTYPE x><x/>']) {
      expect(thrown(() => codec.decode(Buffer.from(bad)))).toBeInstanceOf(XmlRpcError);
    }
  });
});

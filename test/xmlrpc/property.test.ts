import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XmlRpcError, dumps, loads, xmlCodec } from '../../src/xmlrpc/index.js';
import { parsePyFloat, pyFloatRepr } from '../../src/xmlrpc/numbers.js';
import { normalize, xmlString, xmlValue } from './arbitraries.js';

function onlyOurErrors(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof XmlRpcError)) throw new Error(`foreign error: ${String(e)}`, { cause: e });
  }
}

describe('round trips', () => {
  it('loads(dumps(values)) equals the values (JS-side type mapping)', () => {
    fc.assert(
      fc.property(fc.array(xmlValue, { maxLength: 4 }), (values) => {
        const [params, method] = loads(dumps(values, { allowNone: true }));
        expect(params).toEqual(values.map(normalize));
        expect(method).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('xmlCodec decode(encode(v)) equals v', () => {
    const codec = xmlCodec();
    fc.assert(
      fc.property(xmlValue, (v) => {
        expect(codec.decode(codec.encode(v))).toEqual(normalize(v));
      }),
      { numRuns: 500 },
    );
  });

  it('methodCall documents keep the (escaped) method name', () => {
    fc.assert(
      fc.property(xmlString.filter((s) => s.length > 0), xmlValue, (name, v) => {
        const [params, method] = loads(dumps([v], { methodname: name, allowNone: true }));
        expect(method).toBe(name);
        expect(params).toEqual([normalize(v)]);
      }),
      { numRuns: 200 },
    );
  });

  it('Map structs keep their member order with mapStructs', () => {
    fc.assert(
      fc.property(fc.uniqueArray(xmlString, { maxLength: 8 }), (keys) => {
        const m = new Map(keys.map((k, i) => [k, i]));
        const back = loads(dumps([m]), { mapStructs: true })[0][0] as Map<string, unknown>;
        expect([...back.entries()]).toEqual([...m.entries()]);
      }),
    );
  });

  it("float repr is Python's: shortest round trip, Python's layout", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        const text = pyFloatRepr(x);
        expect(Object.is(parsePyFloat(text), x)).toBe(true);
        expect(text).toMatch(/^-?(?:inf|\d+\.\d+|\d(?:\.\d+)?e[+-]\d{2,3})$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('robustness: random and mutated XML gives only our error types', () => {
  const valid = fc.array(xmlValue, { maxLength: 3 }).map((v) => dumps(v, { allowNone: true }));

  it('random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => onlyOurErrors(() => loads(s))), { numRuns: 1000 });
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => onlyOurErrors(() => xmlCodec().decode(b))), { numRuns: 1000 });
  });

  it('valid documents with a character deleted, replaced or inserted', () => {
    const mutation = fc.tuple(valid, fc.nat(), fc.constantFrom('delete', 'replace', 'insert'), fc.constantFrom('<', '>', '&', '/', 'x', '=', ' ', '"', '\u0000', '\uFFFF', ']]>', '<!DOCTYPE a>', '&e;'));
    fc.assert(
      fc.property(mutation, ([doc, pos, op, ch]) => {
        const i = doc.length === 0 ? 0 : pos % doc.length;
        const mutated =
          op === 'delete' ? doc.slice(0, i) + doc.slice(i + 1) : op === 'replace' ? doc.slice(0, i) + ch + doc.slice(i + 1) : doc.slice(0, i) + ch + doc.slice(i);
        onlyOurErrors(() => loads(mutated));
        onlyOurErrors(() => loads(Buffer.from(mutated)));
      }),
      { numRuns: 2000 },
    );
  });

  it('every truncation of a document is refused with our error', () => {
    const doc = dumps([{ a: [1, 2.5, 'x<y', null, true, Buffer.from('hi'), new Date(0)] }], { allowNone: true });
    const end = doc.trimEnd().length; // cutting only the final newline leaves a complete document
    for (let i = 0; i < end; i++) {
      expect(() => loads(doc.slice(0, i))).toThrow(XmlRpcError);
    }
  });

  it('random element soup built from XML-RPC tag names', () => {
    const tags = ['params', 'param', 'value', 'array', 'data', 'struct', 'member', 'name', 'int', 'i8', 'double', 'string', 'boolean', 'nil', 'base64', 'dateTime.iso8601', 'fault', 'methodName', 'methodCall', 'bigdecimal', 'ex:nil', 'foo'];
    const node: fc.Arbitrary<string> = fc.letrec<{ n: string }>((tie) => ({
      n: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom('1', '0', 'x', '', '1.5', 'QQ==', '20240102T03:04:05', '-7'),
        fc.tuple(fc.constantFrom(...tags), fc.array(tie('n'), { maxLength: 3 })).map(([t, kids]) => `<${t}>${kids.join('')}</${t}>`),
      ),
    })).n;
    fc.assert(fc.property(node, (xml) => onlyOurErrors(() => loads(xml))), { numRuns: 2000 });
  });
});

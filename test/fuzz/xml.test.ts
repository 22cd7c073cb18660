/**
 * Fuzzer of the XML-RPC parser (src/xmlrpc/unmarshal.ts, saxes underneath): mutated valid
 * documents, element soup with attacks (DOCTYPE, entities, external references, CDATA,
 * processing instructions, namespaces, hostile struct member names), random bytes behind BOMs and
 * encoding declarations. Whatever the input, `loads` returns or throws an XmlRpcError, never
 * pollutes a prototype, and struct keys are own properties.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { XmlRpcError, dumps, loads, xmlCodec } from '../../src/xmlrpc/index.js';
import { xmlValue } from '../xmlrpc/arbitraries.js';
import { FUZZ_TIMEOUT, assertNotPolluted, prototypeSnapshot, reportInputs, runs, tried } from './budget.js';

reportInputs('xml');
const SNAPSHOT = prototypeSnapshot();
afterAll(() => assertNotPolluted(SNAPSHOT));

/** Parse and check the invariants; returns the params or undefined. */
function check(input: string | Uint8Array, options: { mapStructs?: boolean; maxDepth?: number } = {}): unknown[] | undefined {
  let out: unknown[] | undefined;
  try {
    out = loads(input, options)[0];
  } catch (e) {
    if (!(e instanceof XmlRpcError)) throw new Error(`foreign error: ${String(e)}`, { cause: e });
  }
  assertNotPolluted();
  if (out !== undefined) inspect(out);
  return out;
}

/** Every struct is a plain object (or a Map) whose prototype is Object.prototype. */
function inspect(root: unknown): void {
  const stack = [root];
  let budget = 5000;
  while (stack.length > 0 && budget-- > 0) {
    const v = stack.pop();
    if (typeof v === 'function') throw new Error('a function came out of loads');
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) stack.push(...v);
    else if (v instanceof Map) stack.push(...v.values());
    else if (Object.getPrototypeOf(v) === Object.prototype) {
      for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
    } else if (!(v instanceof Uint8Array) && !(v instanceof Date) && Object.getPrototypeOf(v)?.constructor === Object) {
      throw new Error('a struct with a foreign prototype');
    }
  }
}

const TAGS = ['params', 'param', 'value', 'array', 'data', 'struct', 'member', 'name', 'int', 'i4', 'i8', 'i1', 'i2', 'biginteger', 'double', 'float', 'string', 'boolean', 'nil', 'base64', 'dateTime.iso8601', 'bigdecimal', 'fault', 'methodName', 'methodCall', 'methodResponse', 'ex:nil', 'ex:i8', 'x:value', 'foo'];
const TEXTS = ['1', '0', '-7', ' 42 ', '1_000', '9'.repeat(30), '1.5', 'nan', 'inf', '1e999', 'QQ==', 'QQ', '====', '20240102T03:04:05', 'x', '', '__proto__', 'constructor', 'prototype', 'faultCode', 'faultString', '&amp;', '&lt;', '&#65;', '&#x1F600;', '&#0;', '&bogus;', '<![CDATA[<value>]]>', '<!-- c -->', '<?pi x?>'];
const ATTACKS = [
  '<!DOCTYPE a [<!ENTITY e "boom">]>',
  '<!DOCTYPE a SYSTEM "file:///etc/passwd">',
  '<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x"> %p;]>',
  '<!ENTITY x "y">',
  '&e;',
  '&xxe;',
  '<?xml version="1.0" encoding="utf-16"?>',
  '<?xml version="1.1"?>',
  '<?xml-stylesheet href="x"?>',
  ']]>',
  '\u0000',
  '\uFFFE',
  '\uD800',
];

const element: fc.Arbitrary<string> = fc.letrec<{ n: string }>((tie) => ({
  n: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...TEXTS),
    fc.constantFrom(...ATTACKS),
    fc
      .tuple(fc.constantFrom(...TAGS), fc.array(tie('n'), { maxLength: 3 }), fc.constantFrom('', ' a="1"', ' xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"', ' a="&e;"', " __proto__='x'"))
      .map(([t, kids, attr]) => `<${t}${attr}>${kids.join('')}</${t}>`),
  ),
})).n;

/** Structs whose member names try to reach prototypes. */
const hostileStruct = fc
  .array(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'polluted', 'hasOwnProperty', 'a'), fc.constantFrom('<int>1</int>', '<string>yes</string>', '<struct><member><name>polluted</name><value>yes</value></member></struct>')), { maxLength: 5 })
  .map((ms) => `<params><param><value><struct>${ms.map(([k, v]) => `<member><name>${k}</name><value>${v}</value></member>`).join('')}</struct></value></param></params>`);

describe('XML-RPC parser fuzz', () => {
  it(
    'valid documents with characters deleted, replaced or inserted',
    () => {
      const valid = fc.array(xmlValue, { maxLength: 3 }).map((v) => dumps(v, { allowNone: true }));
      const edit = fc.record({ pos: fc.nat(), op: fc.constantFrom('delete', 'replace', 'insert'), ch: fc.constantFrom('<', '>', '&', '/', 'x', '=', ' ', '"', '\u0000', '\uFFFF', ']]>', ...ATTACKS) });
      fc.assert(
        fc.property(valid, fc.array(edit, { minLength: 1, maxLength: 3 }), fc.boolean(), (doc, edits, bytes) => {
          tried('mutated-documents');
          let d = doc;
          for (const { pos, op, ch } of edits) {
            const i = d.length === 0 ? 0 : pos % d.length;
            d = op === 'delete' ? d.slice(0, i) + d.slice(i + 1) : op === 'replace' ? d.slice(0, i) + ch + d.slice(i + 1) : d.slice(0, i) + ch + d.slice(i);
          }
          check(bytes ? Buffer.from(d) : d);
        }),
        { numRuns: runs(3) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'element soup with DOCTYPEs, entities, CDATA, namespaces and processing instructions',
    () => {
      fc.assert(
        fc.property(element, fc.boolean(), (xml, decl) => {
          tried('element-soup');
          check((decl ? '<?xml version="1.0"?>' : '') + xml, { maxDepth: 64 });
        }),
        { numRuns: runs(4) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'hostile struct member names become own properties (or Map keys), never prototypes',
    () => {
      fc.assert(
        fc.property(hostileStruct, fc.boolean(), (xml, mapStructs) => {
          tried('hostile-structs');
          const out = check(xml, { mapStructs });
          expect(out).toBeDefined();
          const s = (out as unknown[])[0] as Record<string, unknown> | Map<string, unknown>;
          if (s instanceof Map) return;
          expect(Object.getPrototypeOf(s)).toBe(Object.prototype);
          for (const k of Object.keys(s)) expect(Object.hasOwn(s, k)).toBe(true);
        }),
        { numRuns: runs(1) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'random bytes behind BOMs and encoding declarations, through the codec too',
    () => {
      const prefix = fc.constantFrom('', '\uFEFF', '<?xml version="1.0" encoding="iso-8859-1"?>', '<?xml version="1.0" encoding="us-ascii"?>', '<?xml version="1.0" encoding="koi8-r"?>', '<params><param><value>');
      const codec = xmlCodec();
      fc.assert(
        fc.property(prefix, fc.uint8Array({ maxLength: 200 }), fc.constantFrom(Buffer.alloc(0), Buffer.from([0xff, 0xfe]), Buffer.from([0xfe, 0xff]), Buffer.from([0xef, 0xbb, 0xbf])), (p, body, bom) => {
          tried('random-bytes');
          const input = Buffer.concat([bom, Buffer.from(p, 'utf8'), body]);
          check(input);
          try {
            codec.decode(input);
          } catch (e) {
            if (!(e instanceof XmlRpcError)) throw e;
          }
        }),
        { numRuns: runs(3) },
      );
    },
    FUZZ_TIMEOUT,
  );
});

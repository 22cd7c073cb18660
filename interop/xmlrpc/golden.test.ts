/**
 * Golden vectors from every CPython found: our `loads` must read what Python's `dumps` writes
 * exactly as Python's `loads` does, our `dumps` must write Python's bytes, and every interpreter's
 * `loads` must read our frames to the same values. One Python process per interpreter.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { findPythons, type PythonInfo } from '../../src/bridge/find-pythons.js';
import {
  DateTime,
  Double,
  ExpatError,
  Fault,
  MarshalError,
  OverflowError,
  ResponseError,
  XmlForbiddenError,
  XmlRpcError,
  dumps,
  loads,
  xmlCodec,
} from '../../src/xmlrpc/index.js';
import { xmlValue } from '../../test/xmlrpc/arbitraries.js';
import { expectedLoaded, hasCR, hasMultiKeyStruct, normalize, runVectors, toSend, type PyLoads, type PyReport } from './describe.js';

const pythons = await findPythons();
console.log(`xmlrpc golden vectors: ${pythons.length} interpreters: ${pythons.map((p) => `${p.version} (${p.path})`).join(', ')}`);

/** Values we send to every interpreter: edge cases, random doubles (bit patterns) and random values. */
function ourValues(): unknown[] {
  const edge: unknown[] = [
    0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2n ** 31n - 1n, true, false, null, '', '<&>]]>', '\u{1F600}', 'a\rb', 'tab\there',
    0.1, -0.0, new Double(1e16), new Double(1e15), 1e-5, 1e-4, new Double(1.5e300), 5e-324, new Double(Number.MAX_VALUE), Number.MIN_VALUE, NaN, Infinity, -Infinity,
    new Double(1), new Double(-3), new Double(2 ** 53), Buffer.alloc(0), Buffer.from([0, 255, 104, 105]),
    Buffer.alloc(200, 7), new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), new Date(Date.UTC(1, 0, 1)), new DateTime('20240102T03:04:05'),
    [], {}, { a: 1 }, new Map([['z', 1], ['a', 2]]), { '<k&>': ['v', [null, { x: {} }]] }, [null, 'dummy', [], {}],
    { __proto__: null, plain: 'null-proto' },
  ];
  const doubles = new Float64Array(new BigUint64Array(fc.sample(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { numRuns: 400, seed: 42 })).buffer);
  const randomValues = fc.sample(xmlValue, { numRuns: 300, seed: 4242 });
  // Integral numbers are ints in our type mapping; a double that happens to be integral is sent as Double.
  const asDouble = (x: number): unknown => (Number.isInteger(x) ? new Double(x) : x);
  return [...edge, ...[...doubles].map(asDouble), ...fc.sample(fc.double(), { numRuns: 200, seed: 7 }).map(asDouble), ...randomValues];
}

/** Our error class for each Python exception type. */
function expectSameError(run: () => unknown, py: { error: string; faultCode?: unknown; faultString?: unknown }): void {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${py.error}`).toBeInstanceOf(XmlRpcError);
  switch (py.error) {
    case 'ExpatError':
      expect(caught instanceof ExpatError || caught instanceof XmlForbiddenError, String(caught)).toBe(true);
      break;
    case 'Fault':
      expect(caught).toBeInstanceOf(Fault);
      break;
    default: // ResponseError, ValueError, TypeError, binascii.Error: invalid XML-RPC content
      expect(caught, String(caught)).toBeInstanceOf(ResponseError);
  }
}

function checkLoads(actual: () => [unknown[], string | null], py: PyLoads): void {
  if ('error' in py) {
    expectSameError(actual, py);
    if (py.error === 'Fault') {
      try {
        actual();
      } catch (e) {
        expect((e as Fault).faultCode).toEqual(expectedLoaded(py.faultCode!));
        expect((e as Fault).faultString).toEqual(expectedLoaded(py.faultString!));
      }
    }
    return;
  }
  const [params, method] = actual();
  expect(params).toEqual(py.params.map(expectedLoaded));
  expect(method).toBe(py.methodname);
}

const values = ourValues();
const codec = xmlCodec();
const frames = values.map((v) => codec.encode(v));

describe.each(pythons.map((p) => [`${p.version}`, p] as const))('CPython %s', (_label, py: PythonInfo) => {
  let report: PyReport;
  beforeAll(async () => {
    report = await runVectors(py, frames);
  });

  it('reports its version and every case', () => {
    expect(report.version).toBe(py.version);
    expect(report.vectors.length).toBeGreaterThan(50);
    expect(report.ours).toHaveLength(frames.length);
  });

  it("loads reads Python's frames as Python's loads does", () => {
    for (const v of report.vectors) {
      const frame = Buffer.from(v.frame, 'base64');
      expect(codec.decode(frame), v.name).toEqual(expectedLoaded(v.loaded));
      expect(loads(frame)[0], v.name).toEqual([expectedLoaded(v.loaded)]);
    }
  });

  it("xmlCodec().encode writes Python's exact frame bytes", () => {
    for (const v of report.vectors) {
      const ours = Buffer.from(codec.encode(toSend(v.sent)));
      expect(ours.toString('utf8'), v.name).toBe(Buffer.from(v.frame, 'base64').toString('utf8'));
      expect(ours.equals(Buffer.from(v.frame, 'base64')), v.name).toBe(true);
    }
  });

  it("dumps writes Python's documents (methodCall, methodResponse, fault, encoding header) and loads reads them", () => {
    for (const d of report.documents) {
      const params = Array.isArray(d.params)
        ? d.params.map(toSend)
        : new Fault(expectedLoaded(d.params.fault[0]), expectedLoaded(d.params.fault[1]));
      const text = dumps(params, {
        methodname: d.options.methodname,
        methodresponse: d.options.methodresponse,
        encoding: d.options.encoding,
        allowNone: d.options.allow_none,
      });
      expect(text, d.name).toBe(d.text);
      checkLoads(() => loads(d.text), d.loaded);
    }
  });

  it("loads agrees with Python's loads on hand-written inputs (extensions, quirks, errors)", () => {
    for (const i of report.inputs) {
      try {
        checkLoads(() => loads(i.xml), i.result);
      } catch (e) {
        throw new Error(`input ${i.name}: ${(e as Error).message}`, { cause: e });
      }
    }
  });

  it('dumps refuses what Python refuses to marshal, with the matching error', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const ours: Record<string, () => unknown> = {
      int_too_big: () => dumps([2 ** 31]),
      int_too_small: () => dumps([-(2 ** 31) - 1]),
      int_huge: () => dumps([2n ** 64n]),
      none_not_allowed: () => dumps([null]),
      non_string_key: () => dumps([new Map([[1, 'a']])]),
      recursive_list: () => dumps([cyclic]),
      set: () => dumps([new Set([1])]),
      response_not_singleton: () => dumps([1, 2], { methodresponse: true }),
    };
    for (const e of report.errors) {
      const run = ours[e.name];
      expect(run, e.name).toBeDefined();
      expect(e.error, e.name).not.toBeNull();
      expect(run!, e.name).toThrow(e.error === 'OverflowError' ? OverflowError : MarshalError);
    }
  });

  it("Python's loads reads our frames to the same values, and re-marshals them to our exact bytes", () => {
    let redumpCompared = 0;
    report.ours.forEach((r, i) => {
      const value = values[i];
      if ('error' in r) throw new Error(`Python could not read our frame #${i}: ${r.error} ${r.message ?? ''}`);
      expect(r.loaded.map(expectedLoaded), `value #${i}`).toEqual([normalize(hasCR(value) ? crToLf(value) : value)]);
      const py2Unordered = py.versionTuple[0] === 2 && hasMultiKeyStruct(value);
      if (!hasCR(value) && !py2Unordered) {
        expect(Buffer.from(r.redump, 'base64').toString('utf8'), `value #${i}`).toBe(Buffer.from(frames[i]!).toString('utf8'));
        redumpCompared++;
      }
    });
    expect(redumpCompared).toBeGreaterThan(frames.length / 2);
  });
});

function crToLf(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(/\r\n?/g, '\n');
  if (Array.isArray(v)) return v.map(crToLf);
  return v;
}

it('found at least one interpreter', () => {
  expect(pythons.length).toBeGreaterThan(0);
});

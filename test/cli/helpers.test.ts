import { describe, expect, it } from 'vitest';
import { parseAddress, formatAddress } from '../../src/cli/address.js';
import { UsageError } from '../../src/cli/errors.js';
import { parseValue } from '../../src/cli/literal.js';
import { pyRepr, toJson } from '../../src/cli/repr.js';
import { ByteArray, FrozenSet, PyFloat, Tuple, dumps, loads, tuple } from '../../src/pickle/index.js';

describe('CLI addresses', () => {
  it.each([
    ['127.0.0.1:6000', ['127.0.0.1', 6000]],
    [':6000', ['127.0.0.1', 6000]],
    ['6000', ['127.0.0.1', 6000]],
    ['[::1]:7', ['::1', 7]],
    ['/tmp/s', '/tmp/s'],
    ['unix:rel.sock', 'rel.sock'],
    ['@abs', '\0abs'],
  ])('%s', (text, want) => {
    expect(parseAddress(text)).toEqual(want);
    if (text !== ':6000' && text !== '6000' && text !== 'unix:rel.sock') expect(formatAddress(parseAddress(text))).toBe(text);
  });
  it('rejects nonsense and bad ports', () => {
    expect(() => parseAddress('nonsense')).toThrow(/cannot parse address/);
    expect(() => parseAddress('h:70000')).toThrow(/bad port/);
  });
  it("rejects an empty socket path ('unix:'), which Node would take for TCP on localhost", () => {
    expect(() => parseAddress('unix:')).toThrow(UsageError);
    expect(() => parseAddress('unix:')).toThrow("empty socket path in address 'unix:'");
  });
});

describe('VALUE literals', () => {
  it('Python literals keep their types', () => {
    const v = parseValue("(1, 2.0, 'a\\n', b'\\x00\\xff', None, True, [1], {1: 'x'}, {3}, (), (5,), -0x10, 1_000, 10000000000000000000000)") as unknown[];
    expect(v).toBeInstanceOf(Tuple);
    expect(v[0]).toBe(1);
    expect(v[1]).toEqual(new PyFloat(2));
    expect(v[2]).toBe('a\n');
    expect(v[3]).toEqual(Buffer.from([0, 255]));
    expect(v.slice(4, 7)).toEqual([null, true, [1]]);
    expect(v[7]).toEqual(new Map([[1, 'x']]));
    expect(v[8]).toEqual(new Set([3]));
    expect(v[9]).toEqual(tuple());
    expect(v[10]).toEqual(tuple(5));
    expect(v.slice(11)).toEqual([-16, 1000, 10n ** 22n]);
  });
  it('JSON works too', () => {
    expect(parseValue('{"a": [1, 2.5, null, true, false, "\\u00e9"]}')).toEqual(new Map([['a', [1, new PyFloat(2.5), null, true, false, 'é']]]));
  });
  it('errors carry the offset', () => {
    expect(() => parseValue('(1, ')).toThrow(/offset 4/);
    expect(() => parseValue('foo')).toThrow(/unknown name 'foo'/);
    expect(() => parseValue('1 2')).toThrow(/unexpected text/);
  });
  it('round-trips through pickle as the same Python value', () => {
    const v = parseValue("(1, 2.0, {'k': [None]})");
    expect(pyRepr(loads(dumps(v, { protocol: 4 }), { exact: true }))).toBe("(1, 2.0, {'k': [None]})");
  });
});

describe('pyRepr', () => {
  it.each([
    [null, 'None'],
    [true, 'True'],
    [1, '1'],
    [1.5, '1.5'],
    [new PyFloat(1), '1.0'],
    [-0, '-0.0'],
    [Number.NaN, 'nan'],
    [2n ** 70n, '1180591620717411303424'],
    ["it's", '"it\'s"'],
    ['a\'b"c', "'a\\'b\"c'"],
    ['tab\there\u0001', "'tab\\there\\x01'"],
    [Buffer.from("a'\n\xff", 'latin1'), 'b"a\'\\n\\xff"'],
    [new ByteArray([65]), "bytearray(b'A')"],
    [tuple(1), '(1,)'],
    [tuple(), '()'],
    [[1, [2]], '[1, [2]]'],
    [new Map<unknown, unknown>([[tuple(1, 2), 'x']]), "{(1, 2): 'x'}"],
    [{ a: 1 }, "{'a': 1}"],
    [new Set(), 'set()'],
    [new FrozenSet([1]), 'frozenset({1})'],
  ])('%o', (v, want) => {
    expect(pyRepr(v)).toBe(want);
  });
  it('cycles', () => {
    const a: unknown[] = [1];
    a.push(a);
    expect(pyRepr(a)).toBe('[1, [...]]');
  });
  it('JSON output', () => {
    expect(toJson({ b: Buffer.from([1]), n: 2n ** 60n, f: new PyFloat(1), m: new Map([[1, 2]]) })).toBe('{"b":{"$bytes":"01"},"n":"1152921504606846976","f":1,"m":{"1":2}}');
  });
});

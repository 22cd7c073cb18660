/**
 * The managers message layer against golden bytes made by CPython 3.12 (`vectors.py`): requests
 * byte-identical to the §5.9 transcript, Token pickles, and every reply kind decoded.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/errors.js';
import {
  type ProxyReference,
  Token,
  errorFromException,
  errorFromTraceback,
  managerCodec,
  parseReply,
  rebuildProxyReduction,
  request,
} from '../../src/managers/index.js';
import { lastLine } from '../../src/managers/protocol.js';
import { PyGlobal, PyObject, type Reduction, dumps, loads, pyReduce } from '../../src/pickle/index.js';

const V = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8')) as Record<string, string>;
const hex = (name: string): Buffer => Buffer.from(V[name] as string, 'hex');

describe('requests are byte-identical to CPython 3.12 (protocol 4)', () => {
  const codec = managerCodec('pickle', {}, 4);
  const cases: Array<[string, unknown[]]> = [
    ['dummy', request(null, 'dummy')],
    ['create_dict', request(null, 'create', ['dict'])],
    ['incref', request(null, 'incref', ['7fba5eed80c0'])],
    ['accept_connection', request(null, 'accept_connection', ['MainProcess'])],
    ['setitem', request('7fba5eed80c0', '__setitem__', ['k', 'v'])],
    ['shutdown', request(null, 'shutdown')],
    ['get_timeout_kw', request('7fba5eed80c0', 'get', [], { timeout: 1 })],
  ];
  for (const [name, msg] of cases) {
    it(name, () => {
      expect(Buffer.from(codec.encode(msg)).toString('hex')).toBe(V[name]);
    });
  }
});

describe('Token', () => {
  const tok = new Token('dict', ['127.0.0.1', 50000], '7f0a1b2c3d40');
  it('pickles like CPython at protocols 4 and 2', () => {
    expect(Buffer.from(dumps(tok, { protocol: 4 })).toString('hex')).toBe(V['token']);
    expect(Buffer.from(dumps(tok, { protocol: 2 })).toString('hex')).toBe(V['token_p2']);
  });
  it('decodes into a Token', () => {
    for (const name of ['token', 'token_p2']) {
      const t = managerCodec('pickle').decode(hex(name));
      expect(t).toBeInstanceOf(Token);
      expect(t).toMatchObject({ typeid: 'dict', address: ['127.0.0.1', 50000], id: '7f0a1b2c3d40' });
    }
  });
  it('Unix and abstract addresses keep their shape', () => {
    const codec = managerCodec('pickle', {}, 4);
    for (const address of ['/tmp/x.sock', Buffer.from('\0abstract', 'latin1')]) {
      const t = codec.decode(codec.encode(new Token('list', address, 'ab'))) as Token;
      expect(t.address).toEqual(address);
    }
  });
});

describe('replies', () => {
  const codec = managerCodec('pickle');
  it('#RETURN and create()', () => {
    expect(parseReply(codec.decode(hex('return_none')))).toEqual({ kind: '#RETURN', value: null });
    expect(parseReply(codec.decode(hex('create_reply'))).value).toEqual(['7fba5eed80c0', ['__contains__', '__getitem__']]);
  });
  it('#PROXY carries the exposed tuple and a Token', () => {
    const r = parseReply(codec.decode(hex('proxy_reply')));
    expect(r.kind).toBe('#PROXY');
    const [exposed, token] = r.value as [string[], Token];
    expect(exposed).toEqual(['__next__', 'send', 'throw', 'close']);
    expect(token).toBeInstanceOf(Token);
    expect(token.typeid).toBe('Iterator');
    expect(token.id).toBe('7f0a1b2c3e00');
  });
  it('#ERROR KeyError, queue.Empty and a custom exception with state', () => {
    const ke = errorFromException(parseReply(codec.decode(hex('error_keyerror'))).value);
    expect(ke).toBeInstanceOf(RemoteError);
    expect([ke.type, ke.module, ke.args]).toEqual(['KeyError', 'builtins', ['zz']]);
    expect(ke.message).toBe("KeyError: 'zz'"); // KeyError.__str__ is the repr of its key
    const empty = errorFromException(parseReply(codec.decode(hex('error_empty'))).value);
    expect([empty.type, empty.module, empty.args]).toEqual(['Empty', '_queue', []]);
    const custom = errorFromException(parseReply(codec.decode(hex('error_custom'))).value);
    expect([custom.type, custom.module, custom.args]).toEqual(['CustomError', '__main__', ['boom']]);
    expect((custom.cause as PyObject).state).toEqual({ code: 7 });
  });
  it('an xmlrpclib #ERROR struct still becomes a RemoteError', () => {
    const e = errorFromException({ args: ['k'] });
    expect(e).toBeInstanceOf(RemoteError);
    expect(e.type).toBeUndefined();
  });
  it('#TRACEBACK and #UNSERIALIZABLE keep the text', () => {
    const r = parseReply(codec.decode(hex('traceback')));
    const e = errorFromTraceback(r.kind, r.value);
    expect(e.message).toBe("KeyError: 'nope'");
    expect(e.traceback).toContain('Traceback');
    expect(errorFromTraceback('#UNSERIALIZABLE', 'Traceback\nTypeError: x\n').message).toBe('Unserializable message: TypeError: x');
  });
  it('a chained traceback names the first exception; notes are skipped', () => {
    const tb = "Traceback:\nAttributeError: method 'x' is not exposed\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback:\nKeyError: 'x'\n";
    expect(lastLine(tb)).toBe("AttributeError: method 'x' is not exposed");
    expect(lastLine('Traceback:\n  File "a"\n_pickle.PicklingError: cannot\nwhen serializing tuple item 1\n')).toBe('_pickle.PicklingError: cannot');
  });
  it("a chained traceback is split where the regex split it, in linear time (a hostile server's 100,000 newlines took ~15 s)", () => {
    const DURING = 'During handling of the above exception, another exception occurred:';
    const byRegex = (t: string): string => (t.split(/\n\s*During handling of the above exception, another exception occurred:\s*\n/)[0] ?? t).trimEnd();
    const parts = ['\n', ' ', '\t', '\r\n', '\u2028', 'x', 'KeyError: a', DURING, 'Traceback:'];
    // Every text of up to 4 parts: the same first exception as with the regex.
    const texts: string[] = [''];
    for (let n = 0; n < 4; n++) for (const t of texts.splice(0)) for (const p of parts) texts.push(t + p);
    for (const t of texts) {
      const end = `${t}\nValueError: b\n`;
      expect(lastLine(end), JSON.stringify(end)).toBe(lastLine(`${byRegex(end)}\n`));
    }
    expect(lastLine(`A: 1\n \t\n${DURING} \n B: 2`)).toBe('A: 1');
    expect(lastLine(`A: 1\n${DURING}B: 2\nC: 3`)).toBe('C: 3');
    const t0 = performance.now();
    expect(errorFromTraceback('#TRACEBACK', `${'\n'.repeat(100_000)}x`).message).toBe('x');
    expect(lastLine(`${'\n \t'.repeat(30_000)}${DURING} y`)).toBe(`${DURING} y`);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
  it('dict views arrive as builtins.list(...) and decode to arrays', () => {
    expect(parseReply(codec.decode(hex('keys_list'))).value).toEqual(['a', 'b']);
  });
  it('a pickled proxy inside a value goes to the proxy hook', () => {
    const refs: ProxyReference[] = [];
    const r = parseReply(
      codec.decode(hex('rebuild_proxy'), (ref) => {
        refs.push(ref);
        return 'PROXY';
      }),
    );
    expect(r.value).toEqual([1, 'PROXY']);
    expect(refs).toHaveLength(1);
    const ref = refs[0] as ProxyReference;
    expect(ref.func).toEqual(new PyGlobal('multiprocessing.managers', 'DictProxy'));
    expect(ref.token).toMatchObject({ typeid: 'dict', id: '7f0a1b2c3d40' });
    expect(ref.serializer).toBe('pickle');
  });
  it('a malformed reply is a RemoteError', () => {
    expect(() => parseReply(['#RETURN'])).toThrow(RemoteError);
  });
});

describe('proxies sent inside values', () => {
  it('pickle as RebuildProxy(<class>, Token, serializer, kwds) with a tuple address', () => {
    const tok = new Token('dict', ['127.0.0.1', 50000], '7f0a1b2c3d40');
    const red = rebuildProxyReduction(tok, 'pickle', null, 'DictProxy');
    const obj = new (class {
      [pyReduce](): Reduction {
        return red;
      }
    })();
    const back = loads(dumps(obj, { protocol: 4 }), { exact: true }) as PyObject;
    expect(back).toBeInstanceOf(PyObject);
    expect([back.module, back.name]).toEqual(['multiprocessing.managers', 'RebuildProxy']);
    expect(back.args[0]).toEqual(new PyGlobal('multiprocessing.managers', 'DictProxy'));
    const t = back.args[1] as PyObject;
    expect(t.name).toBe('Token');
    expect((t.state as unknown[])[1]).toEqual(['127.0.0.1', 50000]);
    expect((t.state as unknown[])[1]?.constructor.name).toBe('Tuple');
    const auto = rebuildProxyReduction(tok, 'pickle', ['get'], 'AutoProxy');
    expect((auto.args[3] as Map<string, unknown>).get('exposed')).toEqual(['get']);
  });
  it('xmlrpclib codec frames requests as lists', () => {
    const codec = managerCodec('xmlrpclib');
    const xml = Buffer.from(codec.encode(request(null, 'dummy'))).toString('utf8');
    expect(xml).toContain('<string>dummy</string>');
    expect(xml).toContain('<nil/>');
    expect(codec.decode(codec.encode(['#RETURN', null]))).toEqual(['#RETURN', null]);
  });
});

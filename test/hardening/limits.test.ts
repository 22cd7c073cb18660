/**
 * Every decoder limit at limit − 1, limit and limit + 1, with a small configured value and, where
 * it costs little, with the default. The defaults are asserted against the table in SECURITY.md.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE, HANDSHAKE_MAX } from '../../src/auth/handshake.js';
import { AuthenticationError, ProtocolError, UnpicklingError } from '../../src/errors.js';
import { bytesCodec, connect, listen } from '../../src/index.js';
import { type ManagerServer, serveManager } from '../../src/managers/index.js';
import { DEFAULT_LIMITS } from '../../src/pickle/loads.js';
import { loads, dumps, tuple } from '../../src/pickle/index.js';
import { DEFAULT_MAX_MESSAGE_SIZE, FrameDecoder } from '../../src/wire/index.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_INT_DIGITS, DEFAULT_MAX_SIZE, XmlLimitError, loads as xmlLoads, xmlCodec } from '../../src/xmlrpc/index.js';
import { frame, rawConnect, splitFrames } from './helpers.js';

const P = (s: string): Buffer => Buffer.from(s, 'latin1');
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Expect `run` to throw an UnpicklingError whose message names `limit`. */
function refused(run: () => unknown, limit: string): void {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UnpicklingError);
  expect((err as Error).message).toContain(limit);
  expect((err as UnpicklingError).truncated).toBe(false);
}

/** The three boundary cases of one limit. */
function boundary(limit: number, make: (n: number) => () => unknown, name: string): void {
  expect(make(limit - 1)).not.toThrow();
  expect(make(limit)).not.toThrow();
  refused(make(limit + 1), name);
}

describe('SECURITY.md documents the defaults the code uses', () => {
  it('the limits table matches the constants', () => {
    const doc = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8');
    const row = (scope: string, option: string): string => doc.split('\n').find((l) => l.startsWith(`| ${scope}`) && l.includes(`\`${option}\``)) ?? '';
    const value = (shown: string): number => {
      const t = shown.replace(/[ ,]/g, '');
      if (t === '2³¹−1') return 2 ** 31 - 1;
      const m = /^(\d+)(MiB|GiB|s)?$/.exec(t);
      if (!m) throw new Error(`cannot read ${shown}`);
      return Number(m[1]) * (m[2] === 'MiB' ? 2 ** 20 : m[2] === 'GiB' ? 2 ** 30 : m[2] === 's' ? 1000 : 1);
    };
    const expectRow = (scope: string, option: string, actual: number, shown: string): void => {
      expect(row(scope, option)).toContain(`| ${shown} |`);
      expect(actual).toBe(value(shown));
    };
    expectRow('pickle', 'maxDepth', DEFAULT_LIMITS.maxDepth, '100,000');
    expectRow('pickle', 'maxMemo', DEFAULT_LIMITS.maxMemo, '10,000,000');
    expectRow('pickle', 'maxIntDigits', DEFAULT_LIMITS.maxIntDigits, '1,000,000');
    expectRow('pickle', 'maxIntBytes', DEFAULT_LIMITS.maxIntBytes, '16 MiB');
    expectRow('pickle', 'maxLength', DEFAULT_LIMITS.maxLength, '2³¹−1');
    expectRow('wire', 'maxMessageSize', DEFAULT_MAX_MESSAGE_SIZE, '1 GiB');
    expectRow('handshake', 'HANDSHAKE_MAX', HANDSHAKE_MAX, '256');
    expectRow('handshake', 'handshakeTimeout', 20_000, '20 s');
    expectRow('manager', 'maxMessageSize', DEFAULT_MAX_MESSAGE_SIZE, '1 GiB');
    expectRow('XML-RPC', 'maxSize', DEFAULT_MAX_SIZE, '64 MiB');
    expectRow('XML-RPC', 'maxDepth', DEFAULT_MAX_DEPTH, '2048');
    expectRow('XML-RPC', 'maxIntDigits', DEFAULT_MAX_INT_DIGITS, '4300');
  });
});

describe('pickle limits', () => {
  const nested = (n: number): Buffer => P('('.repeat(n) + 't'.repeat(n) + '.');
  it('maxDepth (MARK nesting): configured', () => {
    boundary(50, (n) => () => loads(nested(n), { maxDepth: 50 }), 'maxDepth');
  });
  it('maxDepth: default 100,000', () => {
    boundary(DEFAULT_LIMITS.maxDepth, (n) => () => loads(nested(n)), 'maxDepth');
  });

  const memoized = (n: number): Buffer => Buffer.concat([Buffer.from([0x80, 4, 0x4e]), Buffer.alloc(n, 0x94), P('.')]);
  it('maxMemo: configured (MEMOIZE, BINPUT, LONG_BINPUT, PUT count distinct entries)', () => {
    boundary(100, (n) => () => loads(memoized(n), { maxMemo: 100 }), 'maxMemo');
    const puts = (n: number): Buffer => P('N' + Array.from({ length: n }, (_, i) => `p${i}\n`).join('') + '.');
    boundary(100, (n) => () => loads(puts(n), { maxMemo: 100 }), 'maxMemo');
    const longPuts = (n: number): Buffer => Buffer.concat([P('N'), ...Array.from({ length: n }, (_, i) => Buffer.from([0x72, i & 255, (i >> 8) & 255, 0, 0x40])), P('.')]);
    boundary(100, (n) => () => loads(longPuts(n), { maxMemo: 100 }), 'maxMemo');
    // Overwriting one entry does not count again.
    expect(() => loads(P('N' + 'q\x00'.repeat(500) + '.'), { maxMemo: 1 })).not.toThrow();
  });
  it('maxMemo: default 10,000,000', () => {
    expect(() => loads(memoized(DEFAULT_LIMITS.maxMemo))).not.toThrow();
    refused(() => loads(memoized(DEFAULT_LIMITS.maxMemo + 1)), 'maxMemo');
  });

  it('maxLength: every sized str/bytes opcode, configured', () => {
    const L = 20;
    const u32 = (n: number): Buffer => Buffer.from([n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24]);
    const u64 = (n: number): Buffer => Buffer.concat([u32(n), Buffer.alloc(4)]);
    const forms: Array<[string, (n: number) => Buffer]> = [
      ['SHORT_BINUNICODE', (n) => Buffer.concat([Buffer.from([0x8c, n]), Buffer.alloc(n, 0x61)])],
      ['BINUNICODE', (n) => Buffer.concat([P('X'), u32(n), Buffer.alloc(n, 0x61)])],
      ['BINUNICODE8', (n) => Buffer.concat([Buffer.from([0x8d]), u64(n), Buffer.alloc(n, 0x61)])],
      ['SHORT_BINBYTES', (n) => Buffer.concat([P('C'), Buffer.from([n]), Buffer.alloc(n)])],
      ['BINBYTES', (n) => Buffer.concat([P('B'), u32(n), Buffer.alloc(n)])],
      ['BINBYTES8', (n) => Buffer.concat([Buffer.from([0x8e]), u64(n), Buffer.alloc(n)])],
      ['BYTEARRAY8', (n) => Buffer.concat([Buffer.from([0x96]), u64(n), Buffer.alloc(n)])],
      ['SHORT_BINSTRING', (n) => Buffer.concat([P('U'), Buffer.from([n]), Buffer.alloc(n, 0x61)])],
      ['BINSTRING', (n) => Buffer.concat([P('T'), u32(n), Buffer.alloc(n, 0x61)])],
    ];
    for (const [, make] of forms) {
      boundary(L, (n) => () => loads(Buffer.concat([Buffer.from([0x80, 5]), make(n), P('.')]), { maxLength: L }), 'maxLength');
    }
  });
  it('maxLength: default 2³¹−1, checked from the length before reading (or allocating) the data', () => {
    const head = (n: number): Buffer => {
      const b = Buffer.alloc(9);
      b[0] = 0x8d; // BINUNICODE8
      b.writeBigUInt64LE(BigInt(n), 1);
      return b;
    };
    for (const n of [DEFAULT_LIMITS.maxLength - 1, DEFAULT_LIMITS.maxLength]) {
      try {
        loads(head(n));
        throw new Error('unreachable');
      } catch (e) {
        expect((e as UnpicklingError).truncated).toBe(true); // within the limit: only the data is missing
      }
    }
    refused(() => loads(head(DEFAULT_LIMITS.maxLength + 1)), 'maxLength');
  });

  it('maxIntDigits: INT and LONG text opcodes, configured', () => {
    boundary(30, (n) => () => loads(P(`I${'7'.repeat(n)}\n.`), { maxIntDigits: 30 }), 'maxIntDigits');
    boundary(30, (n) => () => loads(P(`L-${'7'.repeat(n)}L\n.`), { maxIntDigits: 30 }), 'maxIntDigits');
  });
  it('maxIntDigits: default 1,000,000', () => {
    boundary(DEFAULT_LIMITS.maxIntDigits, (n) => () => loads(P(`L${'9'.repeat(n)}L\n.`)), 'maxIntDigits');
  });

  it('maxIntBytes: LONG1 and LONG4, configured', () => {
    const long1 = (n: number): Buffer => Buffer.concat([Buffer.from([0x80, 2, 0x8a, n]), Buffer.alloc(n, 1), P('.')]);
    const long4 = (n: number): Buffer => {
      const h = Buffer.from([0x80, 2, 0x8b, 0, 0, 0, 0]);
      h.writeInt32LE(n, 3);
      return Buffer.concat([h, Buffer.alloc(n, 1), P('.')]);
    };
    boundary(40, (n) => () => loads(long1(n), { maxIntBytes: 40 }), 'maxIntBytes');
    boundary(40, (n) => () => loads(long4(n), { maxIntBytes: 40 }), 'maxIntBytes');
  });
  it('maxIntBytes: default 16 MiB (over the limit is refused before reading the bytes)', () => {
    const long4 = (n: number, body: boolean): Buffer => {
      const h = Buffer.from([0x8b, 0, 0, 0, 0]);
      h.writeInt32LE(n, 1);
      return body ? Buffer.concat([h, Buffer.alloc(n, 1), P('.')]) : h;
    };
    expect(() => loads(long4(DEFAULT_LIMITS.maxIntBytes, true))).not.toThrow();
    refused(() => loads(long4(DEFAULT_LIMITS.maxIntBytes + 1, false)), 'maxIntBytes');
  });
});

describe('frame size limits', () => {
  const header = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  it('FrameDecoder maxMessageSize: configured, refused from the header before any payload byte', () => {
    for (const n of [99, 100]) {
      const out: Buffer[] = [];
      const d = new FrameDecoder((f) => out.push(f), { maxMessageSize: 100 });
      d.push(Buffer.concat([header(n), Buffer.alloc(n)]));
      expect(out[0]?.length).toBe(n);
    }
    const d = new FrameDecoder(() => undefined, { maxMessageSize: 100 });
    expect(() => d.push(header(101))).toThrow(ProtocolError);
    expect(d.pendingBytes).toBe(0);
  });
  it('maxMessageSize: the 1 GiB default of connections', () => {
    for (const n of [DEFAULT_MAX_MESSAGE_SIZE - 1, DEFAULT_MAX_MESSAGE_SIZE]) {
      const d = new FrameDecoder(() => undefined, { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE });
      d.push(header(n));
      expect(d.currentLength).toBe(n);
    }
    const d = new FrameDecoder(() => undefined, { maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE });
    expect(() => d.push(header(DEFAULT_MAX_MESSAGE_SIZE + 1))).toThrow(/bad message length/);
  });
  it('a listening connection with maxMessageSize 1000 takes 999 and 1000 bytes and refuses 1001', async () => {
    const listener = await listen(['127.0.0.1', 0], { maxMessageSize: 1000, codec: bytesCodec });
    cleanups.push(() => listener.close());
    const raw = await rawConnect(listener.address);
    const conn = await listener.accept();
    cleanups.push(() => conn.close());
    raw.socket.write(Buffer.concat([frame(Buffer.alloc(999)), frame(Buffer.alloc(1000)), header(1001)]));
    expect((await conn.recvBytes()).length).toBe(999);
    expect((await conn.recvBytes()).length).toBe(1000);
    await expect(conn.recvBytes()).rejects.toBeInstanceOf(ProtocolError);
    expect(conn.readable).toBe(false);
    raw.socket.destroy();
  });
});

describe('handshake message limit (256 bytes, as CPython reads them)', () => {
  it.each([HANDSHAKE_MAX - 1, HANDSHAKE_MAX, HANDSHAKE_MAX + 1])('an answer of %i bytes', async (n) => {
    const listener = await listen(['127.0.0.1', 0], { authkey: 'k' });
    cleanups.push(() => listener.close());
    const accepted = listener.accept().then(
      () => undefined,
      (e: unknown) => e,
    );
    const raw = await rawConnect(listener.address);
    raw.socket.write(frame(Buffer.alloc(n, 0x41)));
    const { data } = await raw.closed;
    const { frames } = splitFrames(data);
    const err = await accepted;
    if (n <= HANDSHAKE_MAX) {
      // Read and checked: a wrong digest, answered with #FAILURE#.
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(frames[1]?.equals(FAILURE)).toBe(true);
    } else {
      // Refused from its header: no #FAILURE#, the connection is dropped.
      expect(err).toBeInstanceOf(ProtocolError);
      expect(frames.length).toBe(1);
    }
  });

  it('handshakeTimeout: a silent client is dropped at the deadline; a prompt one is served', async () => {
    const listener = await listen(['127.0.0.1', 0], { authkey: 'k', handshakeTimeout: 300 });
    cleanups.push(() => listener.close());
    const t0 = Date.now();
    const raw = await rawConnect(listener.address);
    await expect(listener.accept()).rejects.toThrow(/timed out/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect((await raw.closed).closedByPeer).toBe(true);
    const [c, s] = await Promise.all([connect(listener.address, { authkey: 'k' }), listener.accept()]);
    c.close();
    s.close();
  });
});

describe('XML-RPC limits', () => {
  const doc = (inner: string): string => `<params><param><value>${inner}</value></param></params>`;
  it('maxSize: configured, for strings and bytes', () => {
    const base = doc('<string></string>');
    const sized = (n: number): string => base.replace('<string></string>', `<string>${'x'.repeat(n - base.length)}</string>`);
    for (const n of [base.length + 99, base.length + 100]) {
      expect(xmlLoads(sized(n), { maxSize: base.length + 100 })[0][0]).toBe('x'.repeat(n - base.length));
      expect(() => xmlLoads(Buffer.from(sized(n)), { maxSize: base.length + 100 })).not.toThrow();
    }
    expect(() => xmlLoads(sized(base.length + 101), { maxSize: base.length + 100 })).toThrow(XmlLimitError);
    expect(() => xmlLoads(Buffer.from(sized(base.length + 101)), { maxSize: base.length + 100 })).toThrow(XmlLimitError);
  });
  it('maxSize: default 64 MiB is refused before parsing', () => {
    const big = ' '.repeat(DEFAULT_MAX_SIZE + 1);
    const t0 = Date.now();
    expect(() => xmlLoads(big)).toThrow(XmlLimitError);
    expect(Date.now() - t0).toBeLessThan(1000);
    // At the limit the size check passes (and the parser reports the real problem).
    expect(() => xmlLoads(' '.repeat(DEFAULT_MAX_SIZE))).toThrow(/not an XML-RPC|no root|Document|root/i);
  });

  /** A valid document whose element nesting is exactly `d` (d ≥ 3). */
  function deep(d: number): string {
    let k = Math.floor((d - 3) / 3);
    let rest = d - 3 - 3 * k;
    let inner = 'x';
    if (rest === 1) inner = '<string>x</string>';
    let wrap = false;
    if (rest === 2) {
      inner = '<string>x</string>';
      wrap = true;
    }
    let v = inner;
    while (k-- > 0) v = `<array><data><value>${v}</value></data></array>`;
    const body = doc(v);
    rest = 0;
    return wrap ? `<methodResponse>${body}</methodResponse>` : body;
  }
  it('maxDepth: configured, at every residue', () => {
    for (const limit of [30, 31, 32]) {
      expect(() => xmlLoads(deep(limit - 1), { maxDepth: limit })).not.toThrow();
      expect(() => xmlLoads(deep(limit), { maxDepth: limit })).not.toThrow();
      expect(() => xmlLoads(deep(limit + 1), { maxDepth: limit })).toThrow(XmlLimitError);
    }
  });
  it('maxDepth: default 2048', () => {
    expect(() => xmlLoads(deep(DEFAULT_MAX_DEPTH - 1))).not.toThrow();
    expect(() => xmlLoads(deep(DEFAULT_MAX_DEPTH))).not.toThrow();
    expect(() => xmlLoads(deep(DEFAULT_MAX_DEPTH + 1))).toThrow(XmlLimitError);
  });

  it('maxIntDigits: default 4300 (CPython 3.11+), configured, through the codec too', () => {
    const n = (d: number, sign = ''): string => doc(`<int>${sign}${'7'.repeat(d)}</int>`);
    expect(xmlLoads(n(DEFAULT_MAX_INT_DIGITS - 1))[0][0]).toBe(BigInt('7'.repeat(DEFAULT_MAX_INT_DIGITS - 1)));
    expect(() => xmlLoads(n(DEFAULT_MAX_INT_DIGITS, '-'))).not.toThrow();
    expect(() => xmlLoads(doc(`<i8> ${'7'.repeat(DEFAULT_MAX_INT_DIGITS)} </i8>`))).not.toThrow();
    let err: unknown;
    try {
      xmlLoads(n(DEFAULT_MAX_INT_DIGITS + 1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XmlLimitError);
    expect((err as XmlLimitError).reason).toBe('digits');
    expect((err as XmlLimitError).limit).toBe(DEFAULT_MAX_INT_DIGITS);
    expect(() => xmlLoads(n(10), { maxIntDigits: 9 })).toThrow(XmlLimitError);
    expect(() => xmlLoads(n(9), { maxIntDigits: 9 })).not.toThrow();
    expect(() => xmlLoads(doc('<int>1_2_3_4_5_6_7_8_9</int>'), { maxIntDigits: 9 })).not.toThrow();
    expect(() => xmlLoads(n(8), { maxIntDigits: 9 })).not.toThrow();
    expect(() => xmlCodec({ maxIntDigits: 9 }).decode(Buffer.from(n(10)))).toThrow(XmlLimitError);
    expect(xmlCodec({ maxIntDigits: 9 }).decode(Buffer.from(n(9)))).toBe(777777777);
  });
});

describe('manager request size', () => {
  let server: ManagerServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  it('serveManager maxMessageSize: 999 and 1000-byte requests are served, 1001 closes the connection unanswered', async () => {
    server = await serveManager({ address: ['127.0.0.1', 0], authkey: 'k', maxMessageSize: 1000 });
    const request = dumps(tuple(null, 'dummy', tuple(), new Map()), { protocol: 2 });
    for (const size of [999, 1000, 1001]) {
      // Bytes after STOP are ignored by the unpickler, so padding sets the exact frame size.
      const padded = Buffer.concat([request, Buffer.alloc(size - request.length)]);
      const c = await connect(server.address, { authkey: 'k', codec: bytesCodec });
      await c.sendBytes(padded);
      if (size <= 1000) {
        expect(loads(await c.recvBytes())).toEqual(['#RETURN', null]);
      } else {
        await expect(c.recvBytes(undefined, { timeout: 5000 })).rejects.toThrow();
      }
      c.close();
    }
  });
});

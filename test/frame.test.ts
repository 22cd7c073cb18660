import { describe, expect, it } from 'vitest';
import { EOFError, ProtocolError } from '../src/errors.js';
import { COPY_THRESHOLD, FrameDecoder, encodeFrame, headerLength, writeHeader } from '../src/wire/frame.js';

function frames(...payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.flatMap((p) => encodeFrame(p)));
}

function decodeAll(stream: Buffer, cuts: number[], options = {}): Buffer[] {
  const out: Buffer[] = [];
  const d = new FrameDecoder((f) => out.push(Buffer.from(f)), options);
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    d.push(stream.subarray(prev, c));
    prev = c;
  }
  expect(d.end()).toBeInstanceOf(EOFError);
  return out;
}

function expectFrames(got: Buffer[], want: Buffer[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g.equals(want[i] as Buffer), `frame ${i}`).toBe(true));
}

const PAYLOADS = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from([0xff, 0, 1]), Buffer.alloc(1500, 0xab), Buffer.from('z')];
const BIG = [Buffer.from('x'), Buffer.alloc(70_000, 0xcd), Buffer.alloc(0), Buffer.alloc(20_000, 1)];

describe('encodeFrame', () => {
  it('writes the CPython header bytes', () => {
    expect(Buffer.concat(encodeFrame(Buffer.from('hello'))).toString('hex')).toBe('0000000568656c6c6f');
    expect(Buffer.concat(encodeFrame(Buffer.alloc(0))).toString('hex')).toBe('00000000');
  });
  it('joins small payloads into one buffer and keeps large ones uncopied', () => {
    expect(encodeFrame(Buffer.alloc(COPY_THRESHOLD))).toHaveLength(1);
    const big = Buffer.alloc(COPY_THRESHOLD + 1);
    const parts = encodeFrame(big);
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(big);
  });
  it('uses the -1 + 8-byte form above 2^31-1', () => {
    expect(headerLength(0x7fffffff)).toBe(4);
    expect(headerLength(0x80000000)).toBe(12);
    const h = Buffer.alloc(12);
    expect(writeHeader(h, 2 ** 31)).toBe(12);
    expect(h.toString('hex')).toBe('ffffffff0000000080000000');
  });
});

describe('FrameDecoder', () => {
  const stream = frames(...PAYLOADS);

  it('joinInPlace off: a huge declared length allocates nothing before its bytes arrive', () => {
    const header = Buffer.alloc(4);
    header.writeInt32BE(64 * 1024 * 1024);
    const grown = (joinInPlace: boolean): number => {
      const d = new FrameDecoder(() => undefined);
      d.joinInPlace = joinInPlace;
      const before = process.memoryUsage().arrayBuffers;
      d.push(Buffer.concat([header, Buffer.from('x')]));
      return process.memoryUsage().arrayBuffers - before;
    };
    // The default allocates the whole payload at its first byte (a bounded 2 GiB receive needs it).
    expect(grown(true)).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(grown(false)).toBeLessThan(1024 * 1024);
  });

  it('joinInPlace switched mid-frame keeps the frame whole and correct either way', () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
    const s = frames(big, Buffer.from('after'));
    for (const [first, then] of [
      [false, true],
      [true, false],
    ]) {
      const out: Buffer[] = [];
      const d = new FrameDecoder((f) => out.push(Buffer.from(f)));
      d.joinInPlace = first as boolean;
      d.push(s.subarray(0, 100_000));
      d.joinInPlace = then as boolean;
      d.push(s.subarray(100_000, 2_000_000));
      d.push(s.subarray(2_000_000));
      expectFrames(out, [big, Buffer.from('after')]);
    }
  });

  it('decodes a stream cut at every single byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const out = decodeAll(stream, [cut]);
      expectFrames(out, PAYLOADS);
    }
  });

  it('decodes byte-by-byte and with random chunk sizes', () => {
    const small = frames(Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 1));
    const cuts = Array.from({ length: small.length - 1 }, (_, i) => i + 1);
    expectFrames(decodeAll(small, cuts), [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 1)]);
    const big = frames(...BIG);
    let seed = 7;
    for (let round = 0; round < 50; round++) {
      const rc: number[] = [];
      let pos = 0;
      while (pos < big.length) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        pos += 1 + (seed % 9000);
        if (pos < big.length) rc.push(pos);
      }
      expectFrames(decodeAll(big, rc), BIG);
    }
  });

  it('delivers a frame inside one chunk as a view of that chunk', () => {
    const chunk = frames(Buffer.from('abcdef'));
    let got: Buffer | undefined;
    new FrameDecoder((f) => (got = f)).push(chunk);
    expect(got?.buffer).toBe(chunk.buffer);
  });

  it('reads the extended header (-1 + u64) split anywhere', () => {
    const ext = Buffer.concat([Buffer.from('ffffffff0000000000000005', 'hex'), Buffer.from('world'), frames(Buffer.from('next'))]);
    for (let cut = 0; cut <= ext.length; cut++) {
      expectFrames(decodeAll(ext, [cut]), [Buffer.from('world'), Buffer.from('next')]);
    }
  });

  it('gives EOFError at a frame boundary and ProtocolError(truncated) at every other offset', () => {
    const one = frames(Buffer.from('0123456789'));
    for (let cut = 0; cut <= one.length; cut++) {
      const d = new FrameDecoder(() => undefined);
      d.push(one.subarray(0, cut));
      const end = d.end();
      if (cut === 0 || cut === one.length) expect(end).toBeInstanceOf(EOFError);
      else {
        expect(end).toBeInstanceOf(ProtocolError);
        expect((end as ProtocolError).reason).toBe('truncated');
      }
    }
  });

  it('refuses negative lengths other than -1', () => {
    for (const hex of ['fffffffe', '80000000']) {
      const d = new FrameDecoder(() => undefined);
      expect(() => d.push(Buffer.from(hex + '00', 'hex'))).toThrow(ProtocolError);
      // the decoder stays failed
      expect(() => d.push(Buffer.from('00000000', 'hex'))).toThrow(/negative/);
    }
  });

  it('checks the declared length against maxMessageSize before buffering (2^62 header)', () => {
    const got: Buffer[] = [];
    const d = new FrameDecoder((f) => got.push(f), { maxMessageSize: 1024 });
    let err: unknown;
    try {
      d.push(Buffer.from('ffffffff4000000000000000', 'hex'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).reason).toBe('bad-length');
    expect(d.pendingBytes).toBe(0);
    // without a limit, a 2^62 header is still refused before buffering: no such buffer can exist
    const unlimited = new FrameDecoder(() => undefined);
    expect(() => unlimited.push(Buffer.from('ffffffff4000000000000000', 'hex'))).toThrow(/bad message length/);
    const ok = new FrameDecoder(() => undefined);
    ok.push(Buffer.from('ffffffff0000000100000000', 'hex'));
    expect(ok.currentLength).toBe(2 ** 32);
    const huge = new FrameDecoder(() => undefined);
    expect(() => huge.push(Buffer.from('ffffffffffffffffffffffff', 'hex'))).toThrow(/bad message length/);
  });

  it('accepts a frame of exactly maxMessageSize and refuses one byte more', () => {
    const got: Buffer[] = [];
    const d = new FrameDecoder((f) => got.push(f), { maxMessageSize: 4 });
    d.push(frames(Buffer.from('abcd')));
    expect(got).toEqual([Buffer.from('abcd')]);
    expect(() => d.push(frames(Buffer.from('abcde')))).toThrow(ProtocolError);
  });

  it('onHeader can refuse a frame before its payload is buffered', () => {
    const d = new FrameDecoder(() => undefined, {
      onHeader: (n) => {
        if (n > 3) throw new ProtocolError('too long', 'bad-length');
      },
    });
    expect(() => d.push(Buffer.from('00000009', 'hex'))).toThrow(/too long/);
  });

  it('discard() drops a partly received frame, header or payload, and starts at a boundary', () => {
    const got: Buffer[] = [];
    const d = new FrameDecoder((f) => got.push(Buffer.from(f)));
    for (const partial of [Buffer.from('0000', 'hex'), frames(Buffer.alloc(2 * 1024 * 1024, 1)).subarray(0, 1000), frames(Buffer.from('abc')).subarray(0, 5)]) {
      d.push(partial);
      expect(d.pendingBytes).toBeGreaterThan(0);
      d.discard();
      expect(d.pendingBytes).toBe(0);
      expect(d.currentLength).toBeUndefined();
      d.push(frames(Buffer.from('next')));
    }
    expect(got.map(String)).toEqual(['next', 'next', 'next']);
    expect(d.end()).toBeInstanceOf(EOFError);
  });
});

/**
 * Large payloads spread over many chunks are copied into one buffer as they arrive
 * (`JOIN_IN_PLACE`, chosen with `bench/soak/big-frame.mjs`) instead of being joined at the end.
 * The result must be byte-identical whatever the chunking, frames around it must be unaffected,
 * and truncation or failure in the middle of such a payload must behave as for small frames.
 */
import { describe, expect, it } from 'vitest';
import { JOIN_IN_PLACE } from '../../src/wire/frame.js';
import { EOFError, FrameDecoder, ProtocolError, encodeFrame } from '../../src/index.js';

function payload(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

function stream(frames: Buffer[]): Buffer {
  return Buffer.concat(frames.flatMap((f) => encodeFrame(f)));
}

function decodeIn(chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  const d = new FrameDecoder((f) => out.push(Buffer.from(f)));
  for (const c of chunks) d.push(c);
  expect(d.end()).toBeInstanceOf(EOFError);
  return out;
}

function cut(data: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const n = sizes[i % sizes.length] as number;
    chunks.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return chunks;
}

describe('payloads of JOIN_IN_PLACE bytes and more', () => {
  const frames = [payload(10, 1), payload(JOIN_IN_PLACE, 2), payload(3, 3), payload(JOIN_IN_PLACE * 2 + 12345, 4), payload(0, 5), payload(70_000, 6)];
  const data = stream(frames);

  for (const sizes of [[65536], [1], [7, 65536, 3], [JOIN_IN_PLACE - 1], [JOIN_IN_PLACE + 5, 2], [data.length]]) {
    it(`decode identically in chunks of ${sizes.map((s) => (s === 1 ? '1' : String(s))).join('/')} bytes`, () => {
      // Splitting a 3 MiB stream into single bytes would take long: use 1-byte chunks only around frame edges.
      const chunks = sizes[0] === 1 ? [...cut(data.subarray(0, 40), [1]), data.subarray(40, data.length - 40), ...cut(data.subarray(data.length - 40), [1])] : cut(data, sizes);
      const out = decodeIn(chunks);
      expect(out.length).toBe(frames.length);
      out.forEach((f, i) => expect(f.equals(frames[i] as Buffer), `frame ${i}`).toBe(true));
    });
  }

  it('a stream cut inside such a payload ends as truncated, with the bytes so far pending', () => {
    const d = new FrameDecoder(() => undefined);
    const big = stream([payload(JOIN_IN_PLACE * 2, 9)]);
    d.push(big.subarray(0, 100));
    d.push(big.subarray(100, JOIN_IN_PLACE));
    expect(d.pendingBytes).toBe(JOIN_IN_PLACE - 4);
    expect(d.currentLength).toBe(JOIN_IN_PLACE * 2);
    const e = d.end();
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).reason).toBe('truncated');
  });

  it('a decoder failed in the middle of such a payload drops it and refuses input', () => {
    const d = new FrameDecoder(() => undefined);
    const big = stream([payload(JOIN_IN_PLACE * 2, 9)]);
    d.push(big.subarray(0, 1000));
    const err = new ProtocolError('stop', 'bad-length');
    d.fail(err);
    expect(d.pendingBytes).toBe(0);
    expect(() => d.push(big.subarray(1000, 2000))).toThrow(err);
  });
});

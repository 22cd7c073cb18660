/**
 * Fuzzer of the frame decoder (src/wire/frame.ts): valid streams cut anywhere, random bytes,
 * mutated streams of valid frames and extended (12-byte) headers only ever give the frames that
 * were sent, or a ProtocolError, and never buffer more than was pushed. (Moved here from
 * test/fuzz-wire.test.ts, which also held the handshake fuzzer, now test/fuzz/handshake.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EOFError, MpwireError, ProtocolError } from '../../src/errors.js';
import { FrameDecoder, encodeFrame } from '../../src/wire/frame.js';
import { FUZZ_TIMEOUT, reportInputs, runs, tried } from './budget.js';

reportInputs('frame');

/** Push `chunks` into a fresh decoder; returns the frames or the first error thrown. */
function feed(chunks: Uint8Array[], maxMessageSize?: number): { frames: Buffer[]; error: unknown; pushed: number; pending: number; end: MpwireError } {
  const frames: Buffer[] = [];
  const d = new FrameDecoder((f) => frames.push(Buffer.from(f)), maxMessageSize === undefined ? {} : { maxMessageSize });
  let pushed = 0;
  let error: unknown;
  for (const c of chunks) {
    pushed += c.length;
    try {
      d.push(Buffer.from(c));
    } catch (e) {
      error = e;
      break;
    }
  }
  return { frames, error, pushed, pending: d.pendingBytes, end: d.end() };
}

describe('FrameDecoder fuzz', () => {
  it(
    'valid frames cut into arbitrary chunks decode to the same payloads',
    () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), fc.array(fc.nat(4000), { maxLength: 10 }), (payloads, cuts) => {
          tried('valid-split');
          const stream = Buffer.concat(payloads.flatMap((p) => encodeFrame(p)));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const c of [...points, stream.length]) {
            chunks.push(stream.subarray(prev, c));
            prev = c;
          }
          const r = feed(chunks);
          expect(r.error).toBeUndefined();
          expect(r.frames.length).toBe(payloads.length);
          r.frames.forEach((f, i) => expect(f.equals(Buffer.from(payloads[i] as Uint8Array))).toBe(true));
          expect(r.pending).toBe(0);
          expect(r.end).toBeInstanceOf(EOFError);
        }),
        { numRuns: runs(1) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'random bytes give frames or a ProtocolError, and never buffer more than was pushed',
    () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), fc.integer({ min: 0, max: 1 << 20 }), (chunks, limit) => {
          tried('random');
          const r = feed(chunks, limit);
          if (r.error !== undefined) expect(r.error).toBeInstanceOf(ProtocolError);
          const delivered = r.frames.reduce((n, f) => n + f.length + 4, 0);
          expect(r.pending + delivered).toBeLessThanOrEqual(r.pushed);
          for (const f of r.frames) expect(f.length).toBeLessThanOrEqual(limit);
          expect(r.end).toBeInstanceOf(MpwireError);
        }),
        { numRuns: runs(3) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'mutated streams of valid frames: a prefix of the frames, then at most a ProtocolError',
    () => {
      const mutation = fc.record({
        at: fc.nat(),
        kind: fc.constantFrom('flip', 'set', 'delete', 'insert'),
        byte: fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0x01),
        bit: fc.integer({ min: 0, max: 7 }),
      });
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { minLength: 1, maxLength: 6 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 64 }), (payloads, muts, chunk) => {
          tried('mutated');
          const bytes = [...Buffer.concat(payloads.flatMap((p) => encodeFrame(p)))];
          let first = bytes.length;
          for (const m of muts) {
            const i = bytes.length === 0 ? 0 : m.at % bytes.length;
            first = Math.min(first, i);
            if (m.kind === 'flip' && bytes.length > 0) bytes[i] = (bytes[i] as number) ^ (1 << m.bit);
            else if (m.kind === 'set' && bytes.length > 0) bytes[i] = m.byte;
            else if (m.kind === 'delete') bytes.splice(i, 1);
            else bytes.splice(i, 0, m.byte);
          }
          const stream = Buffer.from(bytes);
          const chunks: Buffer[] = [];
          for (let p = 0; p < stream.length; p += chunk) chunks.push(stream.subarray(p, p + chunk));
          const r = feed(chunks, 1 << 16);
          if (r.error !== undefined) expect(r.error).toBeInstanceOf(ProtocolError);
          expect(r.pending).toBeLessThanOrEqual(stream.length);
          // Frames before the first mutated byte come out unchanged.
          let off = 0;
          for (let i = 0; i < payloads.length && i < r.frames.length; i++) {
            const p = payloads[i] as Uint8Array;
            if (off + 4 + p.length > first) break;
            expect(Buffer.compare(r.frames[i] as Buffer, p)).toBe(0);
            off += 4 + p.length;
          }
        }),
        { numRuns: runs(2) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'extended headers (ffffffff + 64-bit length) are checked against the limit before buffering',
    () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 0, max: 4096 }), fc.uint8Array({ maxLength: 200 }), (len, limit, body) => {
          tried('extended-header');
          const head = Buffer.alloc(12);
          head.writeInt32BE(-1, 0);
          head.writeBigUInt64BE(len, 4);
          const r = feed([head, body], limit);
          if (len > BigInt(limit)) {
            expect(r.error).toBeInstanceOf(ProtocolError);
            expect(r.frames.length).toBe(0);
            expect(r.pending).toBe(0);
          } else {
            expect(r.error === undefined || r.error instanceof ProtocolError).toBe(true);
            if (BigInt(body.length) >= len) expect(r.frames[0]?.length).toBe(Number(len));
          }
        }),
        { numRuns: runs(1) },
      );
    },
    FUZZ_TIMEOUT,
  );
});

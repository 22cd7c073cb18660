/**
 * Property tests (fast-check) for the wire layer: arbitrary byte streams and handshake messages
 * only ever produce frames or mpwire's typed errors, and never authenticate without the key.
 * The long run is `MPWIRE_FUZZ_RUNS=100000 npx vitest run test/fuzz-wire.test.ts`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serverHandshake, clientHandshake, type FrameIO } from '../src/auth/handshake.js';
import { MpwireError, ProtocolError } from '../src/errors.js';
import { FrameDecoder, encodeFrame } from '../src/wire/frame.js';

const RUNS = Number(process.env.MPWIRE_FUZZ_RUNS ?? 300);

describe('FrameDecoder fuzz', () => {
  it('valid frames cut into arbitrary chunks decode to the same payloads', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }), fc.array(fc.nat(4000), { maxLength: 10 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.flatMap((p) => encodeFrame(p)));
        const out: Buffer[] = [];
        const d = new FrameDecoder((f) => out.push(Buffer.from(f)));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        let prev = 0;
        for (const c of [...points, stream.length]) {
          d.push(stream.subarray(prev, c));
          prev = c;
        }
        expect(out.length).toBe(payloads.length);
        out.forEach((f, i) => expect(f.equals(Buffer.from(payloads[i] as Uint8Array))).toBe(true));
        expect(d.pendingBytes).toBe(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes give frames or a ProtocolError, and never buffer more than was pushed', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), fc.integer({ min: 0, max: 1 << 20 }), (chunks, limit) => {
        let delivered = 0;
        const d = new FrameDecoder((f) => (delivered += f.length), { maxMessageSize: limit });
        let pushed = 0;
        for (const c of chunks) {
          pushed += c.length;
          try {
            d.push(Buffer.from(c));
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
            return;
          }
          expect(d.pendingBytes + delivered).toBeLessThanOrEqual(pushed);
        }
        expect(d.end()).toBeInstanceOf(MpwireError);
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

/** A FrameIO that answers the handshake with scripted (fuzzed) frames. */
function scripted(replies: Uint8Array[]): FrameIO & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  let i = 0;
  return {
    sent,
    async sendFrame(f) {
      sent.push(Buffer.from(f));
    },
    async recvFrame(max) {
      const r = replies[i++];
      if (r === undefined) throw new ProtocolError('got end of file during message', 'truncated');
      if (r.length > max) throw new ProtocolError('bad message length', 'bad-length');
      return Buffer.from(r);
    },
  };
}

describe('handshake fuzz', () => {
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.concat([Buffer.from('#CHALLENGE#'), b])),
    fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.concat([Buffer.from('{sha256}'), b])),
    fc.constantFrom(Buffer.from('#WELCOME#'), Buffer.from('#FAILURE#'), Buffer.alloc(16), Buffer.alloc(32)),
  );

  it('a server never accepts a client that does not know the key, and fails only with typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 4 }), async (replies) => {
        const io = scripted(replies);
        await expect(serverHandshake(io, 'the-key')).rejects.toBeInstanceOf(MpwireError);
      }),
      { numRuns: RUNS },
    );
  });

  it('a client fails only with typed errors against arbitrary servers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 4 }), fc.constantFrom('legacy-md5', 'rhel-sha256') as fc.Arbitrary<'legacy-md5' | 'rhel-sha256'>, async (replies, bare) => {
        const io = scripted(replies);
        await expect(clientHandshake(io, 'the-key', bare)).rejects.toBeInstanceOf(MpwireError);
      }),
      { numRuns: RUNS },
    );
  });
});

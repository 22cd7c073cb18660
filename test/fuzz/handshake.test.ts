/**
 * Fuzzer of the HMAC handshake (src/auth/handshake.ts): a server never welcomes a peer that does
 * not know the key, whatever it sends; a client fails only with typed errors against arbitrary
 * servers; a recorded valid transcript with any byte changed is refused.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FrameIO, WELCOME, clientHandshake, serverHandshake } from '../../src/auth/handshake.js';
import { MpwireError, ProtocolError } from '../../src/errors.js';
import { FUZZ_TIMEOUT, reportInputs, runs, tried } from './budget.js';

reportInputs('handshake');

const KEY = 'the-key';

/** A FrameIO that answers with scripted (fuzzed) frames and records what it was sent. */
function scripted(replies: readonly Uint8Array[] | ((sent: Buffer[]) => Uint8Array | undefined)): FrameIO & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  let i = 0;
  return {
    sent,
    async sendFrame(f) {
      sent.push(Buffer.from(f));
    },
    async recvFrame(max) {
      const r = typeof replies === 'function' ? replies(sent) : replies[i++];
      if (r === undefined) throw new ProtocolError('got end of file during message', 'truncated');
      if (r.length > max) throw new ProtocolError('bad message length', 'bad-length');
      return Buffer.from(r);
    },
  };
}

const digestNames = ['md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384', 'SHA256', 'sha1', '', 'sha256}', 'x'.repeat(9)];

/** Messages shaped like handshake messages: prefixes, digest names, MAC-sized noise. */
const message = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.concat([Buffer.from('#CHALLENGE#'), b])),
  fc.tuple(fc.constantFrom(...digestNames), fc.uint8Array({ maxLength: 64 })).map(([d, b]) => Buffer.concat([Buffer.from(`{${d}}`), b])),
  fc.constantFrom(16, 20, 32, 48, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
  fc.constantFrom(Buffer.from('#WELCOME#'), Buffer.from('#FAILURE#'), Buffer.alloc(16), Buffer.alloc(32), Buffer.alloc(0), Buffer.from('#welcome#')),
);

describe('handshake fuzz', () => {
  it(
    'a server never welcomes a client that does not know the key, and fails only with typed errors',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(message, { maxLength: 4 }), async (replies) => {
          tried('server-random');
          const io = scripted(replies);
          await expect(serverHandshake(io, KEY)).rejects.toBeInstanceOf(MpwireError);
          expect(io.sent.some((f) => f.equals(WELCOME))).toBe(false);
        }),
        { numRuns: runs(2) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'a server refuses answers computed with a wrong key, in every dialect and digest',
    async () => {
      const wrongMac = fc.record({
        key: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('the-kez'), fc.constant('the-key ')),
        form: fc.constantFrom('modern-sha256', 'modern-md5', 'modern-sha3_384', 'legacy-md5', 'rhel-sha256'),
      });
      await fc.assert(
        fc.asyncProperty(wrongMac, async ({ key, form }) => {
          fc.pre(key !== KEY);
          tried('server-wrong-key');
          const io = scripted((sent) => {
            if (sent.length !== 1) return undefined;
            const payload = (sent[0] as Buffer).subarray('#CHALLENGE#'.length);
            const [dialect, digest] = form.split('-') as [string, string];
            const node = digest.replace('_', '-');
            const mac = createHmac(node, key).update(payload).digest();
            return dialect === 'modern' ? Buffer.concat([Buffer.from(`{${digest}}`), mac]) : mac;
          });
          await expect(serverHandshake(io, KEY)).rejects.toBeInstanceOf(MpwireError);
          expect(io.sent.some((f) => f.equals(WELCOME))).toBe(false);
        }),
        { numRuns: runs(1) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'a client fails only with typed errors against arbitrary servers',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(message, { maxLength: 4 }), fc.constantFrom('legacy-md5', 'rhel-sha256') as fc.Arbitrary<'legacy-md5' | 'rhel-sha256'>, async (replies, bare) => {
          tried('client-random');
          const io = scripted(replies);
          await expect(clientHandshake(io, KEY, bare)).rejects.toBeInstanceOf(MpwireError);
        }),
        { numRuns: runs(2) },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    "a valid client transcript with one byte changed is refused (the server's challenge is fresh)",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('legacy-md5', 'rhel-sha256') as fc.Arbitrary<'legacy-md5' | 'rhel-sha256'>, async (at, xor, bare) => {
          tried('server-mutated-answer');
          // A real client answers the server's challenge through a pair of in-memory pipes; its
          // answer (the first frame it sends) is corrupted in flight.
          const toServer: Buffer[] = [];
          const toClient: Buffer[] = [];
          const waiters: Array<() => void> = [];
          const wake = (): void => {
            for (const w of waiters.splice(0)) w();
          };
          let n = 0;
          const pipe = (inbox: Buffer[], outbox: Buffer[], mutate: boolean): FrameIO => ({
            async sendFrame(f) {
              let b = Buffer.from(f);
              if (mutate && n++ === 0) {
                b = Buffer.from(b);
                const i = at % b.length;
                b[i] = (b[i] as number) ^ xor;
              }
              outbox.push(b);
              wake();
            },
            async recvFrame(max) {
              while (inbox.length === 0) await new Promise<void>((r) => waiters.push(r));
              const b = inbox.shift() as Buffer;
              if (b.length > max) throw new ProtocolError('bad message length', 'bad-length');
              return b;
            },
          });
          const server = pipe(toServer, toClient, false);
          const client = pipe(toClient, toServer, true);
          const s = serverHandshake(server, KEY);
          const c = clientHandshake(client, KEY, bare);
          await expect(s).rejects.toBeInstanceOf(MpwireError);
          await expect(c).rejects.toBeInstanceOf(MpwireError);
          expect(toClient.some((f) => f.equals(WELCOME))).toBe(false);
        }),
        { numRuns: runs(1) },
      );
    },
    FUZZ_TIMEOUT,
  );
});

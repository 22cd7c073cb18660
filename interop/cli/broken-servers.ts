/**
 * Deliberately broken TypeScript servers, each with one flaw `mpwire check` must catch.
 */
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import { CHALLENGE, FAILURE, WELCOME, answerFor, verifyAnswer } from '../../src/auth/handshake.js';
import { bytesCodec } from '../../src/codec.js';
import { Connection } from '../../src/wire/index.js';

export type Flaw =
  | 'accepts-wrong-key'
  | 'wrong-round2-answer'
  | 'no-handshake-maxlength'
  | 'truncates-big-frames'
  | 'drops-empty-frames'
  | 'unprefixed-answer-to-prefixed'
  | 'short-challenge';

/** The check rows each flaw must turn to FAIL. */
export const EXPECTED_FAILS: Record<Flaw, RegExp> = {
  'accepts-wrong-key': /^wrong key gets #FAILURE#$/,
  'wrong-round2-answer': /^round 2: /,
  'no-handshake-maxlength': /^handshake maxlength/,
  'truncates-big-frames': /^frame (64 KiB|16 MiB)$/,
  'drops-empty-frames': /^frame 0 B$/,
  'unprefixed-answer-to-prefixed': /^round 2: \{/,
  'short-challenge': /^connect and read the greeting$/,
};

export async function startBroken(flaw: Flaw, key: string): Promise<{ address: string; close(): Promise<void> }> {
  const k = Buffer.from(key, 'utf8');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const conn = new Connection(socket, { codec: bytesCodec });
    void (async () => {
      try {
        const payload = Buffer.concat([Buffer.from('{sha256}'), randomBytes(flaw === 'short-challenge' ? 8 : 40)]);
        await conn.sendBytes(Buffer.concat([CHALLENGE, payload]));
        const answer = await conn.recvBytes(flaw === 'no-handshake-maxlength' ? undefined : 256);
        if (!verifyAnswer(k, payload, answer) && flaw !== 'accepts-wrong-key') {
          await conn.sendBytes(FAILURE);
          conn.close();
          return;
        }
        await conn.sendBytes(WELCOME);
        const challenge = (await conn.recvBytes(256)).subarray(CHALLENGE.length);
        let reply = answerFor(k, challenge, 'legacy-md5').answer;
        if (flaw === 'wrong-round2-answer') reply = Buffer.from(reply.map((b, i) => (i === reply.length - 1 ? b ^ 1 : b)));
        if (flaw === 'unprefixed-answer-to-prefixed') reply = createHmac('md5', k).update(challenge).digest();
        await conn.sendBytes(reply);
        if (!(await conn.recvBytes(256)).equals(WELCOME)) throw new Error('rejected');
        for (;;) {
          let frame = await conn.recvBytes();
          if (flaw === 'drops-empty-frames' && frame.length === 0) continue;
          if (flaw === 'truncates-big-frames' && frame.length >= 65536) frame = frame.subarray(0, frame.length - 1);
          await conn.sendBytes(frame);
        }
      } catch {
        conn.destroy();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

import { describe, expect, it } from 'vitest';
import { answerFor, clientHandshake, serverHandshake, splitDigestPrefix, verifyAnswer, type FrameIO } from '../src/auth/handshake.js';
import { AuthenticationError, Pipe, connect, listen } from '../src/index.js';

const KEY = Buffer.from('secret');
const seq = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i));

describe('HMAC vectors from CPython (PROTOCOL.md §3.3)', () => {
  it('legacy and RHEL answers to a bare 20-byte challenge', () => {
    expect(answerFor(KEY, seq(20), 'legacy-md5').answer.toString('hex')).toBe('7defa9cc46abc3583325d17ccda75190');
    expect(answerFor(KEY, seq(20), 'rhel-sha256').answer.toString('hex')).toBe(
      'b1174740e7b0cb10404cb489ff67177be16d36664c30784e83c4a3b9129b1561',
    );
  });
  it('modern answer covers the {sha256} prefix', () => {
    const payload = Buffer.concat([Buffer.from('{sha256}'), seq(40)]);
    const { answer, dialect, digest } = answerFor(KEY, payload, 'legacy-md5');
    expect(dialect).toBe('modern');
    expect(digest).toBe('sha256');
    expect(answer.toString('hex')).toBe('7b7368613235367d' + 'fc57fbe650d6124b98215e7b5d197d5807ad69982d275a9735ea2d56f1fa6989');
  });
  it('classifies every dialect of answer to a modern challenge', () => {
    const payload = Buffer.concat([Buffer.from('{sha256}'), seq(40)]);
    expect(verifyAnswer(KEY, payload, Buffer.from('8e48d2bb349b4b72b9382999ed5b62eb', 'hex'))).toEqual({ dialect: 'legacy-md5', digest: 'md5' });
    expect(verifyAnswer(KEY, payload, answerFor(KEY, payload, 'legacy-md5').answer)).toEqual({ dialect: 'modern', digest: 'sha256' });
    expect(verifyAnswer(KEY, payload, answerFor(KEY, payload.subarray(8), 'rhel-sha256').answer)).toBeUndefined();
    const rhelOverAll = answerFor(KEY, Buffer.concat([Buffer.from('x'), payload]).subarray(1), 'rhel-sha256');
    expect(rhelOverAll.dialect).toBe('modern'); // a prefixed challenge is always answered in the modern form
    expect(verifyAnswer(KEY, payload, Buffer.alloc(20))).toBeUndefined();
    expect(verifyAnswer(KEY, payload, Buffer.alloc(16))).toBeUndefined();
  });
  it('recognises prefixes the way CPython does', () => {
    expect(splitDigestPrefix(Buffer.from('{sha3_384}abc'))?.digest).toBe('sha3_384');
    expect(splitDigestPrefix(Buffer.from('{sha1}abc'))).toBeUndefined();
    expect(splitDigestPrefix(Buffer.from('{SHA256}abc'))).toBeUndefined();
    expect(splitDigestPrefix(Buffer.from('{sha256abcdefgh}'))).toBeUndefined();
  });
});

function pipeIO(): [FrameIO, FrameIO] {
  return Pipe() as [FrameIO, FrameIO];
}

describe('handshake between our own two roles', () => {
  for (const bare of ['legacy-md5', 'rhel-sha256'] as const) {
    for (const digest of ['md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384'] as const) {
      it(`server digest ${digest}, client bare dialect ${bare}`, async () => {
        const [s, c] = pipeIO();
        const [sr, cr] = await Promise.all([serverHandshake(s, 'k', { digest }), clientHandshake(c, 'k', bare, { digest: 'sha256' })]);
        expect(sr).toEqual({ dialect: 'modern', digest });
        expect(cr.dialect).toBe('modern');
      });
    }
  }
  it('wrong key fails on both sides with AuthenticationError', async () => {
    const [s, c] = pipeIO();
    const [sr, cr] = await Promise.allSettled([serverHandshake(s, 'k1'), clientHandshake(c, 'k2', 'legacy-md5')]);
    expect(sr.status === 'rejected' && sr.reason).toBeInstanceOf(AuthenticationError);
    expect(cr.status === 'rejected' && cr.reason).toBeInstanceOf(AuthenticationError);
    expect(sr.status === 'rejected' && (sr.reason as Error).message).toBe('digest received was wrong');
    expect(cr.status === 'rejected' && (cr.reason as Error).message).toBe('digest sent was rejected');
  });
  it('an empty key authenticates (CPython 3.13 semantics)', async () => {
    const [s, c] = pipeIO();
    await expect(Promise.all([serverHandshake(s, ''), clientHandshake(c, new Uint8Array(0), 'legacy-md5')])).resolves.toHaveLength(2);
  });
  it('minDigest refuses a weaker answer', async () => {
    const [s, c] = pipeIO();
    const [sr] = await Promise.allSettled([
      serverHandshake(s, 'k', { digest: 'md5', minDigest: 'sha256' }),
      clientHandshake(c, 'k', 'legacy-md5'),
    ]);
    expect(sr.status === 'rejected' && (sr.reason as Error).message).toMatch(/weaker/);
  });
  it('a message other than a challenge is a protocol error', async () => {
    const [s, c] = pipeIO();
    await s.sendFrame(Buffer.from('#HELLO#'));
    await expect(clientHandshake(c, 'k', 'legacy-md5')).rejects.toThrow(/expected challenge/);
  });
});

describe('listen/connect with authkey', () => {
  it('reports the dialect and digest on both ends', async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', digest: 'sha384' });
    const [client, server] = await Promise.all([connect(listener.address, { authkey: 'k' }), listener.accept()]);
    expect(server.authDialect).toBe('modern');
    expect(server.authDigest).toBe('sha384');
    expect(client.authDialect).toBe('modern');
    expect(client.authDigest).toBe('sha384');
    await client.sendBytes(Buffer.from('x'));
    expect((await server.recvBytes()).toString()).toBe('x');
    client.close();
    server.close();
  });
  it('a for-await accept loop survives a client with a wrong key', async () => {
    const errors: unknown[] = [];
    await using listener = await listen(['127.0.0.1', 0], { authkey: 'k', onHandshakeError: (e) => errors.push(e) });
    await expect(connect(listener.address, { authkey: 'bad' })).rejects.toBeInstanceOf(AuthenticationError);
    const good = connect(listener.address, { authkey: 'k' });
    for await (const conn of listener) {
      expect(conn.authDialect).toBe('modern');
      conn.close();
      break;
    }
    (await good).close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AuthenticationError);
  });
});

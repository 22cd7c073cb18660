/**
 * Nothing reaches a codec before authentication succeeds, a server with an authkey never answers
 * an unauthenticated request, answers are compared with crypto.timingSafeEqual, and challenges
 * carry 40 fresh bytes from crypto.randomBytes (a CSPRNG).
 *
 * Spies: `node:crypto` (timingSafeEqual, randomBytes) and both decoders (`pickle/loads`,
 * `xmlrpc/unmarshal`) are wrapped in vi.fn so that every call is recorded.
 */
import * as crypto from 'node:crypto';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHALLENGE, FAILURE, HANDSHAKE_MAX, type FrameIO, WELCOME, clientHandshake, serverHandshake, verifyAnswer } from '../../src/auth/handshake.js';
import { AuthenticationError, MpwireError } from '../../src/errors.js';
import { connect, listen, pickleCodec, xmlCodec } from '../../src/index.js';
import { serveManager } from '../../src/managers/index.js';
import * as pickleLoads from '../../src/pickle/loads.js';
import { dumps, tuple } from '../../src/pickle/index.js';
import * as xmlUnmarshal from '../../src/xmlrpc/unmarshal.js';
import { frame, rawConnect, splitFrames } from './helpers.js';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual), randomBytes: vi.fn(real.randomBytes) };
});
vi.mock('../../src/pickle/loads.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/pickle/loads.js')>();
  return { ...real, loads: vi.fn(real.loads) };
});
vi.mock('../../src/xmlrpc/unmarshal.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/xmlrpc/unmarshal.js')>();
  return { ...real, loads: vi.fn(real.loads) };
});

const KEY = 'hardening-key';
const pickleSpy = vi.mocked(pickleLoads.loads);
const xmlSpy = vi.mocked(xmlUnmarshal.loads);
const tseSpy = vi.mocked(crypto.timingSafeEqual);
const randSpy = vi.mocked(crypto.randomBytes);

/** A pickle that would run `os.system('touch /tmp/x')` in Python (protocol 0, INST). */
const HOSTILE = Buffer.from("(S'touch /tmp/mpwire-hostile-marker'\nios\nsystem\n.", 'latin1');
/** A manager request: create a dict. */
const CREATE = dumps(tuple(null, 'create', tuple('dict'), new Map()), { protocol: 2 });

beforeEach(() => {
  pickleSpy.mockClear();
  xmlSpy.mockClear();
  tseSpy.mockClear();
  randSpy.mockClear();
});

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('the spies are live (else the other tests would prove nothing)', () => {
  it('the pickle and XML decoders and crypto functions are recorded when used', async () => {
    pickleCodec().decode(dumps(1));
    xmlCodec().decode(Buffer.from('<params><param><value><int>1</int></value></param></params>'));
    expect(pickleSpy).toHaveBeenCalledTimes(1);
    expect(xmlSpy).toHaveBeenCalledTimes(1);
    const listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    cleanups.push(() => listener.close());
    const [client, server] = await Promise.all([connect(listener.address, { authkey: KEY }), listener.accept()]);
    cleanups.push(() => (client.close(), server.close()));
    expect(tseSpy).toHaveBeenCalled();
    expect(randSpy).toHaveBeenCalled();
  });
});

describe('an unauthenticated peer never reaches a codec', () => {
  it('Listener + pickle codec: a pickle sent before auth gets the challenge, #FAILURE# and a closed connection', async () => {
    const listener = await listen(['127.0.0.1', 0], { authkey: KEY, codec: pickleCodec() });
    cleanups.push(() => listener.close());
    const accepted = listener.accept().then(
      () => 'accepted',
      (e: unknown) => e,
    );
    const raw = await rawConnect(listener.address);
    raw.socket.write(Buffer.concat([frame(HOSTILE), frame(HOSTILE), frame(CREATE)]));
    const { data, closedByPeer } = await raw.closed;
    expect(closedByPeer).toBe(true);
    const { frames, rest } = splitFrames(data);
    expect(rest.length).toBe(0);
    expect(frames.length).toBe(2);
    expect(frames[0]?.subarray(0, CHALLENGE.length).equals(CHALLENGE)).toBe(true);
    expect(frames[1]?.equals(FAILURE)).toBe(true);
    expect(await accepted).toBeInstanceOf(AuthenticationError);
    expect(pickleSpy).not.toHaveBeenCalled();
  });

  it('Listener: a frame over the handshake limit is refused from its header, with no reply at all', async () => {
    const listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    cleanups.push(() => listener.close());
    const accepted = listener.accept().then(
      () => 'accepted',
      (e: unknown) => e,
    );
    const raw = await rawConnect(listener.address);
    // Only the header of a 100 MB frame: the server must not wait for (or buffer) its body.
    const head = Buffer.alloc(4);
    head.writeInt32BE(100_000_000);
    raw.socket.write(head);
    const { data, closedByPeer } = await raw.closed;
    expect(closedByPeer).toBe(true);
    const { frames } = splitFrames(data);
    expect(frames.length).toBe(1); // the challenge only
    expect(frames[0]?.subarray(0, CHALLENGE.length).equals(CHALLENGE)).toBe(true);
    expect(await accepted).toBeInstanceOf(MpwireError);
    expect(pickleSpy).not.toHaveBeenCalled();
  });

  it('Listener + xml codec: an XML document sent before auth is never parsed', async () => {
    const listener = await listen(['127.0.0.1', 0], { authkey: KEY, codec: xmlCodec() });
    cleanups.push(() => listener.close());
    listener.accept().catch(() => undefined);
    const raw = await rawConnect(listener.address);
    raw.socket.write(frame('<?xml version="1.0"?><methodCall><methodName>x</methodName><params/></methodCall>'));
    const { data, closedByPeer } = await raw.closed;
    expect(closedByPeer).toBe(true);
    expect(splitFrames(data).frames[1]?.equals(FAILURE)).toBe(true);
    expect(xmlSpy).not.toHaveBeenCalled();
  });

  it('manager server: a request before auth is never decoded or dispatched; the reply does not depend on it', async () => {
    let made = 0;
    const server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY, registry: { Thing: () => ({ made: ++made }) } });
    cleanups.push(() => server.close());
    const replies: Buffer[][] = [];
    for (const request of [CREATE, HOSTILE, dumps(tuple(null, 'create', tuple('Thing'), new Map()), { protocol: 4 })]) {
      const raw = await rawConnect(server.address);
      raw.socket.write(Buffer.concat([frame(request), frame(request)]));
      const { data, closedByPeer } = await raw.closed;
      expect(closedByPeer).toBe(true);
      const { frames } = splitFrames(data);
      // CPython's manager: the challenge, #FAILURE#, then one pickled ('#TRACEBACK', text) frame.
      expect(frames.length).toBe(3);
      expect(frames[1]?.equals(FAILURE)).toBe(true);
      replies.push(frames);
    }
    expect(pickleSpy).not.toHaveBeenCalled();
    expect(made).toBe(0);
    expect(server.numberOfObjects).toBe(0);
    // The traceback frame is the same whatever the request was.
    expect(new Set(replies.map((f) => f[2]?.toString('hex'))).size).toBe(1);
  });

  it('manager server: an authenticated client is served normally (the same test set-up works)', async () => {
    const server = await serveManager({ address: ['127.0.0.1', 0], authkey: KEY });
    cleanups.push(() => server.close());
    const c = await connect(server.address, { authkey: KEY, codec: pickleCodec() });
    cleanups.push(() => c.close());
    await c.sendBytes(CREATE);
    const reply = (await c.recv()) as unknown[];
    expect(reply[0]).toBe('#RETURN');
    expect(pickleSpy).toHaveBeenCalled();
  });

  it('client: a server that sends a pickle instead of the challenge is refused before any decoding', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.write(frame(HOSTILE));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    await expect(connect(['127.0.0.1', port], { authkey: KEY, codec: pickleCodec(), handshakeTimeout: 5000 })).rejects.toBeInstanceOf(AuthenticationError);
    expect(pickleSpy).not.toHaveBeenCalled();
  });

  it('client: a server that welcomes without checking our answer still has to answer our challenge', async () => {
    // A fake server: sends a challenge, ignores the answer, says #WELCOME#, then sends a pickle
    // where the client expects its own challenge.
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.write(frame(Buffer.concat([CHALLENGE, Buffer.from('{sha256}'), crypto.randomBytes(40)])));
      s.once('data', () => s.write(Buffer.concat([frame(WELCOME), frame(HOSTILE)])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    await expect(connect(['127.0.0.1', port], { authkey: KEY, codec: pickleCodec(), handshakeTimeout: 5000 })).rejects.toBeInstanceOf(AuthenticationError);
    expect(pickleSpy).not.toHaveBeenCalled();
  });
});

/** A FrameIO scripted by a function of what was sent so far. */
function scripted(reply: (sent: Buffer[]) => Buffer | undefined): FrameIO & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  return {
    sent,
    async sendFrame(f) {
      sent.push(Buffer.from(f));
    },
    async recvFrame(max) {
      const r = reply(sent);
      if (r === undefined || r.length > max) throw new MpwireError('no more frames', 'MPWIRE_TEST');
      return r;
    },
  };
}

const payloadOf = (challenge: Buffer): Buffer => challenge.subarray(CHALLENGE.length);

describe('answers are compared in constant time', () => {
  const forms: Array<[string, (payload: Buffer, key: string) => Buffer]> = [
    ['modern sha256', (p, k) => Buffer.concat([Buffer.from('{sha256}'), crypto.createHmac('sha256', k).update(p).digest()])],
    ['modern sha3_384', (p, k) => Buffer.concat([Buffer.from('{sha3_384}'), crypto.createHmac('sha3-384', k).update(p).digest()])],
    ['legacy md5', (p, k) => crypto.createHmac('md5', k).update(p).digest()],
    ['rhel sha256', (p, k) => crypto.createHmac('sha256', k).update(p).digest()],
  ];

  it.each(forms)('%s: right and wrong answers of the right length both go through crypto.timingSafeEqual', async (_label, answer) => {
    for (const key of [KEY, 'not-the-key']) {
      tseSpy.mockClear();
      const io = scripted((sent) => (sent.length === 1 ? answer(payloadOf(sent[0] as Buffer), key) : undefined));
      const result = serverHandshake(io, KEY);
      if (key === KEY) await expect(result).rejects.toThrow('no more frames'); // authenticated; then our script ends
      else await expect(result).rejects.toBeInstanceOf(AuthenticationError);
      expect(tseSpy).toHaveBeenCalledTimes(1);
      const [a, b] = tseSpy.mock.calls[0] as [Uint8Array, Uint8Array];
      expect(a.byteLength).toBe(b.byteLength);
      expect(a.byteLength).toBeGreaterThanOrEqual(16);
    }
  });

  it('verifyAnswer never compares with == or Buffer.equals (a wrong answer differing only in its last byte)', () => {
    const payload = Buffer.concat([Buffer.from('{sha256}'), crypto.randomBytes(40)]);
    const right = crypto.createHmac('sha256', KEY).update(payload).digest();
    const wrong = Buffer.from(right);
    wrong[31] = (wrong[31] as number) ^ 1;
    tseSpy.mockClear();
    expect(verifyAnswer(Buffer.from(KEY), payload, Buffer.concat([Buffer.from('{sha256}'), wrong]))).toBeUndefined();
    expect(verifyAnswer(Buffer.from(KEY), payload, Buffer.concat([Buffer.from('{sha256}'), right]))).toEqual({ dialect: 'modern', digest: 'sha256' });
    expect(tseSpy).toHaveBeenCalledTimes(2);
  });

  it("the client checks the server's answer to its own challenge with timingSafeEqual too", async () => {
    const io = scripted((sent) => {
      if (sent.length === 0) return Buffer.concat([CHALLENGE, Buffer.from('{sha256}'), crypto.randomBytes(40)]);
      if (sent.length === 1) return WELCOME;
      if (sent.length === 2) return Buffer.concat([Buffer.from('{sha256}'), crypto.randomBytes(32)]); // a wrong answer
      return undefined;
    });
    tseSpy.mockClear();
    await expect(clientHandshake(io, KEY, 'legacy-md5')).rejects.toBeInstanceOf(AuthenticationError);
    expect(tseSpy).toHaveBeenCalledTimes(1);
    expect(io.sent[io.sent.length - 1]?.equals(FAILURE)).toBe(true);
  });
});

describe('challenges carry fresh bytes from the CSPRNG', () => {
  it('each challenge is #CHALLENGE#{sha256} + the 40 bytes crypto.randomBytes returned, all distinct', async () => {
    const nonces = new Set<string>();
    const N = 300;
    for (let i = 0; i < N; i++) {
      randSpy.mockClear();
      const io = scripted(() => undefined);
      await expect(serverHandshake(io, KEY)).rejects.toThrow();
      const challenge = io.sent[0] as Buffer;
      expect(challenge.length).toBe(11 + 8 + 40);
      expect(challenge.subarray(0, 19).toString('latin1')).toBe('#CHALLENGE#{sha256}');
      expect(randSpy).toHaveBeenCalledTimes(1);
      expect(randSpy.mock.calls[0]?.[0]).toBe(40);
      const nonce = challenge.subarray(19);
      expect(nonce.equals(randSpy.mock.results[0]?.value as Buffer)).toBe(true);
      nonces.add(nonce.toString('hex'));
    }
    expect(nonces.size).toBe(N);
  });

  it('the client challenges the server with 40 fresh random bytes as well', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const io = scripted((sent) => {
        if (sent.length === 0) return Buffer.concat([CHALLENGE, crypto.randomBytes(20)]); // legacy server
        if (sent.length === 1) return WELCOME;
        return undefined;
      });
      await expect(clientHandshake(io, KEY, 'legacy-md5')).rejects.toThrow();
      const challenge = io.sent[1] as Buffer;
      expect(challenge.length).toBe(59);
      seen.add(challenge.subarray(19).toString('hex'));
    }
    expect(seen.size).toBe(50);
  });

  it('every digest choice sends 40 random bytes, and a handshake message is read with the 256-byte limit', async () => {
    for (const digest of ['md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384'] as const) {
      const maxes: number[] = [];
      const io: FrameIO & { sent: Buffer[] } = {
        sent: [],
        async sendFrame(f) {
          this.sent.push(Buffer.from(f));
        },
        async recvFrame(max) {
          maxes.push(max);
          throw new MpwireError('stop', 'MPWIRE_TEST');
        },
      };
      await expect(serverHandshake(io, KEY, { digest })).rejects.toThrow('stop');
      expect(io.sent[0]?.length).toBe(11 + digest.length + 2 + 40);
      expect(maxes).toEqual([HANDSHAKE_MAX]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { RpcPeer, errorInfo, remoteErrorFrom, serve } from '../../src/bridge/index.js';
import { jsonCodec } from '../../src/codec.js';
import { AbortError, EOFError, ProtocolError, RemoteError, TimeoutError } from '../../src/errors.js';
import { pickleCodec, PyException } from '../../src/pickle/index.js';
import { Pipe } from '../../src/wire/index.js';

function pair(codec = pickleCodec()) {
  const [a, b] = Pipe(true, { codec });
  return { a, b };
}

describe('RpcPeer over an in-process Pipe', () => {
  it('calls, kwargs and results through pickle and JSON codecs', async () => {
    for (const codec of [pickleCodec(), jsonCodec]) {
      const { a, b } = pair(codec as ReturnType<typeof pickleCodec>);
      const served = serve(b, { add: (x: number, y: number) => x + y, kw: (x: number, kw: { c: number }) => [x, kw.c], nothing: () => undefined });
      const peer = new RpcPeer(a);
      expect(await peer.call('add', 2, 3)).toBe(5);
      expect(await peer.callWith('kw', [1], { kwargs: { c: 3 } })).toEqual([1, 3]);
      expect(await peer.call('nothing')).toBeNull();
      a.close();
      await served;
    }
  });

  it('maps a JS exception to Python names and back to RemoteError', async () => {
    const { a, b } = pair();
    void serve(b, {
      type: () => {
        throw new TypeError('wrong type');
      },
      range: () => {
        throw new RangeError('too big');
      },
      py: () => {
        throw new PyException('builtins', 'KeyError', ['k']);
      },
    });
    const peer = new RpcPeer(a);
    const e1 = (await peer.call('type').catch((e: unknown) => e)) as RemoteError;
    expect(e1).toBeInstanceOf(RemoteError);
    expect([e1.type, e1.message, e1.args]).toEqual(['TypeError', 'TypeError: wrong type', ['wrong type']]);
    const e2 = (await peer.call('range').catch((e: unknown) => e)) as RemoteError;
    expect(e2.type).toBe('ValueError');
    const e3 = (await peer.call('py').catch((e: unknown) => e)) as RemoteError;
    expect([e3.type, e3.module, e3.args]).toEqual(['KeyError', 'builtins', ['k']]);
    const e4 = (await peer.call('missing').catch((e: unknown) => e)) as RemoteError;
    expect([e4.type, e4.message]).toEqual(['NameError', "NameError: no handler named 'missing'"]);
    a.close();
  });

  it('pipelines 1,000 concurrent calls answered out of order', async () => {
    const { a, b } = pair();
    void serve(b, { later: (i: number) => new Promise((r) => setTimeout(() => r(i * 2), (i * 7) % 13)) });
    const peer = new RpcPeer(a);
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => peer.call<number>('later', i)));
    expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => i * 2));
    expect(peer.pending).toBe(0);
    a.close();
  });

  it('both ends call each other on one connection', async () => {
    const { a, b } = pair();
    const left = new RpcPeer(a, { handlers: { hello: (n: string) => `hello ${n}` } });
    const right = new RpcPeer(b, { handlers: { twice: async (n: string) => `${await right.call('hello', n)}!` } });
    expect(await left.call('twice', 'py')).toBe('hello py!');
    a.close();
  });

  it('timeout and abort reject only that call; a late answer is dropped', async () => {
    const { a, b } = pair();
    void serve(b, { slow: () => new Promise((r) => setTimeout(() => r('late'), 100)), fast: () => 'ok' });
    const peer = new RpcPeer(a);
    await expect(peer.callWith('slow', [], { timeout: 10 })).rejects.toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const p = peer.callWith('slow', [], { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await new Promise((r) => setTimeout(r, 150));
    expect(await peer.call('fast')).toBe('ok');
    // Past setTimeout's 2^31-1 ms limit (where it fires after 1 ms) the call still waits for its answer.
    expect(await peer.callWith('slow', [], { timeout: 2 ** 31 + 1000 })).toBe('late');
    a.close();
  });

  it('the other end closing rejects every pending call, and later calls', async () => {
    const { a, b } = pair();
    const peer = new RpcPeer(a);
    const pending = [peer.call('x'), peer.call('y')];
    await new Promise((r) => setTimeout(r, 10));
    b.close();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(EOFError);
    await expect(peer.call('z')).rejects.toBeInstanceOf(EOFError);
  });

  it('errorInfo / remoteErrorFrom', () => {
    expect(errorInfo(new TypeError('t'))).toMatchObject({ type: 'TypeError', module: 'javascript', message: 't', args: ['t'] });
    expect(errorInfo('plain')).toMatchObject({ type: 'Exception', message: 'plain' });
    const r = remoteErrorFrom({ type: 'ZeroDivisionError', module: 'builtins', message: 'division by zero', args: ['division by zero'], traceback: 'Traceback...' });
    expect([r.message, r.type, r.module, r.traceback]).toEqual(['ZeroDivisionError: division by zero', 'ZeroDivisionError', 'builtins', 'Traceback...']);
    expect(remoteErrorFrom(null).message).toBe('remote error');
  });

  it('a handler throwing a non-Error, or an error that cannot be encoded, still answers its call once', async () => {
    const { a, b } = pair();
    void serve(b, {
      bare: () => {
        throw Object.create(null);
      },
      hostile: () => {
        throw {
          toString() {
            throw new Error('hostile toString');
          },
        };
      },
      getter: () => {
        const e = new Error('x');
        Object.defineProperty(e, 'message', {
          get() {
            throw new Error('no message');
          },
        });
        throw e;
      },
      unencodable: () => {
        throw Object.assign(new Error('x'), { type: 'ValueError', args: [Symbol('s')] });
      },
    });
    const peer = new RpcPeer(a);
    // A short timeout only turns the old hang into a failure; a correct answer is immediate.
    for (const name of ['bare', 'hostile', 'getter', 'unencodable']) {
      const e = await peer.callWith(name, [], { timeout: 2000 }).catch((x: unknown) => x);
      expect(e, name).toBeInstanceOf(RemoteError);
    }
    expect(peer.pending).toBe(0);
    expect(errorInfo(Object.create(null))).toMatchObject({ type: 'Exception', message: '<unprintable JS value>' });
    a.close();
  });

  it('an undecodable frame fails the connection with a typed error instead of losing answers', async () => {
    const { a, b } = pair(jsonCodec as ReturnType<typeof pickleCodec>);
    const peer = new RpcPeer(a);
    const calls = [peer.call('x'), peer.call('y')];
    await b.recv();
    await b.recv();
    await b.sendBytes(Buffer.from('not json{'));
    for (const p of calls) await expect(p).rejects.toBeInstanceOf(ProtocolError);
    // The other end learns it too (EOF), instead of waiting for an answer forever.
    await expect(b.recv()).rejects.toBeInstanceOf(EOFError);
    await expect(peer.call('z')).rejects.toBeInstanceOf(ProtocolError);
  });

  it('a reply of the wrong shape rejects its call; bad arguments leave nothing pending; serve({}) ends on EOF', async () => {
    const { a, b } = pair();
    const peer = new RpcPeer(a);
    const p = peer.callWith('x', [], { timeout: 2000 });
    const [, id] = (await b.recv()) as [string, number];
    await b.send(['ok', id]);
    const e = (await p.catch((x: unknown) => x)) as ProtocolError;
    expect(e).toBeInstanceOf(ProtocolError);
    expect(e.reason).toBe('bad-reply');
    await expect(peer.callWith('x', 5 as unknown as unknown[], { timeout: 60_000 })).rejects.toBeInstanceOf(TypeError);
    await expect(peer.callWith('x', [], { kwargs: [1] as unknown as Record<string, unknown> })).rejects.toBeInstanceOf(TypeError);
    expect(peer.pending).toBe(0);
    a.close();
    const c = pair();
    const served = serve(c.b, {});
    c.a.close();
    const ended = await Promise.race([served.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still serving'), 2000))]);
    expect(ended).toBe('ended');
  });
});

/**
 * ManagerClient against the in-process fake server: one request at a time per connection, the
 * pool limit, blocking calls beside others, timeouts, a dead server, and exact refcounts.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, AuthenticationError, ConnectionClosedError, EOFError, ProtocolError, TimeoutError, connect } from '../../src/index.js';
import { AcquirerProxy, type ManagerClient, PoolProxy, Proxy, QueueProxy, RemoteError, connectManager, managerCodec, pyFunction } from '../../src/managers/index.js';
import { PyGlobal } from '../../src/pickle/index.js';
import { Channel, ChannelPool, DEFAULT_MAX_CONNECTIONS, Gate, type LateReplyHandler } from '../../src/managers/pool.js';
import { FAKE_KEY, FakeManager } from './fake-server.js';

let fake: FakeManager;
let m: ManagerClient;

beforeEach(async () => {
  fake = await FakeManager.start();
  m = await connectManager(fake.address, { authkey: FAKE_KEY, maxConnections: 4 });
});

afterEach(async () => {
  await m.close({ timeout: 500 });
  await fake.close();
});

describe('connection discipline', () => {
  it('connect runs dummy on its own connection', () => {
    expect(fake.stats.requests[0]).toEqual([null, 'dummy', [], {}]);
  });

  it('50 concurrent calls on one proxy: never interleaved, at most maxConnections channels', async () => {
    const d = await m.create('dict');
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => d.call('__setitem__', [`k${i}`, i]).then(() => d.call('__getitem__', [`k${i}`]))));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(fake.stats.interleaved).toBe(0);
    expect(fake.stats.channels).toBeLessThanOrEqual(4);
    expect(fake.stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(m.openConnections).toBeLessThanOrEqual(4);
  });

  it('a blocking call does not hold up the others', async () => {
    const d = await m.create('dict');
    const slow = d.call('sleep', [1500]);
    let slowDone = false;
    void slow.then(() => (slowDone = true));
    for (let i = 0; i < 20; i++) await d.call('__setitem__', ['k', i]);
    expect(slowDone).toBe(false);
    expect(await slow).toBe(1500);
  });

  it('calls beyond the pool limit queue instead of failing or deadlocking', async () => {
    const d = await m.create('dict');
    const sleepers = Array.from({ length: 4 }, () => d.call('sleep', [150]));
    const after = d.call('__setitem__', ['x', 1]);
    expect(await Promise.all(sleepers)).toEqual([150, 150, 150, 150]);
    await after;
    expect(fake.stats.channels).toBe(4);
  });

  it('a JS-side timeout drops that connection only', async () => {
    const d = await m.create('dict');
    await expect(d.call('hang', [], undefined, { timeout: 100 })).rejects.toBeInstanceOf(TimeoutError);
    expect(m.openConnections).toBe(0);
    await d.call('__setitem__', ['k', 'v']);
    expect(fake.stats.channels).toBe(2);
    expect(await d.call('__getitem__', ['k'])).toBe('v');
  });

  it('an abort signal rejects with AbortError', async () => {
    const d = await m.create('dict');
    const ac = new AbortController();
    const p = d.call('hang', [], undefined, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 50);
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });

  it('a server that dies mid-call gives a typed error, not a hang', async () => {
    const d = await m.create('dict');
    const p = d.call('hang');
    await new Promise((r) => setTimeout(r, 100));
    fake.kill();
    const e = await p.catch((x: unknown) => x);
    expect(e instanceof EOFError || e instanceof ProtocolError).toBe(true);
    await expect(d.call('__getitem__', ['k'])).rejects.toBeInstanceOf(ProtocolError);
  });

  it('remote exceptions keep their type', async () => {
    const d = await m.create('dict');
    const e = (await d.call('__getitem__', ['nope']).catch((x: unknown) => x)) as RemoteError;
    expect(e).toBeInstanceOf(RemoteError);
    expect([e.type, e.args]).toEqual(['KeyError', ['nope']]);
    const tb = (await d.call('other').catch((x: unknown) => x)) as RemoteError;
    expect(tb.type).toBeUndefined();
    expect(tb.traceback).toContain('AttributeError');
  });

  it('wrong authkey: AuthenticationError', async () => {
    await expect(connectManager(fake.address, { authkey: 'nope' })).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('the pool waits with a deadline', async () => {
    let opened = 0;
    const pool = new ChannelPool(async () => {
      opened++;
      return { usable: true, close() {}, destroy() {} } as never;
    }, 1);
    let release!: () => void;
    const held = pool.use(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 10));
    await expect(pool.use(async () => 1, { timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
    release();
    await held;
    expect(await pool.use(async () => 2)).toBe(2);
    expect(opened).toBe(1);
    expect(DEFAULT_MAX_CONNECTIONS).toBe(16);
  });
});

describe('cancellation, close() and connection setup', () => {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const sent = (method: string): number => fake.stats.requests.filter((r) => r[1] === method).length;

  /** An object-call channel of its own on the fake server. */
  async function channel(): Promise<Channel> {
    const ch = new Channel(await connect(fake.address, { authkey: FAKE_KEY }), managerCodec('pickle'));
    await ch.request(null, 'accept_connection', ['test'], {}, undefined);
    return ch;
  }

  it('a call whose signal fired or whose time ran out is never sent', async () => {
    const d = await m.create('dict');
    await expect(d.call('__setitem__', ['a', 1], undefined, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await expect(d.call('__setitem__', ['b', 1], undefined, { timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    await sleep(100);
    expect(sent('__setitem__')).toBe(0);
    expect(m.openConnections).toBe(0);
  });

  it('a call handed a connection after its signal fired is never sent', async () => {
    const m1 = await connectManager(fake.address, { authkey: FAKE_KEY, maxConnections: 1 });
    try {
      const d = await m1.create('dict');
      const ac = new AbortController();
      // The second call waits for the only connection. The first one times out, which drops its
      // connection and wakes the second to open a new one; the signal fires while it opens.
      const first = d.call('hang', [], undefined, { timeout: 50 }).catch(() => ac.abort());
      const second = d.call('__setitem__', ['late', 1], undefined, { signal: ac.signal });
      await first;
      await expect(second).rejects.toBeInstanceOf(AbortError);
      await sleep(100); // time for a request sent anyway to reach the server
      expect(sent('__setitem__')).toBe(0);
      expect(await d.call('sleep', [1])).toBe(1); // the connection is still in step
    } finally {
      await m1.close({ timeout: 500 });
    }
  });

  it('close() destroys busy connections: their calls reject with ConnectionClosedError', async () => {
    const d = await m.create('dict');
    const hanging = d.call('hang').catch((e: unknown) => e);
    await sleep(50);
    expect(m.openConnections).toBe(1);
    await m.close({ timeout: 500 });
    expect(await hanging).toBeInstanceOf(ConnectionClosedError);
    expect(m.openConnections).toBe(0);
    expect(fake.live).toBe(0);
  });

  it('a request queued on a busy channel honours its own deadline and is not sent after it', async () => {
    const d = await m.create('dict');
    const ch = await channel();
    const busy = ch.request(d.id, 'sleep', [200], {}, undefined);
    const t0 = Date.now();
    await expect(ch.request(d.id, '__setitem__', ['x', 1], {}, { timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(150);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await expect(ch.request(d.id, '__setitem__', ['y', 1], {}, { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
    expect((await busy).value).toBe(200);
    await sleep(100);
    expect(sent('__setitem__')).toBe(0);
    expect(ch.usable).toBe(true);
    ch.close();
  });

  it('an abandoned call with a late-reply handler keeps its channel and answers the late reply', async () => {
    const d = await m.create('dict');
    const ch = await channel();
    const late: LateReplyHandler = (reply) => (reply.kind === '#RETURN' ? { method: '__setitem__', args: ['late', reply.value] } : undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await expect(ch.request(d.id, 'sleep', [150], {}, { signal: ac.signal }, undefined, late)).rejects.toBeInstanceOf(AbortError);
    expect(ch.lingering).toBeDefined();
    // A request made meanwhile waits for the late reply and the follow-up, then runs in step.
    const reply = await ch.request(d.id, '__getitem__', ['late'], {}, undefined);
    expect(reply.value).toBe(150);
    expect(ch.lingering).toBeUndefined();
    expect(ch.usable).toBe(true);
    ch.close();
  });

  it('a gate lets `size` holders in and queues the rest, each under its own deadline', async () => {
    const gate = new Gate(2);
    const a = await gate.enter();
    const b = await gate.enter();
    await expect(gate.enter({ timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(gate.enter({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    const c = gate.enter();
    a();
    a(); // leaving twice gives back one place only
    const leaveC = await c;
    expect(gate.inside).toBe(2);
    b();
    leaveC();
    expect(gate.inside).toBe(0);
  });
});

describe('refcounts', () => {
  it('create owns one reference; release decrefs exactly once', async () => {
    const d = await m.create('dict');
    expect(fake.objects.get(d.id)?.refcount).toBe(1);
    expect(fake.stats.increfs).toEqual([]);
    await Promise.all([d.release(), d.release()]);
    await d.release();
    expect(fake.stats.decrefs).toEqual([d.id]);
    expect(fake.live).toBe(0);
    expect(d.released).toBe(true);
    await expect(d.call('__getitem__', ['k'])).rejects.toThrow(/released/);
  });

  it('await using releases', async () => {
    let id = '';
    {
      await using d = await m.create('dict');
      id = d.id;
    }
    expect(fake.stats.decrefs).toEqual([id]);
  });

  it('fork increfs and gets its own connection', async () => {
    const d = await m.create('dict');
    const f = await d.fork();
    expect(f).toBeInstanceOf(Proxy);
    expect(fake.objects.get(d.id)?.refcount).toBe(2);
    await f.call('__setitem__', ['a', 1]);
    await d.release();
    expect(await f.call('__getitem__', ['a'])).toBe(1);
    await f.release();
    expect(fake.live).toBe(0);
  });

  it('close() releases live proxies once', async () => {
    await m.create('dict');
    await m.create('dict');
    expect(m.liveProxies).toBe(2);
    await m.close();
    expect(fake.live).toBe(0);
    expect(fake.stats.decrefs).toHaveLength(2);
    expect(m.liveProxies).toBe(0);
    await m.close();
    expect(fake.stats.decrefs).toHaveLength(2);
  });

  it('a proxy garbage-collected without release is released by the FinalizationRegistry', async () => {
    v8.setFlagsFromString('--expose_gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let id = '';
    await (async () => {
      const p = await m.create('dict');
      id = p.id;
    })();
    expect(fake.objects.has(id)).toBe(true);
    for (let i = 0; i < 50 && fake.objects.has(id); i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fake.stats.decrefs).toEqual([id]);
    expect(fake.live).toBe(0);
    expect(m.liveProxies).toBe(0);
  });

  it('numberOfObjects comes from the server', async () => {
    const a = await m.create('dict');
    expect(await m.numberOfObjects()).toBe(1);
    await a.release();
    expect(await m.numberOfObjects()).toBe(0);
  });
});

describe('typed proxies send what Python proxies send', () => {
  const last = (): [string | null, string, unknown[], unknown] => fake.stats.requests.at(-1) as [string | null, string, unknown[], unknown];

  it('Queue.get/put: kwargs block/timeout in seconds', async () => {
    const q = await m.create('dict', [], undefined, { proxyType: QueueProxy });
    await q.get({ timeout: 1500 }).catch(() => undefined);
    expect(last()).toEqual([q.id, 'get', [], { timeout: 1.5 }]);
    await q.put('x', { block: false }).catch(() => undefined);
    expect(last()).toEqual([q.id, 'put', ['x'], { block: false }]);
    await q.get().catch(() => undefined);
    expect(last()).toEqual([q.id, 'get', [], {}]);
  });

  it('Lock.acquire sends positional (blocking, timeout); release() is the lock release', async () => {
    const l = await m.create('dict', [], undefined, { proxyType: AcquirerProxy });
    await l.acquire({ timeout: 250 }).catch(() => undefined);
    expect(last()).toEqual([l.id, 'acquire', [true, 0.25], {}]);
    await l.acquire({ blocking: false }).catch(() => undefined);
    expect(last()).toEqual([l.id, 'acquire', [false], {}]);
    await l.release().catch(() => undefined);
    expect(last()).toEqual([l.id, 'release', [], {}]);
    expect(l.released).toBe(false);
    await l.dispose();
    expect(l.released).toBe(true);
  });

  it('Pool functions travel by reference', async () => {
    const p = await m.create('dict', [], undefined, { proxyType: PoolProxy });
    await p.map('math.sqrt', [1, 4]).catch(() => undefined);
    const [, method, args] = last();
    expect(method).toBe('map');
    expect(args[0]).toEqual(new PyGlobal('math', 'sqrt'));
    expect(() => pyFunction('nodot')).toThrow(TypeError);
  });
});

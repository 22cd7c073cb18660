/**
 * `connectManager` / `ManagerClient`: a client of CPython's `multiprocessing.managers` servers
 * (`BaseManager`, `SyncManager`), speaking the protocol of PROTOCOL.md §5 the way CPython's own
 * clients do: every server request on a fresh authenticated connection, object calls on
 * `accept_connection` channels (a small pool), refcounts kept exact.
 * @module
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { ClientDialect } from '../auth/handshake.js';
import { ConnectionClosedError, RemoteError, TimeoutError } from '../errors.js';
import { type PickleCodecOptions, PyGlobal } from '../pickle/index.js';
import { type Address, type Connection, connect } from '../wire/index.js';
import { type WaitOptions, waitFor } from '../wire/deadline.js';
import { type ManagerCodec, type Serializer, managerCodec } from './codec.js';
import { Channel, ChannelPool, DEFAULT_MAX_CONNECTIONS, Gate, type LateReplyHandler, checkNotCancelled, remainingOptions } from './pool.js';
import {
  ERROR,
  MANAGERS_MODULE,
  PROXY,
  type ProxyReference,
  RETURN,
  type Reply,
  SYNC_MANAGER_REGISTRY,
  type ServerMethod,
  TRACEBACK,
  Token,
  type TokenAddress,
  UNSERIALIZABLE,
  errorFromException,
  errorFromTraceback,
  parseReply,
} from './protocol.js';
import {
  AcquirerProxy,
  ArrayProxy,
  BarrierProxy,
  SetProxy,
  type CallOptions,
  ConditionProxy,
  DEDICATED_TYPEIDS,
  DictProxy,
  EventProxy,
  ListProxy,
  NamespaceProxy,
  PROXY_TYPES,
  PoolProxy,
  Proxy,
  type ProxyClass,
  type ProxyHost,
  type ProxyState,
  QueueProxy,
  ValueProxy,
  pythonProxyClass,
} from './proxy.js';

/**
 * Options of {@link connectManager}.
 * @example
 * ```ts
 * const m = await connectManager(['127.0.0.1', 50000], { authkey: 'abc', serializer: 'xmlrpclib', maxConnections: 32, dialect: 'auto' });
 * ```
 */
export interface ManagerOptions extends WaitOptions {
  /** The manager's authkey (`BaseManager(authkey=…)`); a string is UTF-8 encoded. Required: managers always authenticate. */
  authkey: Uint8Array | string;
  /** Must match the server's `serializer`; nothing on the wire announces it. Default `'pickle'`. */
  serializer?: Serializer;
  /** How to answer a bare 20-byte challenge (see `connect`); default `'legacy-md5'`. */
  dialect?: ClientDialect;
  /**
   * Most object-call connections kept open at once (default {@link DEFAULT_MAX_CONNECTIONS} = 16).
   * Each is one server thread. Calls beyond the limit wait (FIFO) for a free connection, so more
   * than `maxConnections` calls that block on the server waiting for each other would deadlock.
   */
  maxConnections?: number;
  /** Pickle protocol to send; default: 2 for the first request, then the protocol of the server's replies. */
  pickleProtocol?: 0 | 1 | 2 | 3 | 4 | 5;
  /** Options of the pickle decoder/encoder (`exact`, `encoding` for Python 2 `str`, limits, hooks). */
  pickle?: Omit<PickleCodecOptions, 'protocol'>;
  /** Name sent with `accept_connection` (labels the server thread). Default `'NodeProcess'`. */
  processName?: string;
  /**
   * Milliseconds each control connection (create, incref, decref, …) may take to connect, and
   * then to get its reply; default 30000. At most {@link CONNECTS_AT_ONCE} connections of a client
   * are being set up at any time; waiting for that turn is not counted.
   */
  controlTimeout?: number;
  /**
   * The server's own view of its address, written into proxies sent inside values so that the
   * server recognises them as its own (§5.5). Default: learned from `#PROXY` replies (which carry
   * the server's own address); before that, the address connected to with the host resolved to an IP.
   */
  serverAddress?: readonly [string, number] | string;
}

/**
 * Most connections one client sets up at the same time (control requests such as `incref`/
 * `decref`/`create`, and new object-call connections); the others wait their turn. CPython's
 * manager listener has a backlog of 16 and authenticates one client at a time, so a burst of
 * simultaneous connects (60 proxies inside one reply, thousands of garbage-collected proxies)
 * would otherwise overflow its accept queue and leave connections waiting for the 20 s handshake
 * timeout.
 * @example
 * ```ts
 * await Promise.all(Array.from({ length: 50 }, () => m.numberOfObjects())); // 8 connections at a time
 * ```
 */
export const CONNECTS_AT_ONCE = 8;

/** Hosts of a TCP token that name every interface of the machine that wrote it. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** A map key for an address (a token's or one connected to); undefined for None. */
function addressKey(a: TokenAddress | Address): string | undefined {
  if (a === null) return undefined;
  if (typeof a === 'string') return `path:${a}`;
  if (a instanceof Uint8Array) return `path:${Buffer.from(a).toString('latin1')}`;
  return `tcp:${a[0]}:${a[1]}`;
}

/** A token's address as an address to connect to. */
function connectable(a: Exclude<TokenAddress, null>): Address {
  if (typeof a === 'string') return a;
  if (a instanceof Uint8Array) return Buffer.from(a).toString('latin1');
  return [a[0], a[1]];
}

/** A proxy found inside a reply, waiting for its incref (on the client of its own server). */
interface Received {
  readonly client: ManagerClient;
  readonly proxy: Proxy;
  readonly state: ProxyState;
}

/** `job`, kept in `set` until it settles (for `close()` to wait on). */
function heldIn(set: Set<Promise<void>>, job: Promise<void>): Promise<void> {
  set.add(job);
  const done = (): void => {
    set.delete(job);
  };
  job.then(done, done);
  return job;
}

const registry = new FinalizationRegistry<{ client: ManagerClient; state: ProxyState }>((held) => {
  held.client._collect(held.state);
});

function isTcp(address: Address): address is [string, number] {
  return Array.isArray(address);
}

/**
 * A client of one manager server. Create it with {@link connectManager}.
 * @example
 * ```ts
 * const m = await connectManager(['127.0.0.1', 50000], { authkey: 'abc' });
 * const d = await m.dict();
 * await d.set('k', 1);
 * console.log(await d.get('k'));
 * await m.close();
 * ```
 */
export class ManagerClient implements AsyncDisposable, ProxyHost {
  /** The address this client connects to (also written into every token). */
  readonly address: Address;
  /** The serializer used on every connection (`options.serializer`, default `'pickle'`). */
  readonly serializer: Serializer;
  readonly #options: ManagerOptions;
  readonly #codec: ManagerCodec;
  readonly #pool: ChannelPool;
  /** Every connection attempt passes through it (see {@link CONNECTS_AT_ONCE}). */
  readonly #gate = new Gate(CONNECTS_AT_ONCE);
  readonly #live = new Set<ProxyState>();
  readonly #dedicated = new Map<ProxyState, Promise<Channel>>();
  /** Dedicated channels of released proxies, left open until an abandoned acquire is answered. */
  readonly #detached = new Set<Channel>();
  readonly #types = new Map<string, ProxyClass>(Object.entries(PROXY_TYPES));
  #serverAddress: TokenAddress;
  /** Keys of every address known to name this client's server (see {@link addressKey}). */
  readonly #own = new Set<string>();
  /**
   * The client of each manager met so far, by address key: this one, and one per other manager
   * whose proxies arrived inside values (shared by all of them; the first client owns it).
   */
  readonly #family: Map<string, ManagerClient>;
  readonly #ownsFamily: boolean;
  /** typeid → Python proxy class name seen in `RebuildProxy` values from the server. */
  readonly #pyClasses = new Map<string, string>();
  /** Increfs of proxies received inside replies, still in flight. */
  readonly #increfs = new Set<Promise<void>>();
  /** Decrefs in flight (or waiting for their turn to connect). */
  readonly #releasing = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;
  #closed = false;

  /** @internal use {@link connectManager}. */
  constructor(address: Address, options: ManagerOptions, serverAddress: TokenAddress, family?: Map<string, ManagerClient>) {
    this.address = address;
    this.#options = options;
    this.serializer = options.serializer ?? 'pickle';
    this.#codec = managerCodec(this.serializer, options.pickle, options.pickleProtocol ?? 2);
    this.#pool = new ChannelPool(() => this.#openChannel(), options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    this.#serverAddress = serverAddress;
    this.#ownsFamily = family === undefined;
    this.#family = family ?? new Map();
    const connected = isTcp(address) ? ([address[0], address[1]] as const) : address;
    for (const a of [connected, serverAddress]) this.#addOwn(a);
  }

  /** True once `close()` or `shutdown()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined || this.#closed;
  }
  /** Pickle protocol used for requests. */
  get pickleProtocol(): number {
    return this.#codec.protocol;
  }
  /** Proxies created by this client and not yet released. */
  get liveProxies(): number {
    return this.#live.size;
  }
  /** Object-call connections currently open (pooled ones; dedicated ones not counted). */
  get openConnections(): number {
    return this.#pool.size;
  }

  // ------------------------------------------------------------------ connections

  get #controlTimeout(): number {
    return this.#options.controlTimeout ?? 30_000;
  }

  /**
   * The caller's `{ timeout, signal }` with what is left since `started`, or, when the caller gave
   * no timeout, `controlTimeout` counted from now.
   */
  #stepOptions(options: WaitOptions | undefined, started: number): WaitOptions {
    const timeout = options?.timeout === undefined ? this.#controlTimeout : options.timeout - (Date.now() - started);
    return { timeout, ...(options?.signal ? { signal: options.signal } : {}) };
  }

  /** Connect and authenticate, once it is this attempt's turn (waited for under the caller's options). */
  async #connect(options: WaitOptions | undefined): Promise<Connection> {
    const started = Date.now();
    const leave = await this.#gate.enter(options);
    try {
      const step = this.#stepOptions(options, started);
      checkNotCancelled(step, 'connect');
      const o = this.#options;
      return await connect(this.address, { authkey: o.authkey, ...(o.dialect ? { dialect: o.dialect } : {}), ...step });
    } finally {
      leave();
    }
  }

  async #openChannel(): Promise<Channel> {
    const conn = await this.#connect(undefined);
    const ch = new Channel(conn, this.#codec);
    try {
      const reply = await ch.request(null, 'accept_connection', [this.#options.processName ?? 'NodeProcess'], {}, { timeout: this.#controlTimeout });
      this.#check(reply);
    } catch (e) {
      ch.destroy();
      throw e;
    }
    return ch;
  }

  /**
   * One server request on a fresh authenticated connection, as CPython's `dispatch` does. Resolves
   * with the `#RETURN` value; other replies reject with {@link RemoteError}. With `retry`, a
   * connection whose setup timed out (nothing was sent yet) is tried once more while the caller's
   * deadline allows: refcount changes must not be lost to a busy listener.
   */
  async #control(method: ServerMethod, args: readonly unknown[] = [], kwds: unknown = {}, options?: WaitOptions, retry = false): Promise<unknown> {
    const started = Date.now();
    let conn: Connection;
    try {
      conn = await this.#connect(options);
    } catch (e) {
      const rest = remainingOptions(options, started);
      if (!retry || !(e instanceof TimeoutError) || rest?.signal?.aborted || (rest?.timeout !== undefined && rest.timeout <= 0)) throw e;
      conn = await this.#connect(rest);
    }
    try {
      await conn.sendBytes(this.#codec.encodeRequest(null, method, args, kwds));
      const frame = await conn.recvBytes(undefined, this.#stepOptions(options, started));
      if (this.serializer === 'pickle' && this.#options.pickleProtocol === undefined) {
        const p = this.#codec.protocolOf(frame);
        if (p !== undefined && p >= 2) this.#codec.protocol = Math.min(p, 5);
      }
      return this.#check(parseReply(this.#codec.decode(frame)));
    } finally {
      conn.close();
    }
  }

  /** `#RETURN` → value; everything else → RemoteError. */
  #check(reply: Reply): unknown {
    switch (reply.kind) {
      case RETURN:
        return reply.value;
      case ERROR:
        throw errorFromException(reply.value);
      case TRACEBACK:
      case UNSERIALIZABLE:
        throw errorFromTraceback(reply.kind, reply.value);
      default:
        throw new RemoteError(`Unrecognized message type ${JSON.stringify(reply.kind)}`);
    }
  }

  // ------------------------------------------------------------------ server methods

  /** `dummy`: the connectivity check `BaseManager.connect()` runs. */
  async dummy(options?: WaitOptions): Promise<void> {
    await this.#control('dummy', [], {}, options);
  }

  /**
   * Create a shared object of `typeid` on the server (`create(typeid, *args, **kwargs)`) and return
   * a proxy owning the new object's reference. `proxyType` overrides the class registered for the
   * typeid.
   * @example
   * ```ts
   * const q = await m.create('get_queue');          // a callable registered on the Python side
   * const d = await m.create('dict', [{ a: 1 }]);
   * ```
   */
  async create<P extends Proxy = Proxy>(
    typeid: string,
    args: readonly unknown[] = [],
    kwargs?: Record<string, unknown> | Map<string, unknown>,
    options: WaitOptions & { proxyType?: ProxyClass<P> } = {},
  ): Promise<P> {
    this.#checkOpen();
    const value = await this.#control('create', [typeid, ...args], kwargs ?? {}, options);
    if (!Array.isArray(value) || value.length !== 2) throw new RemoteError(`unexpected create() reply: ${String(value)}`);
    const [id, exposed] = value as [unknown, unknown];
    const token = new Token(typeid, this.#tokenAddress(), String(id));
    return this.#adopt(token, exposedList(exposed), options.proxyType) as P;
  }

  /** `get_methods(token)`: the names the server lets proxies of this object call. */
  async getMethods(proxy: Proxy, options?: WaitOptions): Promise<string[]> {
    const v = await this.#control('get_methods', [this.wireToken(proxy.token)], {}, options);
    return exposedList(v) ?? [];
  }

  /** `debug_info()`: one entry per live object with its refcount (text as the server formats it). */
  async debugInfo(options?: WaitOptions): Promise<string> {
    return String(await this.#control('debug_info', [], {}, options));
  }

  /** Refcount of each live object, parsed from {@link debugInfo}: ident → refcount. */
  async refcounts(options?: WaitOptions): Promise<Map<string, number>> {
    const text = await this.debugInfo(options);
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^ {2}(\S+):\s+refcount=(\d+)/gm)) out.set(m[1] as string, Number(m[2]));
    return out;
  }

  /** `number_of_objects()`: objects with a refcount above zero. */
  async numberOfObjects(options?: WaitOptions): Promise<number> {
    return Number(await this.#control('number_of_objects', [], {}, options));
  }

  /** `incref(ident)` (normally done for you). */
  async incref(id: string, options?: WaitOptions): Promise<void> {
    await this.#control('incref', [id], {}, options, true);
  }

  /** `decref(ident)` (normally done for you by `release()`). */
  async decref(id: string, options?: WaitOptions): Promise<void> {
    await this.#control('decref', [id], {}, options, true);
  }

  /**
   * Stop the server (`shutdown`; the server process exits) and close this client. Only call it
   * when you own the server.
   */
  async shutdown(options?: WaitOptions): Promise<void> {
    this.#checkOpen();
    try {
      await this.#control('shutdown', [], {}, options);
    } finally {
      for (const s of this.#live) s.released = true;
      this.#live.clear();
      await this.close();
    }
  }

  /**
   * Close the connections and release every live proxy (best effort, like a Python process
   * exiting); idempotent, and a second call resolves with the first. Calls still in flight reject
   * with `ConnectionClosedError`; references being taken for replies that already arrived, and
   * releases of garbage-collected proxies waiting for their turn, are completed first. Proxies of
   * other managers met inside values are released too. `release: false` leaves the server
   * references alone; `timeout` bounds each decref (default 5000 ms).
   */
  close(options: { release?: boolean; timeout?: number } = {}): Promise<void> {
    this.#closing ??= this.#shutDown(options);
    return this.#closing;
  }

  async #shutDown(options: { release?: boolean; timeout?: number }): Promise<void> {
    // No reply can bring new proxies after this: in-flight calls end with ConnectionClosedError.
    this.#pool.close();
    for (const p of this.#dedicated.values()) void p.then((ch) => ch.destroy(), () => undefined);
    this.#dedicated.clear();
    for (const ch of this.#detached) ch.destroy();
    this.#detached.clear();
    while (this.#increfs.size > 0) await Promise.allSettled([...this.#increfs]);
    const states = [...this.#live];
    if (options.release !== false && states.length > 0) {
      const timeout = options.timeout ?? 5_000;
      // A few at a time (as the gate lets them through anyway): `timeout` is per decref.
      for (let i = 0; i < states.length; i += CONNECTS_AT_ONCE) {
        await Promise.allSettled(states.slice(i, i + CONNECTS_AT_ONCE).map((s) => this.releaseProxy(s, { timeout })));
      }
    }
    while (this.#releasing.size > 0) await Promise.allSettled([...this.#releasing]);
    this.#closed = true;
    if (this.#ownsFamily) {
      const others = new Set([...this.#family.values()].filter((c) => c !== this));
      await Promise.allSettled([...others].map((c) => c.close(options)));
    }
  }

  /** Closes the client, as `close()` does; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------------ proxies

  /**
   * Use `cls` for proxies of `typeid` (from `create` and from results), like the proxy type given
   * to Python's `BaseManager.register`.
   * @example
   * ```ts
   * m.register('get_queue', QueueProxy);
   * const q = await m.create<QueueProxy>('get_queue');
   * ```
   */
  register(typeid: string, cls: ProxyClass): this {
    this.#types.set(typeid, cls);
    return this;
  }

  #checkOpen(): void {
    if (this.closed) throw new ConnectionClosedError('manager client is closed');
  }

  /** Tokens carry the address we connect to (§5.5), as CPython's clients do. */
  #tokenAddress(): TokenAddress {
    const a = this.address;
    return isTcp(a) ? [a[0], a[1]] : (a as string);
  }

  /** Build a proxy that owns one server reference. */
  #adopt(token: Token, exposed: readonly string[] | null, cls?: ProxyClass): Proxy {
    const { proxy, state } = this.#make(token, exposed, cls);
    this.#track(proxy, state);
    return proxy;
  }

  /** A proxy that does not own a reference yet (`released` until tracked). */
  #make(token: Token, exposed: readonly string[] | null, cls?: ProxyClass, pyClass?: string): { proxy: Proxy; state: ProxyState } {
    const state: ProxyState = { id: token.id, released: true, dedicated: DEDICATED_TYPEIDS.has(token.typeid), ...(pyClass ? { pyClass } : {}) };
    const Cls = cls ?? this.#types.get(token.typeid) ?? Proxy;
    return { proxy: new Cls({ host: this, token, exposed, state }), state };
  }

  #track(proxy: Proxy, state: ProxyState): void {
    state.released = false;
    this.#live.add(state);
    registry.register(proxy, { client: this, state }, state);
  }

  /** A token as the server knows it: its own address (learned from tokens it sent). */
  wireToken(token: Token): Token {
    return new Token(token.typeid, this.#serverAddress, token.id);
  }

  /**
   * @internal ProxyHost: the Python proxy class for pickling `proxy`: the class of the
   * `RebuildProxy` it arrived in, else the Python name of its JS class (`DictProxy` → 'DictProxy'),
   * else what the server used for its typeid, else the SyncManager registry's, else 'AutoProxy'.
   */
  proxyClassName(proxy: Proxy, state: ProxyState): string {
    return state.pyClass ?? pythonProxyClass(proxy) ?? this.#pyClasses.get(proxy.typeid) ?? SYNC_MANAGER_REGISTRY[proxy.typeid]?.proxy ?? 'AutoProxy';
  }

  #addOwn(address: TokenAddress | Address): void {
    const key = addressKey(address);
    if (key === undefined) return;
    this.#own.add(key);
    if (!this.#family.has(key)) this.#family.set(key, this);
  }

  /**
   * Whether a token found inside a value names an object of this client's server: its address is
   * one this server is known by (connected to, resolved, `serverAddress`, or from a `#PROXY`
   * reply), or its host is a wildcard (`0.0.0.0`) with our port, as written by a server bound to
   * every interface. A token without an address (None) is taken as ours.
   */
  #isOwn(address: TokenAddress): boolean {
    if (address === null) return true;
    if (this.#own.has(addressKey(address) as string)) return true;
    const here = this.address;
    return Array.isArray(address) && isTcp(here) && WILDCARD_HOSTS.has(address[0]) && address[1] === here[1];
  }

  /**
   * The client responsible for `address`: this one, or the family's client of that other manager
   * (created on first use with this client's authkey and options, as CPython's `RebuildProxy`
   * connects a proxy of another manager with the process's authkey).
   */
  #clientFor(address: TokenAddress): ManagerClient {
    if (address === null || this.#isOwn(address)) return this;
    const key = addressKey(address) as string;
    let client = this.#family.get(key);
    if (client === undefined) {
      const options: ManagerOptions = { ...this.#options, serverAddress: undefined, timeout: undefined, signal: undefined };
      client = new ManagerClient(connectable(address), options, address, this.#family);
      this.#family.set(key, client);
    }
    return client;
  }

  /** A `#PROXY` reply's token carries the server's own address: remember it as ours. */
  #learn(token: Token): void {
    this.#addOwn(token.address);
    if (token.address !== null && this.#options.serverAddress === undefined) this.#serverAddress = token.address;
    token.address = this.#tokenAddress();
  }

  /** A proxy for a `RebuildProxy` found inside a reply, owned by this client (not incref'd yet). */
  #receive(ref: ProxyReference): Received {
    const pyClass = ref.func instanceof PyGlobal && ref.func.module === MANAGERS_MODULE ? ref.func.name : undefined;
    if (pyClass !== undefined) this.#pyClasses.set(ref.token.typeid, pyClass);
    ref.token.address = this.#tokenAddress();
    return { client: this, ...this.#make(ref.token, ref.exposed ?? null, undefined, pyClass) };
  }

  /**
   * @internal ProxyHost: run one method call. A call whose signal already fired (or whose timeout
   * is already over) is rejected without being sent. `late` keeps the connection when the call is
   * abandoned after it was sent (see `LateReplyHandler`).
   */
  async invoke(
    proxy: Proxy,
    state: ProxyState,
    method: string,
    args: readonly unknown[],
    kwargs: unknown,
    options?: CallOptions,
    late?: LateReplyHandler,
  ): Promise<unknown> {
    if (state.released) throw new ConnectionClosedError(`proxy ${proxy.typeid} ${state.id} was released`);
    this.#checkOpen();
    checkNotCancelled(options, `${method} call`);
    let pending: Received[] | undefined;
    const onProxy = (ref: ProxyReference): unknown => {
      // A proxy of another manager is served (and incref'd) by the client of that manager.
      const made = this.#clientFor(ref.token.address).#receive(ref);
      (pending ??= []).push(made);
      return made.proxy;
    };
    // `timeout` bounds the whole call: waiting for a free connection plus waiting for the reply.
    const started = options?.timeout === undefined ? 0 : Date.now();
    const run = (ch: Channel): Promise<Reply> => ch.request(state.id, method, args, kwargs, remainingOptions(options, started), onProxy, late);
    let reply: Reply;
    if (state.dedicated) {
      let chp = this.#dedicated.get(state);
      if (!chp) {
        chp = this.#openChannel();
        this.#dedicated.set(state, chp);
        chp.catch(() => this.#dedicated.delete(state));
      }
      const opening = chp;
      const ch =
        options?.signal === undefined && options?.timeout === undefined
          ? await opening
          : await waitFor<Channel>(
              remainingOptions(options, started),
              (resolve, reject) => {
                opening.then(resolve, reject);
                return () => undefined;
              },
              'opening a manager connection',
            );
      try {
        reply = await run(ch);
      } finally {
        if (!ch.usable) this.#dedicated.delete(state);
      }
    } else {
      reply = await this.#pool.use(run, options);
    }
    // Proxies pickled inside the value: incref each, as CPython's unpickling does.
    if (pending !== undefined) await this.#increfReceived(pending);
    if (reply.kind === PROXY) {
      const [exposed, token] = (Array.isArray(reply.value) ? reply.value : []) as [unknown, unknown];
      if (!(token instanceof Token)) throw new RemoteError('#PROXY reply without a Token');
      this.#learn(token);
      // The server already holds one reference for us (§5.6): adopt it.
      return this.#adopt(token, exposedList(exposed));
    }
    return this.#check(reply);
  }

  /** Incref every received proxy on its own server (tracked, so that `close()` waits for them). */
  #increfReceived(received: Received[]): Promise<void> {
    return heldIn(this.#increfs, this.#increfAll(received));
  }

  async #increfAll(received: Received[]): Promise<void> {
    const results = await Promise.allSettled(received.map((r) => r.client.#control('incref', [r.state.id], {}, undefined, true)));
    let failure: unknown;
    const taken: Received[] = [];
    results.forEach((r, i) => {
      const p = received[i] as Received;
      if (r.status === 'rejected') failure ??= r.reason;
      else {
        p.client.#track(p.proxy, p.state);
        taken.push(p);
      }
    });
    if (failure === undefined) return;
    // The caller gets no value, so nobody could release these: give them back now.
    await Promise.allSettled(taken.map((p) => p.client.releaseProxy(p.state)));
    throw failure;
  }

  /** @internal ProxyHost: decref once (a decref whose connection setup timed out is retried once). */
  async releaseProxy(state: ProxyState, options?: CallOptions): Promise<void> {
    if (state.released) return;
    state.released = true;
    this.#live.delete(state);
    registry.unregister(state);
    const ch = this.#dedicated.get(state);
    if (ch) {
      this.#dedicated.delete(state);
      void ch.then((c) => this.#closeDedicated(c), () => undefined);
    }
    if (this.#closed) return;
    await heldIn(this.#releasing, this.#control('decref', [state.id], {}, options, true).then(() => undefined));
  }

  /**
   * Close the dedicated channel of a released proxy. One still waiting for the reply of an
   * abandoned acquire is closed once that is answered (and the lock given back), since closing it
   * now would leave the server thread to take the lock with nobody to release it.
   */
  #closeDedicated(ch: Channel): void {
    const lingering = ch.lingering;
    if (lingering === undefined || this.closed) {
      ch.close();
      return;
    }
    this.#detached.add(ch);
    void lingering.then(() => {
      this.#detached.delete(ch);
      ch.close();
    });
  }

  /** @internal ProxyHost: incref and make a second proxy with its own connection. */
  async forkProxy(proxy: Proxy, state: ProxyState, options?: CallOptions): Promise<Proxy> {
    if (state.released) throw new ConnectionClosedError('proxy was released');
    await this.#control('incref', [state.id], {}, options, true);
    const token = new Token(proxy.token.typeid, proxy.token.address, proxy.token.id);
    const s: ProxyState = { id: state.id, released: false, dedicated: true, ...(state.pyClass ? { pyClass: state.pyClass } : {}) };
    const p = new (proxy.constructor as ProxyClass)({ host: this, token, exposed: proxy.exposed, state: s });
    this.#track(p, s);
    return p;
  }

  /** @internal FinalizationRegistry: a proxy was garbage-collected without release. */
  _collect(state: ProxyState): void {
    if (state.released || this.#closed) return;
    this.releaseProxy(state).catch(() => undefined);
  }

  // ------------------------------------------------------------------ SyncManager typeids

  /** `SyncManager.dict(init)`. */
  dict<K = unknown, V = unknown>(init?: Record<string, V> | Map<K, V>, options?: WaitOptions): Promise<DictProxy<K, V>> {
    return this.create('dict', init === undefined ? [] : [init], undefined, { ...options, proxyType: DictProxy as ProxyClass<DictProxy<K, V>> });
  }
  /** `SyncManager.list(init)`. */
  list<T = unknown>(init?: Iterable<T>, options?: WaitOptions): Promise<ListProxy<T>> {
    return this.create('list', init === undefined ? [] : [Array.from(init)], undefined, { ...options, proxyType: ListProxy as ProxyClass<ListProxy<T>> });
  }
  /** `SyncManager.set(init)` (CPython 3.14+ servers, and mpwire's `serveManager`). */
  set<T = unknown>(init?: Iterable<T>, options?: WaitOptions): Promise<SetProxy<T>> {
    return this.create('set', init === undefined ? [] : [new Set(init)], undefined, { ...options, proxyType: SetProxy as ProxyClass<SetProxy<T>> });
  }
  /** `SyncManager.Queue(maxsize)`. */
  Queue<T = unknown>(maxsize?: number, options?: WaitOptions): Promise<QueueProxy<T>> {
    return this.create('Queue', maxsize === undefined ? [] : [maxsize], undefined, { ...options, proxyType: QueueProxy as ProxyClass<QueueProxy<T>> });
  }
  /** `SyncManager.JoinableQueue(maxsize)`. */
  JoinableQueue<T = unknown>(maxsize?: number, options?: WaitOptions): Promise<QueueProxy<T>> {
    return this.create('JoinableQueue', maxsize === undefined ? [] : [maxsize], undefined, { ...options, proxyType: QueueProxy as ProxyClass<QueueProxy<T>> });
  }
  /** `SyncManager.Namespace(**attrs)`. */
  Namespace(attrs?: Record<string, unknown>, options?: WaitOptions): Promise<NamespaceProxy> {
    return this.create('Namespace', [], attrs ?? {}, { ...options, proxyType: NamespaceProxy });
  }
  /** `SyncManager.Value(typecode, value)`. */
  Value<T = unknown>(typecode: string, value: T, options?: WaitOptions): Promise<ValueProxy<T>> {
    return this.create('Value', [typecode, value], undefined, { ...options, proxyType: ValueProxy as ProxyClass<ValueProxy<T>> });
  }
  /** `SyncManager.Array(typecode, sequence)`. */
  Array<T = unknown>(typecode: string, sequence: Iterable<T>, options?: WaitOptions): Promise<ArrayProxy<T>> {
    return this.create('Array', [typecode, Array.from(sequence)], undefined, { ...options, proxyType: ArrayProxy as ProxyClass<ArrayProxy<T>> });
  }
  /** `SyncManager.Lock()`. */
  Lock(options?: WaitOptions): Promise<AcquirerProxy> {
    return this.create('Lock', [], undefined, { ...options, proxyType: AcquirerProxy });
  }
  /** `SyncManager.RLock()`. */
  RLock(options?: WaitOptions): Promise<AcquirerProxy> {
    return this.create('RLock', [], undefined, { ...options, proxyType: AcquirerProxy });
  }
  /** `SyncManager.Semaphore(value)`; `value` defaults to 1. */
  Semaphore(value = 1, options?: WaitOptions): Promise<AcquirerProxy> {
    return this.create('Semaphore', [value], undefined, { ...options, proxyType: AcquirerProxy });
  }
  /** `SyncManager.BoundedSemaphore(value)`; `value` defaults to 1. */
  BoundedSemaphore(value = 1, options?: WaitOptions): Promise<AcquirerProxy> {
    return this.create('BoundedSemaphore', [value], undefined, { ...options, proxyType: AcquirerProxy });
  }
  /** `SyncManager.Condition(lock)`; `lock` may be a Lock/RLock proxy from this manager. */
  Condition(lock?: AcquirerProxy, options?: WaitOptions): Promise<ConditionProxy> {
    return this.create('Condition', lock ? [lock] : [], undefined, { ...options, proxyType: ConditionProxy });
  }
  /** `SyncManager.Event()`. */
  Event(options?: WaitOptions): Promise<EventProxy> {
    return this.create('Event', [], undefined, { ...options, proxyType: EventProxy });
  }
  /** `SyncManager.Pool(processes)`: a process pool in the manager's process (see {@link PoolProxy}). */
  Pool(processes?: number, options?: WaitOptions): Promise<PoolProxy> {
    return this.create('Pool', processes === undefined ? [] : [processes], undefined, { ...options, proxyType: PoolProxy });
  }
  /** `SyncManager.Barrier(parties, timeout=…)` (`timeout` in milliseconds). */
  Barrier(parties: number, opts: { timeout?: number } & WaitOptions = {}): Promise<BarrierProxy> {
    const kw = opts.timeout === undefined ? {} : { timeout: opts.timeout / 1000 };
    return this.create('Barrier', [parties], kw, { ...(opts.signal ? { signal: opts.signal } : {}), proxyType: BarrierProxy });
  }
}

function exposedList(v: unknown): string[] | null {
  return Array.isArray(v) ? v.map(String) : null;
}

/**
 * Connect to a running manager server (`BaseManager`/`SyncManager` started by Python with
 * `start()`, `get_server().serve_forever()`, …), check it with `dummy` as `BaseManager.connect()`
 * does, and return a {@link ManagerClient}.
 * @example
 * ```ts
 * const m = await connectManager(['127.0.0.1', 50000], { authkey: 'abc' });
 * const q = await m.create('get_queue');
 * await q.call('put', [{ job: 1 }]);
 * ```
 */
export async function connectManager(address: Address, options: ManagerOptions): Promise<ManagerClient> {
  if (options.authkey === undefined || options.authkey === null) throw new TypeError('connectManager needs an authkey (managers always authenticate)');
  let serverAddress: TokenAddress = null;
  if (isTcp(address)) {
    const host = address[0];
    const ip = net.isIP(host) ? host : (await lookup(host, { family: 4 })).address;
    serverAddress = [ip, address[1]];
  } else if (typeof address === 'string') {
    serverAddress = address.startsWith('\0') ? Buffer.from(address, 'latin1') : address;
  }
  if (options.serverAddress !== undefined) serverAddress = options.serverAddress;
  const client = new ManagerClient(address, options, serverAddress);
  await client.dummy(options);
  return client;
}

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
import { ConnectionClosedError, RemoteError } from '../errors.js';
import { type PickleCodecOptions, PyGlobal } from '../pickle/index.js';
import { type Address, type Connection, connect } from '../wire/index.js';
import type { WaitOptions } from '../wire/deadline.js';
import { type ManagerCodec, type Serializer, managerCodec } from './codec.js';
import { Channel, ChannelPool, DEFAULT_MAX_CONNECTIONS } from './pool.js';
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
  /** Milliseconds each control connection (create, incref, decref, …) may take, default 30000. */
  controlTimeout?: number;
  /**
   * The server's own view of its address, written into proxies sent inside values so that the
   * server recognises them as its own (§5.5). Default: learned from the first token the server
   * sends; before that, the address connected to with the host resolved to an IP.
   */
  serverAddress?: readonly [string, number] | string;
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
  readonly #live = new Set<ProxyState>();
  readonly #dedicated = new Map<ProxyState, Promise<Channel>>();
  readonly #types = new Map<string, ProxyClass>(Object.entries(PROXY_TYPES));
  #serverAddress: TokenAddress;
  /** typeid → Python proxy class name seen in `RebuildProxy` values from the server. */
  readonly #pyClasses = new Map<string, string>();
  #closed = false;

  /** @internal use {@link connectManager}. */
  constructor(address: Address, options: ManagerOptions, serverAddress: TokenAddress) {
    this.address = address;
    this.#options = options;
    this.serializer = options.serializer ?? 'pickle';
    this.#codec = managerCodec(this.serializer, options.pickle, options.pickleProtocol ?? 2);
    this.#pool = new ChannelPool(() => this.#openChannel(), options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    this.#serverAddress = serverAddress;
  }

  /** True once `close()` or `shutdown()` was called. */
  get closed(): boolean {
    return this.#closed;
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

  async #connect(options?: WaitOptions): Promise<Connection> {
    const o = this.#options;
    return connect(this.address, {
      authkey: o.authkey,
      ...(o.dialect ? { dialect: o.dialect } : {}),
      ...(options?.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(options?.signal ? { signal: options.signal } : {}),
    });
  }

  async #openChannel(): Promise<Channel> {
    const conn = await this.#connect({ timeout: this.#options.controlTimeout ?? 30_000 });
    const ch = new Channel(conn, this.#codec);
    try {
      const reply = await ch.request(null, 'accept_connection', [this.#options.processName ?? 'NodeProcess'], {}, { timeout: this.#options.controlTimeout ?? 30_000 });
      this.#check(reply);
    } catch (e) {
      ch.destroy();
      throw e;
    }
    return ch;
  }

  /**
   * One server request on a fresh authenticated connection, as CPython's `dispatch` does. Resolves
   * with the `#RETURN` value; other replies reject with {@link RemoteError}.
   */
  async #control(method: ServerMethod, args: readonly unknown[] = [], kwds: unknown = {}, options?: WaitOptions): Promise<unknown> {
    const opts = { timeout: options?.timeout ?? this.#options.controlTimeout ?? 30_000, ...(options?.signal ? { signal: options.signal } : {}) };
    const conn = await this.#connect(opts);
    try {
      await conn.sendBytes(this.#codec.encodeRequest(null, method, args, kwds));
      const frame = await conn.recvBytes(undefined, opts);
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
    await this.#control('incref', [id], {}, options);
  }

  /** `decref(ident)` (normally done for you by `release()`). */
  async decref(id: string, options?: WaitOptions): Promise<void> {
    await this.#control('decref', [id], {}, options);
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
   * Release every live proxy (best effort, like a Python process exiting) and close the
   * connections (idempotent). `release: false` leaves the server references alone.
   */
  async close(options: { release?: boolean; timeout?: number } = {}): Promise<void> {
    if (this.#closed) return;
    const states = [...this.#live];
    if (options.release !== false && states.length > 0) {
      const timeout = options.timeout ?? 5_000;
      // A few at a time: every decref is its own authenticated connection.
      for (let i = 0; i < states.length; i += 8) {
        await Promise.allSettled(states.slice(i, i + 8).map((s) => this.releaseProxy(s, { timeout })));
      }
    }
    this.#closed = true;
    this.#pool.close();
    for (const p of this.#dedicated.values()) void p.then((ch) => ch.close(), () => undefined);
    this.#dedicated.clear();
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
    if (this.#closed) throw new ConnectionClosedError('manager client is closed');
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
  #make(token: Token, exposed: readonly string[] | null, cls?: ProxyClass): { proxy: Proxy; state: ProxyState } {
    const state: ProxyState = { id: token.id, released: true, dedicated: DEDICATED_TYPEIDS.has(token.typeid) };
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

  /** @internal ProxyHost: the Python proxy class for pickling a proxy of `typeid`. */
  proxyClassName(typeid: string): string {
    return this.#pyClasses.get(typeid) ?? SYNC_MANAGER_REGISTRY[typeid]?.proxy ?? 'AutoProxy';
  }

  #learn(token: Token): void {
    if (token.address !== null && this.#options.serverAddress === undefined) this.#serverAddress = token.address;
    token.address = this.#tokenAddress();
  }

  /** @internal ProxyHost: run one method call. */
  async invoke(proxy: Proxy, state: ProxyState, method: string, args: readonly unknown[], kwargs: unknown, options?: CallOptions): Promise<unknown> {
    if (state.released) throw new ConnectionClosedError(`proxy ${proxy.typeid} ${state.id} was released`);
    this.#checkOpen();
    let pending: Array<{ proxy: Proxy; state: ProxyState }> | undefined;
    const onProxy = (ref: ProxyReference): unknown => {
      this.#learn(ref.token);
      if (ref.func instanceof PyGlobal && ref.func.module === MANAGERS_MODULE) this.#pyClasses.set(ref.token.typeid, ref.func.name);
      const made = this.#make(ref.token, ref.exposed ?? null);
      (pending ??= []).push(made);
      return made.proxy;
    };
    // `timeout` bounds the whole call: waiting for a free connection plus waiting for the reply.
    const started = options?.timeout === undefined ? 0 : Date.now();
    const run = (ch: Channel): Promise<Reply> => {
      const rest = options?.timeout === undefined ? options : { ...options, timeout: Math.max(0, options.timeout - (Date.now() - started)) };
      return ch.request(state.id, method, args, kwargs, rest, onProxy);
    };
    let reply: Reply;
    if (state.dedicated) {
      let chp = this.#dedicated.get(state);
      if (!chp) {
        chp = this.#openChannel();
        this.#dedicated.set(state, chp);
        chp.catch(() => this.#dedicated.delete(state));
      }
      const ch = await chp;
      try {
        reply = await run(ch);
      } finally {
        if (!ch.usable) this.#dedicated.delete(state);
      }
    } else {
      reply = await this.#pool.use(run, options);
    }
    // Proxies pickled inside the value: incref each, as CPython's unpickling does.
    if (pending !== undefined) await this.#increfPending(pending);
    if (reply.kind === PROXY) {
      const [exposed, token] = (Array.isArray(reply.value) ? reply.value : []) as [unknown, unknown];
      if (!(token instanceof Token)) throw new RemoteError('#PROXY reply without a Token');
      this.#learn(token);
      // The server already holds one reference for us (§5.6): adopt it.
      return this.#adopt(token, exposedList(exposed));
    }
    return this.#check(reply);
  }

  async #increfPending(pending: Array<{ proxy: Proxy; state: ProxyState }>): Promise<void> {
    const results = await Promise.allSettled(pending.map((p) => this.#control('incref', [p.state.id])));
    let failure: unknown;
    results.forEach((r, i) => {
      const p = pending[i] as { proxy: Proxy; state: ProxyState };
      if (r.status === 'fulfilled') this.#track(p.proxy, p.state);
      else failure ??= r.reason;
    });
    if (failure !== undefined) throw failure;
  }

  /** @internal ProxyHost: decref once. */
  async releaseProxy(state: ProxyState, options?: CallOptions): Promise<void> {
    if (state.released) return;
    state.released = true;
    this.#live.delete(state);
    registry.unregister(state);
    const ch = this.#dedicated.get(state);
    if (ch) {
      this.#dedicated.delete(state);
      void ch.then((c) => c.close(), () => undefined);
    }
    if (this.#closed) return;
    await this.#control('decref', [state.id], {}, options);
  }

  /** @internal ProxyHost: incref and make a second proxy with its own connection. */
  async forkProxy(proxy: Proxy, state: ProxyState, options?: CallOptions): Promise<Proxy> {
    if (state.released) throw new ConnectionClosedError('proxy was released');
    await this.#control('incref', [state.id], {}, options);
    const token = new Token(proxy.token.typeid, proxy.token.address, proxy.token.id);
    const s: ProxyState = { id: state.id, released: false, dedicated: true };
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

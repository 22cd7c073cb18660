/**
 * A minimal manager server written with mpwire's own wire layer, for unit tests of the client
 * (pool discipline, refcounts, failures) without Python. It records what it sees.
 */
import { type Connection, type Listener, listen } from '../../src/index.js';
import { PyException, dumps, loads, tuple } from '../../src/pickle/index.js';

export const FAKE_KEY = 'fake-key';

export interface FakeStats {
  requests: Array<[string | null, string, unknown[], unknown]>;
  /** Object-call connections accepted. */
  channels: number;
  /** Most object-call requests in progress at once, over all connections. */
  maxInFlight: number;
  /** A second request arrived on a connection before the first was answered. */
  interleaved: number;
  decrefs: string[];
  increfs: string[];
  closedChannels: number;
}

export class FakeManager {
  readonly stats: FakeStats = { requests: [], channels: 0, maxInFlight: 0, interleaved: 0, decrefs: [], increfs: [], closedChannels: 0 };
  readonly objects = new Map<string, { value: Map<unknown, unknown>; refcount: number }>();
  readonly conns = new Set<Connection>();
  #next = 0x1000;
  #inFlight = 0;

  private constructor(readonly listener: Listener) {}

  static async start(): Promise<FakeManager> {
    const listener = await listen(['127.0.0.1', 0], { authkey: FAKE_KEY });
    const fake = new FakeManager(listener);
    void (async () => {
      for await (const conn of listener) {
        fake.conns.add(conn);
        void fake.#serve(conn).finally(() => fake.conns.delete(conn));
      }
    })();
    return fake;
  }

  get address(): [string, number] {
    return this.listener.address as [string, number];
  }

  /** Objects with refcount > 0. */
  get live(): number {
    return this.objects.size;
  }

  async #send(conn: Connection, kind: string, value: unknown): Promise<void> {
    await conn.sendBytes(dumps(tuple(kind, value), { protocol: 4 }));
  }

  async #recv(conn: Connection): Promise<[string | null, string, unknown[], unknown] | undefined> {
    try {
      const m = loads(await conn.recvBytes()) as [string | null, string, unknown[], unknown];
      this.stats.requests.push([m[0], m[1], m[2], m[3]]);
      return m;
    } catch {
      return undefined;
    }
  }

  async #serve(conn: Connection): Promise<void> {
    const req = await this.#recv(conn);
    if (!req) return;
    const [, method, args] = req;
    switch (method) {
      case 'dummy':
        return this.#send(conn, '#RETURN', null);
      case 'create': {
        const id = (this.#next++).toString(16);
        this.objects.set(id, { value: new Map(), refcount: 1 });
        return this.#send(conn, '#RETURN', tuple(id, tuple('__getitem__', '__setitem__', 'sleep', 'hang')));
      }
      case 'incref': {
        const o = this.objects.get(String(args[0]));
        this.stats.increfs.push(String(args[0]));
        if (!o) return this.#send(conn, '#TRACEBACK', 'KeyError');
        o.refcount++;
        return this.#send(conn, '#RETURN', null);
      }
      case 'decref': {
        const id = String(args[0]);
        this.stats.decrefs.push(id);
        const o = this.objects.get(id);
        if (!o) return this.#send(conn, '#TRACEBACK', `KeyError: '${id}'`);
        if (--o.refcount === 0) this.objects.delete(id);
        return this.#send(conn, '#RETURN', null);
      }
      case 'number_of_objects':
        return this.#send(conn, '#RETURN', this.objects.size);
      case 'accept_connection':
        await this.#send(conn, '#RETURN', null);
        this.stats.channels++;
        return this.#channel(conn);
      default:
        return this.#send(conn, '#TRACEBACK', `AssertionError: '${method}' unrecognized`);
    }
  }

  async #channel(conn: Connection): Promise<void> {
    for (;;) {
      const req = await this.#recv(conn);
      if (!req) {
        this.stats.closedChannels++;
        return;
      }
      this.#inFlight++;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.#inFlight);
      try {
        const [ident, method, args] = req;
        const o = this.objects.get(String(ident));
        if (!o) {
          await this.#send(conn, '#TRACEBACK', `KeyError: '${String(ident)}'`);
          continue;
        }
        if (method === 'sleep' || method === 'hang') {
          await new Promise((r) => setTimeout(r, method === 'hang' ? 60_000 : Number(args[0])));
        } else {
          await new Promise((r) => setImmediate(r));
        }
        // Nothing else may arrive on this connection before the reply.
        if (await conn.poll(0)) this.stats.interleaved++;
        if (method === '__setitem__') {
          o.value.set(args[0], args[1]);
          await this.#send(conn, '#RETURN', null);
        } else if (method === '__getitem__') {
          if (o.value.has(args[0])) await this.#send(conn, '#RETURN', o.value.get(args[0]));
          else await this.#send(conn, '#ERROR', new PyException('builtins', 'KeyError', [args[0]]));
        } else if (method === 'sleep') {
          await this.#send(conn, '#RETURN', args[0]);
        } else {
          await this.#send(conn, '#TRACEBACK', `AttributeError: ${method}`);
        }
      } catch {
        return;
      } finally {
        this.#inFlight--;
      }
    }
  }

  /** Drop every connection at once (a crashed server). */
  kill(): void {
    void this.listener.close();
    for (const c of this.conns) c.destroy();
  }

  async close(): Promise<void> {
    await this.listener.close();
    for (const c of this.conns) c.destroy();
  }
}

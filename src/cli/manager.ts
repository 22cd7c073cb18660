/**
 * `mpwire manager ADDRESS TYPEID [METHOD ARGS…]`: create a shared object on a manager and call it.
 * @module
 */
import { type Serializer, Proxy, connectManager } from '../managers/index.js';
import type { Address } from '../wire/index.js';
import { UsageError } from './errors.js';
import { parseValue } from './literal.js';
import { pyRepr, toJson } from './repr.js';

/** Options of {@link managerCommand}. */
export interface ManagerCommandOptions {
  authkey: string;
  serializer: string;
  json?: boolean;
  timeout: number;
}

/** An ARG: a Python literal or JSON when it parses as one, else the text itself. */
export function parseArg(text: string): unknown {
  try {
    return parseValue(text);
  } catch (e) {
    if (e instanceof UsageError) return text;
    throw e;
  }
}

function show(v: unknown, json: boolean | undefined): string {
  if (v instanceof Proxy) return json ? toJson({ $proxy: v.typeid, id: v.token.id }) : `<${v.typeid} proxy, id ${v.token.id}>`;
  return json ? toJson(v) : pyRepr(v);
}

/** Create `typeid`, optionally call `method(args…)`, print the result, release, close. */
export async function managerCommand(address: Address, typeid: string, method: string | undefined, args: string[], options: ManagerCommandOptions, out: (s: string) => void): Promise<void> {
  if (options.serializer !== 'pickle' && options.serializer !== 'xmlrpclib') throw new UsageError(`--serializer must be pickle or xmlrpclib, got '${options.serializer}'`);
  const m = await connectManager(address, { authkey: options.authkey, serializer: options.serializer as Serializer, timeout: options.timeout, pickle: { exact: true } });
  try {
    const proxy = await m.create(typeid, [], undefined, { timeout: options.timeout });
    try {
      if (method === undefined) {
        const methods = await m.getMethods(proxy, { timeout: options.timeout }).catch(() => [] as string[]);
        out(show(proxy, options.json));
        if (!options.json && methods.length) out(`methods: ${methods.join(', ')}`);
        return;
      }
      const result = await proxy.call(method, args.map(parseArg), undefined, { timeout: options.timeout });
      out(show(result, options.json));
      if (result instanceof Proxy) await result.dispose().catch(() => undefined);
    } finally {
      await proxy.dispose().catch(() => undefined);
    }
  } finally {
    await m.close();
  }
}

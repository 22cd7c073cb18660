/**
 * Helpers of the XML-RPC interop suites: the tagged JSON descriptions written by
 * `xmlrpc_vectors.py` turned into JS values (as `loads` should return them, or as values to
 * `dumps`), and running the script once per interpreter.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { DateTime, Decimal, Double } from '../../src/xmlrpc/index.js';
import { parseDateTime } from '../../src/xmlrpc/types.js';

/** A value as described by the Python script. */
export type Desc =
  | { t: 'nil' }
  | { t: 'bool'; v: boolean }
  | { t: 'int' | 'float' | 'str' | 'bytes' | 'datetime' | 'decimal'; v: string }
  | { t: 'list'; v: Desc[] }
  | { t: 'dict'; v: Array<[string, Desc]> };

export type PyError = { error: string; message?: string; faultCode?: Desc; faultString?: Desc };
export type PyLoads = { params: Desc[]; methodname: string | null } | PyError;

export interface PyReport {
  version: string;
  vectors: Array<{ name: string; frame: string; sent: Desc; loaded: Desc }>;
  documents: Array<{
    name: string;
    text: string;
    params: Desc[] | { fault: [Desc, Desc] };
    options: { methodname?: string; methodresponse?: boolean; encoding?: string; allow_none?: boolean };
    loaded: PyLoads;
  }>;
  inputs: Array<{ name: string; xml: string; result: PyLoads }>;
  errors: Array<{ name: string; error: string | null }>;
  ours: Array<{ loaded: Desc[]; redump: string } | PyError>;
}

export const SCRIPT = fileURLToPath(new URL('./xmlrpc_vectors.py', import.meta.url));

/** Runs the generator once on `py`, handing it `frames`. */
export function runVectors(py: PythonInfo, frames: readonly Uint8Array[]): Promise<PyReport> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      py.path,
      [SCRIPT],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000, env: { ...process.env, PYTHONIOENCODING: 'utf-8', PYENV_VERSION: '' } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${py.path} failed: ${err.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout) as PyReport);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      },
    );
    child.stdin?.end(JSON.stringify({ frames: frames.map((f) => Buffer.from(f).toString('base64')) }));
  });
}

export function pyFloat(text: string): number {
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  if (text === 'nan') return Number.NaN;
  return Number(text);
}

function pyInt(text: string): number | bigint {
  const b = BigInt(text);
  const n = Number(b);
  return Number.isSafeInteger(n) ? n : b;
}

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** The JS value mpwire's `loads` must return for a value Python describes as `d`. */
export function expectedLoaded(d: Desc): unknown {
  switch (d.t) {
    case 'nil':
      return null;
    case 'bool':
      return d.v;
    case 'int':
      return pyInt(d.v);
    case 'float':
      return pyFloat(d.v);
    case 'str':
      return d.v;
    case 'bytes':
      return Buffer.from(d.v, 'base64');
    case 'datetime':
      return new DateTime(d.v);
    case 'decimal':
      return new Decimal(d.v);
    case 'list':
      return d.v.map(expectedLoaded);
    case 'dict': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of d.v) setKey(o, k, expectedLoaded(v));
      return o;
    }
  }
}

/** A JS value that mpwire's `dumps` must write exactly as Python wrote the value described by `d`. */
export function toSend(d: Desc): unknown {
  switch (d.t) {
    case 'float': {
      const x = pyFloat(d.v);
      return Number.isInteger(x) && !Object.is(x, -0) ? new Double(x) : x;
    }
    case 'datetime':
      // Exercise the Date path when the text is a real datetime.
      return parseDateTime(d.v) ?? new DateTime(d.v);
    case 'list':
      return d.v.map(toSend);
    case 'dict':
      return new Map(d.v.map(([k, v]) => [k, toSend(v)]));
    default:
      return expectedLoaded(d);
  }
}

export { normalize } from '../../test/xmlrpc/arbitraries.js';

/** True when a value holds a struct of two or more members (Python 2.7 re-marshals those in hash order). */
export function hasMultiKeyStruct(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasMultiKeyStruct);
  if (v instanceof Map) return v.size > 1 || [...v.values()].some(hasMultiKeyStruct);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof DateTime) && !(v instanceof Date) && !(v instanceof Double)) {
    const vals = Object.values(v);
    return vals.length > 1 || vals.some(hasMultiKeyStruct);
  }
  return false;
}

/** True when a value holds a string with a CR (Python reads it back as LF, so a re-marshal differs). */
export function hasCR(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\r');
  if (Array.isArray(v)) return v.some(hasCR);
  if (v instanceof Map) return [...v].some(([k, x]) => hasCR(k) || hasCR(x));
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof DateTime)) {
    return Object.entries(v).some(([k, x]) => hasCR(k) || hasCR(x));
  }
  return false;
}

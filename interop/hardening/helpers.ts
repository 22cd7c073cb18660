/**
 * Shared helpers of the hardening suite: which interpreters run, file-descriptor counting, typed
 * rejection checks and killing peers.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { MpwireError } from '../../src/index.js';
import { type Peer, interpreters, label } from '../harness.js';

export const KEY = 'hardening-key';

/** CPython 3.x interpreters found, oldest first. */
export async function python3s(): Promise<PythonInfo[]> {
  return (await interpreters()).filter((p) => p.versionTuple[0] === 3).sort((a, b) => cmp(a.versionTuple, b.versionTuple));
}

function cmp(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Oldest and newest 3.x (one entry when only one version is installed). */
export async function oldestAndNewest(): Promise<PythonInfo[]> {
  const all = await python3s();
  const first = all[0];
  const last = all.at(-1);
  if (!first || !last) return [];
  return first === last ? [first] : [first, last];
}

export function names(pys: PythonInfo[]): string {
  return pys.map(label).join(', ') || 'none';
}

/** Open file descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Open TCP sockets of this process (descriptors whose inode is in /proc/net/tcp{,6}), which leaves
 * out the socketpairs libuv uses for the stdio of child processes.
 */
export function socketCount(): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1] as string);
    } catch {
      // closed meanwhile (the directory's own descriptor)
    }
  }
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode !== undefined && inodes.delete(inode)) n++;
    }
  }
  return n;
}

/** Like {@link settleFds}, counting sockets only. */
export async function settleSockets(baseline: number, ms = 5_000): Promise<number> {
  const end = Date.now() + ms;
  let n = socketCount();
  while (n > baseline && Date.now() < end) {
    await sleep(50);
    n = socketCount();
  }
  return n;
}

/**
 * Poll until this process has at most `baseline` open descriptors (sockets close asynchronously)
 * or `ms` have passed; returns the last count.
 */
export async function settleFds(baseline: number, ms = 5_000): Promise<number> {
  const end = Date.now() + ms;
  let n = fdCount();
  while (n > baseline && Date.now() < end) {
    await sleep(50);
    n = fdCount();
  }
  return n;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Outcome of a promise that must reject: the error and how long it took. */
export async function rejection(p: Promise<unknown>, started = Date.now()): Promise<{ error: unknown; ms: number }> {
  try {
    await p;
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected a rejection, got a value');
}

/** True when `e` is an instance of one of `classes` (all of them mpwire errors). */
export function isOneOf(e: unknown, classes: Array<abstract new (...args: never[]) => MpwireError>): boolean {
  return e instanceof MpwireError && classes.some((c) => e instanceof c);
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}(${(e as { code?: string }).code ?? ''}${'reason' in e ? `, ${String((e as { reason: unknown }).reason)}` : ''}): ${e.message}`;
  return String(e);
}

/** SIGKILL the peer and wait until it is gone (its pipes closed). */
export async function kill(peer: Peer): Promise<void> {
  peer.proc.kill('SIGKILL');
  await peer.proc;
}

/** Wait until the peer printed `n` lines starting with `prefix`. */
export async function lines(peer: Peer, prefix: string, n: number, ms = 30_000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const found = peer.lines.filter((l) => l.startsWith(prefix));
    if (found.length >= n) return found;
    if (peer.proc.exitCode !== null || Date.now() > end) {
      throw new Error(`peer printed ${found.length}/${n} "${prefix}" lines: ${peer.lines.join(' | ')} ${peer.stderr().slice(-2000)}`);
    }
    await sleep(20);
  }
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * Process checks shared by the bridge's unit tests and its interop suite (interop/bridge): whether
 * a pid is still running, waiting for it to be gone, and the pid of a grandchild that a Python
 * child started and announced on its stdout.
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Alive and not a zombie (a reparented child may wait for a slow init to reap it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false; // gone between the two checks
  }
}

/** True once `pid` is no longer {@link alive}, checked every 20 ms for up to `ms`. */
export async function gone(pid: number, ms = 5000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

/**
 * The pid a child printed as `GRAND <pid>` on `stdout` (a Python child that started a grandchild
 * with `subprocess.Popen` and wrote `"GRAND %d\n" % p.pid`). Rejects if `stdout` ends first.
 */
export function grandchildPid(stdout: Readable | null): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (!stdout) {
      reject(new Error('the child has no stdout pipe'));
      return;
    }
    let text = '';
    stdout.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /GRAND (\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    stdout.once('end', () => reject(new Error(`the child's stdout ended without a GRAND line: ${JSON.stringify(text)}`)));
  });
}

/**
 * No orphans: every live bridge child (a process group of its own) is killed when Node exits,
 * normally or by SIGINT/SIGTERM/SIGHUP. A SIGKILLed Node is covered on the Python side (the
 * helper asks Linux for PR_SET_PDEATHSIG, and every child sees EOF on its socket).
 * @module
 */

const live = new Set<number>();
let installed = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function killAll(): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // Keep Node's default behaviour (exit by the signal) unless the program handles it itself.
  if (process.listenerCount(signal) <= 1) {
    uninstall();
    process.kill(process.pid, signal);
  }
}

const handlers = new Map<NodeJS.Signals, () => void>();

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const s of SIGNALS) {
    const h = (): void => onSignal(s);
    handlers.set(s, h);
    process.on(s, h);
  }
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', killAll);
  for (const [s, h] of handlers) process.off(s, h);
  handlers.clear();
}

/** Track a child process group until it exits. */
export function track(pid: number): void {
  live.add(pid);
  install();
}

/** Forget a child that exited; the hooks go away with the last one. */
export function untrack(pid: number): void {
  live.delete(pid);
  if (live.size === 0) uninstall();
}

/** Send `signal` to the child's whole process group (its own children included). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  killGroup(pid, signal);
}

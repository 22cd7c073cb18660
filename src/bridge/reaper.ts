/**
 * No orphans: every live bridge child (a process group of its own) is killed when Node exits,
 * normally or by SIGINT/SIGTERM/SIGHUP. A SIGKILLed Node is covered on the Python side (the
 * helper asks Linux for PR_SET_PDEATHSIG, and every child sees EOF on its socket).
 *
 * A group outlives its leader when the child leaves processes behind (`subprocess.Popen` then
 * exit): it stays tracked, and signalled, until it is empty. Signalling `-pid` after the leader
 * exited is safe from pid reuse because the kernel never hands out a pid that is still some
 * group's id; once the group is empty the number may be reused, so before every signal we check
 * that the group still has members and that no process has the leader's pid (the leader was reaped,
 * so one that has it is a newcomer: the group is gone). A watcher forgets empty groups within
 * {@link WATCH_MS}; the window left (reuse between that check and the signal) is a few syscalls.
 * @module
 */

interface Tracked {
  /** The leader (our direct child) has exited and been reaped; only its group may remain. */
  exited: boolean;
  /** Polls an orphaned group until it is empty. */
  watcher?: NodeJS.Timeout;
}

const live = new Map<number, Tracked>();
const goneWaiters = new Map<number, Array<() => void>>();
let installed = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** How often an orphaned group is checked for emptiness. */
const WATCH_MS = 100;

/** Whether a process (or, negative, a group) exists; EPERM means it does, but not ours to signal. */
function exists(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** After its leader was reaped: does group `pid` still have members (and is the id still ours)? */
function orphansAlive(pid: number): boolean {
  return process.platform !== 'win32' && !exists(pid) && exists(-pid);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (live.get(pid)?.exited) {
    // The leader is gone: signal the group only, and only while it is provably still ours.
    if (!orphansAlive(pid)) return;
    try {
      process.kill(-pid, signal);
    } catch {
      /* emptied meanwhile */
    }
    return;
  }
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
  for (const pid of live.keys()) killGroup(pid, 'SIGKILL');
  // The hooks stay installed: onSignal counts its own listener to tell whether the program has one.
  for (const [pid, t] of live) {
    if (t.watcher) clearInterval(t.watcher);
    for (const resolve of goneWaiters.get(pid) ?? []) resolve();
  }
  goneWaiters.clear();
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
  live.set(pid, { exited: false });
  install();
}

/** Stop tracking `pid`; the hooks go away with the last one. */
function forget(pid: number): void {
  const t = live.get(pid);
  if (t?.watcher) clearInterval(t.watcher);
  live.delete(pid);
  for (const resolve of goneWaiters.get(pid) ?? []) resolve();
  goneWaiters.delete(pid);
  if (live.size === 0) uninstall();
}

/**
 * The child (group leader) exited and was reaped. Its group stays tracked, and reachable by
 * {@link signalGroup} and by Node's exit, until it has no members left.
 */
export function untrack(pid: number): void {
  const t = live.get(pid);
  if (!t || t.exited) return;
  t.exited = true;
  if (!orphansAlive(pid)) {
    forget(pid);
    return;
  }
  t.watcher = setInterval(() => {
    if (!orphansAlive(pid)) forget(pid);
  }, WATCH_MS);
  t.watcher.unref(); // leftovers must not keep Node running; its exit kills them
}

/** Resolves once `pid` is no longer tracked: it exited and its process group is empty. */
export function groupGone(pid: number): Promise<void> {
  if (!live.has(pid)) return Promise.resolve();
  return new Promise((resolve) => {
    const list = goneWaiters.get(pid) ?? [];
    list.push(resolve);
    goneWaiters.set(pid, list);
  });
}

/** Whether `signalGroup(pid, …)` still reaches something: the child, or what it left in its group. */
export function groupAlive(pid: number): boolean {
  const t = live.get(pid);
  return t !== undefined && (!t.exited || orphansAlive(pid));
}

/** Send `signal` to the child's whole process group (its own children included, even after the child exited). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  killGroup(pid, signal);
}

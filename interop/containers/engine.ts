/**
 * The Docker side of the container interop suite: the engine (started by `docker/engine-up.sh` when
 * none answers and we are root) and the images (`docker/python-image.sh` for every pyenv or cache
 * interpreter that `findPythons()` finds, `docker/debian-image.sh` for Debian's python3), each
 * cached by tag. Every step has a bounded timeout.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';

export const DOCKER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docker');
export const DEBIAN_TAG = 'mpwire-py:debian';
/** Label of every container the suite starts. */
export const SUITE_LABELS: Record<string, string> = { 'mpwire.suite': 'interop/containers' };

export interface Engine {
  /** Whether `docker info` answers (after starting the engine if we could). */
  available: boolean;
  /** Why not, when it does not. */
  reason: string;
  /** True when this process started dockerd (then it stops it again with {@link stopEngine}). */
  startedHere: boolean;
  /** What engine-up.sh printed, and how long it took. */
  log: string;
  seconds: number;
}

async function dockerAnswers(): Promise<boolean> {
  const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 });
  return r.exitCode === 0;
}

/** Make sure an engine runs: `docker info`, else (as root) `docker/engine-up.sh` (install + dockerd). */
export async function ensureEngine(): Promise<Engine> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (await dockerAnswers()) return { available: true, reason: '', startedHere: false, log: 'engine: running', seconds: seconds() };
  if (process.getuid?.() !== 0) {
    return {
      available: false,
      reason: '`docker info` does not answer and this process is not root, so it cannot install or start dockerd',
      startedHere: false,
      log: '',
      seconds: seconds(),
    };
  }
  const r = await execa('bash', [join(DOCKER_DIR, 'engine-up.sh')], { reject: false, timeout: 900_000, all: true });
  const log = String(r.all ?? '').trim();
  if (r.exitCode !== 0 || !(await dockerAnswers())) {
    const why = /engine: unavailable: (.*)/.exec(log)?.[1] ?? `engine-up.sh exited ${r.exitCode ?? r.signal}`;
    return { available: false, reason: why, startedHere: false, log, seconds: seconds() };
  }
  return { available: true, reason: '', startedHere: /engine: started/.test(log), log, seconds: seconds() };
}

/** Stop the dockerd that {@link ensureEngine} started (docker/engine-down.sh stops nothing else). */
export async function stopEngine(engine: Engine): Promise<string> {
  if (!engine.startedHere) return 'engine: left running (not started by this suite)';
  const r = await execa('bash', [join(DOCKER_DIR, 'engine-down.sh')], { reject: false, timeout: 60_000, all: true });
  return String(r.all ?? '').trim();
}

/** One image of the matrix. */
export interface Image {
  /** Matrix row, e.g. `3.12.1` or `debian 3.11.2`. */
  row: string;
  tag: string;
  /** The interpreter on the host it was made from (undefined for Debian's). */
  host?: PythonInfo;
  /** The interpreter inside, as the peers see it (version read from the image after the build). */
  py?: PythonInfo;
  /** Build output, or why it failed. */
  log: string;
  ok: boolean;
  seconds: number;
}

/** Remove containers left by an earlier run of this suite that was killed (label mpwire.suite). */
export async function removeStaleContainers(): Promise<number> {
  const ps = await execa('docker', ['ps', '-aq', '--filter', `label=mpwire.suite=${SUITE_LABELS['mpwire.suite']}`], { reject: false, timeout: 30_000 });
  const ids = ps.stdout.split(/\s+/).filter(Boolean);
  if (ids.length) await execa('docker', ['rm', '-f', ...ids], { reject: false, timeout: 60_000 });
  return ids.length;
}

/** Images for every interpreter found in pyenv or the mpwire cache, plus Debian's python3. */
export function imageTargets(pythons: PythonInfo[]): Image[] {
  const out: Image[] = pythons
    .filter((p) => p.source === 'pyenv' || p.source === 'cache')
    .map((p) => ({ row: p.version, tag: `mpwire-py:${p.version}`, host: p, log: '', ok: false, seconds: 0 }));
  out.push({ row: 'debian', tag: DEBIAN_TAG, log: '', ok: false, seconds: 0 });
  return out;
}

const PROBE = 'import sys, platform; v = sys.version_info; sys.stdout.write("%d.%d.%d %s" % (v[0], v[1], v[2], platform.python_implementation()))';

async function buildOne(image: Image): Promise<void> {
  const t0 = performance.now();
  const args = image.host ? [join(DOCKER_DIR, 'python-image.sh'), image.host.path, image.tag] : [join(DOCKER_DIR, 'debian-image.sh'), image.tag];
  const r = await execa('bash', args, { reject: false, timeout: 600_000, all: true });
  image.log = String(r.all ?? '').trim();
  if (r.exitCode === 0) {
    const v = await execa('docker', ['run', '--rm', '--network', 'none', image.tag, 'python', '-c', PROBE], { reject: false, timeout: 60_000 });
    const m = /^(\d+)\.(\d+)\.(\d+) (\S+)$/.exec(v.stdout.trim());
    if (m) {
      const tuple = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
      image.py = {
        path: image.host?.path ?? '/usr/bin/python3',
        version: tuple.join('.'),
        versionTuple: tuple,
        implementation: m[4] as string,
        source: image.host ? image.host.source : 'path',
      };
      if (!image.host) image.row = `debian ${image.py.version}`;
      image.ok = !image.host || image.py.version === image.host.version;
      if (!image.ok) image.log += `\nimage ${image.tag} runs Python ${image.py.version}, not ${image.host?.version}`;
    } else {
      image.log += `\nimage ${image.tag} does not run python: ${v.stderr || v.stdout}`.trimEnd();
    }
  }
  image.seconds = (performance.now() - t0) / 1000;
}

/** Build (or find cached) every image, `concurrency` at a time; never throws, see `ok`/`log`. */
export async function ensureImages(images: Image[], concurrency = 3): Promise<void> {
  // Debian's (the slowest, mostly network) first, so that it overlaps with the local copies
  const queue = [...images].sort((a, b) => Number(Boolean(a.host)) - Number(Boolean(b.host)));
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let image = queue.shift(); image; image = queue.shift()) await buildOne(image);
    }),
  );
}

/**
 * The `mpwire` CLI run as a subprocess (execa, the compiled package) against live Python peers:
 * listen, send (values and files), probe, check (CPython Listeners of every version pass; broken
 * TS servers fail on their flaw), dis, and the failure messages and exit codes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PythonInfo } from '../../src/bridge/find-pythons.js';
import { Matrix, atLeast, interpreters, label } from '../harness.js';
import { EXPECTED_FAILS, type Flaw, startBroken } from './broken-servers.js';
import { cliPath } from './build.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const found = await interpreters();
const py3 = found.filter((p) => p.versionTuple[0] === 3);
const py2 = found.find((p) => p.versionTuple[0] === 2);
const newest = py3[py3.length - 1] as PythonInfo;
const matrix = new Matrix('mpwire check against CPython Listeners');
let CLI = '';

beforeAll(() => {
  CLI = cliPath();
}, 120_000);

afterAll(() => {
  console.log(matrix.report(found));
});

function mpwire(args: string[], options: { input?: string | Buffer; timeout?: number } = {}) {
  return execa(process.execPath, [CLI, ...args], { reject: false, timeout: options.timeout ?? 90_000, ...(options.input === undefined ? {} : { input: options.input }) });
}

/** Start a Python peer script and wait for its "ADDRESS host port" line. */
async function peer(py: PythonInfo, script: string, args: string[]) {
  const proc = execa(py.path, [join(HERE, script), ...args], { reject: false, buffer: false, env: { PYTHONUNBUFFERED: '1' } });
  const lines: string[] = [];
  let partial = '';
  let onLine: (() => void) | undefined;
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    onLine?.();
  });
  proc.stderr?.resume();
  const waitLine = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        const l = lines.find((x) => x.startsWith(prefix));
        if (l !== undefined) {
          onLine = undefined;
          resolve(l.slice(prefix.length));
        }
      };
      onLine = look;
      look();
      void proc.then((r) => reject(new Error(`${script} exited (${r.exitCode}) before '${prefix}'`)));
    });
  const [host, port] = (await waitLine('ADDRESS ')).split(' ');
  return { proc, address: `${host}:${port}`, waitLine, lines, stop: () => proc.kill('SIGKILL') };
}

describe('mpwire check', () => {
  it.each(found.map((py) => [label(py), py] as const))('passes against a CPython %s echo Listener', async (name, py) => {
    await matrix.record(name, 'check: all pass', async () => {
      const server = await peer(py, 'echo_server.py', ['k3y']);
      try {
        const dir = mkdtempSync(join(tmpdir(), 'mpwire-check-'));
        const report = join(dir, 'report.json');
        const r = await mpwire(['check', server.address, '--authkey', 'k3y', '--report', report]);
        expect(r.stderr).toBe('');
        expect(r.exitCode, r.stdout).toBe(0);
        const json = JSON.parse(readFileSync(report, 'utf8')) as { failed: number; results: Array<{ test: string; status: string; detail: string }> };
        expect(json.failed).toBe(0);
        const status = Object.fromEntries(json.results.map((x) => [x.test, x.status]));
        for (const t of ['round 1: server accepts our answer', 'wrong key gets #FAILURE#', 'handshake maxlength: 300-byte answer refused', 'frame 0 B', 'frame 64 KiB', 'frame 16 MiB']) {
          expect(status[t], t).toBe('PASS');
        }
        for (let p = 0; p <= 5; p++) expect(status[`pickle echo, protocol ${p}`]).toBe('PASS');
        for (const d of ['bare 20-byte challenge', '{md5} challenge', '{sha256} challenge', '{sha384} challenge', '{sha3_256} challenge', '{sha3_384} challenge']) {
          expect(status[`round 2: ${d}`], d).toBe('PASS');
        }
        // The 3.8+ reader understands the extended header; older ones read it as an empty frame.
        expect(status['extended header (-1 + 8-byte length)']).toBe(atLeast(py, 3, 8) ? 'PASS' : 'SKIP');
        const greeting = json.results[0]?.detail ?? '';
        expect(greeting).toContain(atLeast(py, 3, 12) ? '{sha256}' : 'legacy');
      } finally {
        server.stop();
      }
    });
  });

  it('passes against a RHEL raw-SHA-256 echo Listener, and its wrong-key row needs the right key to work', async () => {
    // check answered every bare challenge with MD5: 7 FAILs against RHEL, where probe said OK.
    const server = await peer(newest, 'echo_server.py', ['k3y', '--rhel']);
    try {
      const r = await mpwire(['check', server.address, '--authkey', 'k3y', '--json']);
      expect(r.exitCode, r.stdout).toBe(0);
      const json = JSON.parse(r.stdout) as { results: Array<{ test: string; status: string; detail: string }> };
      const status = Object.fromEntries(json.results.map((x) => [x.test, x.status]));
      for (const t of ['round 1: server accepts our answer', 'round 2: bare 20-byte challenge', 'wrong key gets #FAILURE#', 'frame 16 MiB']) expect(status[t], t).toBe('PASS');
      // With a key the server refuses, nothing authenticates: the wrong-key row cannot pass then.
      const bad = await mpwire(['check', server.address, '--authkey', 'other', '--json']);
      const rows = (JSON.parse(bad.stdout) as { results: Array<{ test: string; status: string }> }).results;
      expect(rows.find((x) => x.test === 'wrong key gets #FAILURE#')?.status).toBe('SKIP');
      expect(bad.exitCode).toBe(1);
    } finally {
      server.stop();
    }
  });

  it.each(Object.keys(EXPECTED_FAILS) as Flaw[])('catches a broken TS server: %s', async (flaw) => {
    const server = await startBroken(flaw, 'k3y');
    try {
      const r = await mpwire(['check', server.address, '--authkey', 'k3y', '--timeout', '1500', '--json']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^mpwire: \d+ of \d+ checks failed against 127\.0\.0\.1:\d+$/);
      const json = JSON.parse(r.stdout) as { results: Array<{ test: string; status: string }> };
      const failed = json.results.filter((x) => x.status === 'FAIL').map((x) => x.test);
      expect(failed.length).toBeGreaterThan(0);
      for (const t of failed) expect(t, `${flaw}: unexpected FAIL of ${t}`).toMatch(EXPECTED_FAILS[flaw]);
    } finally {
      await server.close();
    }
  });
});

describe('mpwire probe', () => {
  const picks = [py2, found.find((p) => p.versionTuple[0] === 3 && p.versionTuple[1] === 11), newest].filter((p): p is PythonInfo => p !== undefined);
  it.each(picks.map((py) => [label(py), py] as const))('recognises a CPython %s manager', async (_name, py) => {
    const server = await peer(py, 'manager_server.py', ['mgr']);
    try {
      const r = await mpwire(['probe', server.address, '--authkey', 'mgr', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(rep.auth).toBe(atLeast(py, 3, 12) ? 'modern' : 'legacy');
      expect(rep.keyAccepted).toBe(true);
      expect(rep.manager).toBe(true);
      const proto = py.versionTuple[0] === 2 ? 2 : atLeast(py, 3, 14) ? 5 : atLeast(py, 3, 8) ? 4 : 3;
      expect(rep.replyProtocol).toBe(proto);
      expect(String(rep.verdict)).toMatch(/^OK: .*manager$/);
      const text = await mpwire(['probe', server.address, '--authkey', 'mgr']);
      expect(text.stdout.split('\n').pop()).toMatch(/^verdict +OK: /);
    } finally {
      server.stop();
    }
  });

  it('reports an echo server, a missing key, a wrong key and a dead port with non-zero exits', async () => {
    const server = await peer(newest, 'echo_server.py', ['k3y']);
    try {
      const ok = await mpwire(['probe', server.address, '--authkey', 'k3y']);
      expect(ok.exitCode).toBe(0);
      expect(ok.stdout).toMatch(/echo +bytes/);
      expect(ok.stdout).toMatch(/verdict +OK: .*echoes bytes/);
      const nokey = await mpwire(['probe', server.address]);
      expect(nokey.exitCode).toBe(3);
      expect(nokey.stderr).toBe('mpwire: FAIL: the server requires an authkey (pass --authkey)');
      const wrong = await mpwire(['probe', server.address, '--authkey', 'nope']);
      expect(wrong.exitCode).toBe(3);
      expect(wrong.stdout).toMatch(/key +REJECTED/);
      expect(wrong.stderr).toBe('mpwire: FAIL: the server rejected the key (#FAILURE#)');
    } finally {
      server.stop();
    }
    const dead = await mpwire(['probe', '127.0.0.1:1']);
    expect(dead.exitCode).toBe(1);
    expect(dead.stderr).toBe('mpwire: cannot connect to 127.0.0.1:1: ECONNREFUSED');
  });
});

describe('mpwire manager', () => {
  it.each([py2, newest].filter((p): p is PythonInfo => p !== undefined).map((py) => [label(py), py] as const))(
    'creates and calls on a CPython %s manager, with one-line remote errors',
    async (_name, py) => {
      const server = await peer(py, 'manager_server.py', ['mgr']);
      try {
        const created = await mpwire(['manager', server.address, 'get_store', '--authkey', 'mgr']);
        expect(created.exitCode, created.stderr).toBe(0);
        expect(created.stdout).toMatch(/^<get_store proxy, id \w+>\nmethods: .*\bupdate\b/);
        const put = await mpwire(['manager', server.address, 'get_store', 'update', "{'k': [1, 2.5, (3, 'x')]}", '--authkey', 'mgr']);
        expect(put.exitCode, put.stderr).toBe(0);
        expect(put.stdout).toBe('None');
        const got = await mpwire(['manager', server.address, 'get_store', 'get', 'k', '--authkey', 'mgr']);
        expect(got.exitCode, got.stderr).toBe(0);
        expect(got.stdout).toBe("[1, 2.5, (3, 'x')]");
        const json = await mpwire(['manager', server.address, 'get_store', 'get', 'k', '--authkey', 'mgr', '--json']);
        expect(JSON.parse(json.stdout)).toEqual([1, 2.5, [3, 'x']]);
        const bad = await mpwire(['manager', server.address, 'get_store', 'get', '--authkey', 'mgr']);
        expect(bad.exitCode).toBe(1);
        expect(bad.stderr.split('\n')).toHaveLength(1);
        expect(bad.stderr).toMatch(/^mpwire: .*TypeError/);
        const unknown = await mpwire(['manager', server.address, 'nope', '--authkey', 'mgr']);
        expect(unknown.exitCode).toBe(1);
        expect(unknown.stderr.split('\n')).toHaveLength(1);
        const wrongKey = await mpwire(['manager', server.address, 'get_store', '--authkey', 'bad']);
        expect(wrongKey.exitCode).toBe(3);
        expect(wrongKey.stderr.split('\n')).toHaveLength(1);
      } finally {
        server.stop();
      }
    },
  );
});

/** The processes (CLI and Python clients) a listen test started; killed after each test. */
const spawned: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];

/** `mpwire listen :0 ARGS…` as a subprocess, once it has printed the address it bound. */
async function startListen(args: string[]) {
  const proc = execa(process.execPath, [CLI, 'listen', ':0', ...args], { reject: false, buffer: false });
  spawned.push(proc);
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (d: string) => {
    stdout += d;
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    stderr += d;
    for (const w of [...watchers]) w();
  });
  /** Resolves with the first match of `re` in stderr; rejects if the CLI exits first. */
  const waitStderr = (re: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        const m = re.exec(stderr);
        if (!m) return;
        watchers.splice(watchers.indexOf(look), 1);
        resolve(m);
      };
      watchers.push(look);
      look();
      void proc.then((r) => reject(new Error(`mpwire listen exited (${r.exitCode}) before ${re}: ${stderr}`)));
    });
  const address = (await waitStderr(/listening on (\S+):(\d+) /)).slice(1) as [string, string];
  /** The exit code, or undefined if the CLI is still running after `ms`. */
  const exitWithin = async (ms: number): Promise<number | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
    try {
      return (await Promise.race([proc, late]))?.exitCode;
    } finally {
      clearTimeout(timer);
    }
  };
  return { proc, host: address[0], port: address[1], stdout: () => stdout, stderr: () => stderr, waitStderr, exitWithin };
}

/** A Python `Client` of (host, port) running `body` with `c` connected (and `sys` imported). */
function pyClient(py: PythonInfo, host: string, port: string, body: string, authkey?: string) {
  const key = authkey === undefined ? '' : `, authkey=b'${authkey}'`;
  const script = `import sys, time\nfrom multiprocessing.connection import Client\nc = Client((${JSON.stringify(host)}, ${port})${key})\n${body}`;
  const proc = execa(py.path, ['-c', script], { reject: false, timeout: 60_000 });
  spawned.push(proc);
  return proc;
}

describe('mpwire listen', () => {
  afterEach(() => {
    for (const p of spawned.splice(0)) p.kill('SIGKILL');
  });

  it('a port in use: exit 1 and one line that names the address and the code once', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await mpwire(['listen', `127.0.0.1:${port}`], { timeout: 20_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe(`mpwire: listen 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
    } finally {
      busy.close();
    }
  });

  it.each([py2, newest].filter((p): p is PythonInfo => p !== undefined).map((py) => [label(py), py] as const))(
    'prints what a CPython %s client sends, as Python reprs and as JSON, and echoes',
    async (_name, py) => {
      const l = await startListen(['--authkey', 'k', '--count', '3', '--echo']);
      const body = `
for v in [(1, 2.0, u'x\\u00e9'), {u'k': [None, True]}, b'\\x00raw']:
    c.send(v)
    sys.stdout.write(repr(c.recv() == v) + '\\n')
c.close()
`;
      const r = await pyClient(py, l.host, l.port, body, 'k');
      expect(r.stdout.trim().split('\n'), r.stderr).toEqual(['True', 'True', 'True']);
      expect(await l.exitWithin(30_000)).toBe(0);
      const lines = l.stdout().trim().split('\n');
      // Python 2's b'...' is a str, which arrives as text.
      expect(lines).toEqual(["(1, 2.0, 'xé')", "{'k': [None, True]}", py.versionTuple[0] === 2 ? "'\\x00raw'" : "b'\\x00raw'"]);
    },
  );

  it('--json, with pickle and with --codec bytes', async () => {
    const pickled = await startListen(['--count', '1', '--json']);
    await pyClient(newest, pickled.host, pickled.port, `c.send({'a': (1, 2.5), 'b': b'\\xff'})\nc.close()`);
    expect(await pickled.exitWithin(30_000)).toBe(0);
    expect(JSON.parse(pickled.stdout())).toEqual({ a: [1, 2.5], b: { $bytes: 'ff' } });
    // --codec bytes prints each frame's raw bytes, whatever they are (here not a pickle).
    const raw = await startListen(['--codec', 'bytes', '--count', '2', '--json']);
    await pyClient(newest, raw.host, raw.port, `c.send_bytes(b'\\x00ab')\nc.send_bytes(b'')\nc.close()`);
    expect(await raw.exitWithin(30_000)).toBe(0);
    expect(raw.stdout().trim().split('\n')).toEqual(['{"$bytes":"006162"}', '{"$bytes":""}']);
    expect(raw.stderr()).toContain('(codec bytes, no authkey)');
  });

  it.each([py2, newest].filter((p): p is PythonInfo => p !== undefined).map((py) => [label(py), py] as const))(
    '--codec xml prints the floats of a CPython %s XmlClient as Python does, and echoes them as floats',
    async (_name, py) => {
      const l = await startListen(['--codec', 'xml', '--count', '1', '--echo']);
      const script = `
import sys
from multiprocessing.connection import XmlClient
c = XmlClient((${JSON.stringify(l.host)}, ${l.port}))
v = [1e16, 1.0, 2.0 ** 31, 2.5, 3]
c.send(v)
back = c.recv()
sys.stdout.write(repr([(x, type(x).__name__) for x in back]) + '\\n')
`;
      const r = await execa(py.path, ['-c', script], { reject: false, timeout: 20_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await l.exitWithin(30_000), l.stderr()).toBe(0);
      expect(l.stdout()).toBe('[1e+16, 1.0, 2147483648.0, 2.5, 3]\n');
      expect(r.stdout.trim(), r.stderr).toBe("[(1e+16, 'float'), (1.0, 'float'), (2147483648.0, 'float'), (2.5, 'float'), (3, 'int')]");
    },
  );

  it('--count N prints exactly N messages when more are already buffered', async () => {
    const l = await startListen(['--count', '3']);
    void pyClient(newest, l.host, l.port, 'for i in range(50):\n    c.send(i)\ntime.sleep(2)\nc.close()');
    expect(await l.exitWithin(30_000)).toBe(0);
    expect(l.stdout()).toBe('0\n1\n2\n');
  });

  it('closes a connection whose frame does not decode, and SIGINT still ends it', async () => {
    const l = await startListen([]);
    // The client sends a frame that is not a valid pickle and stays connected until killed.
    void pyClient(newest, l.host, l.port, "c.send_bytes(b'\\x80\\x04garbage')\ntime.sleep(60)");
    await l.waitStderr(/connection 1: .*\n/);
    l.proc.kill('SIGINT');
    expect(await l.exitWithin(10_000), l.stderr()).toBe(0);
    expect(l.stderr()).toMatch(/^connection 1: .*pickle/m);
    expect(l.stdout()).toBe('');
  });

  it('piped into a reader that goes away (| head -1): exits quietly with 141', async () => {
    const l = await startListen([]);
    void pyClient(newest, l.host, l.port, 'try:\n    for i in range(500):\n        c.send(i)\n        time.sleep(0.01)\nexcept (IOError, OSError, EOFError):\n    pass');
    // Like `head -1`: read the first line, then close the pipe.
    await new Promise<void>((resolve) => l.proc.stdout?.once('data', () => resolve()));
    l.proc.stdout?.destroy();
    expect(await l.exitWithin(10_000), l.stderr()).toBe(141);
    expect(l.stderr()).not.toContain('EPIPE');
    expect(l.stderr()).not.toContain('    at ');
  });
});

describe('mpwire send', () => {
  it('sends a Python literal that CPython receives exactly, and prints the reply', async () => {
    const server = await peer(newest, 'receiver.py', ['k', 'obj', '2']);
    try {
      const literal = "(1, 2.0, 'x', b'y', None, {1: [True], 'k': {2, 3}}, 1000000000000000000000000000000)";
      const r = await mpwire(['send', server.address, literal, '--authkey', 'k', '--reply']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await server.waitLine('GOT ')).toBe(literal);
      expect(r.stdout.trim()).toMatch(/^\('got', \(1, 2\.0, 'x', b'y', None, /);
      const j = await mpwire(['send', server.address, '{"a": [1, 2.5, null, true]}', '--authkey', 'k', '--protocol', '2', '--reply', '--json']);
      expect(j.exitCode, j.stderr).toBe(0);
      expect(JSON.parse(j.stdout)).toEqual(['got', { a: [1, 2.5, null, true] }]);
    } finally {
      server.stop();
    }
  });

  it('sends a file as one frame (Python checks length and sha256)', async () => {
    const server = await peer(newest, 'receiver.py', ['k', 'bytes', '1']);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'mpwire-send-'));
      const file = join(dir, 'data.bin');
      const data = randomBytes(3 * 1024 * 1024 + 17);
      writeFileSync(file, data);
      const r = await mpwire(['send', server.address, '--file', file, '--authkey', 'k', '--reply']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await server.waitLine('GOT ')).toBe(`${data.length} ${createHash('sha256').update(data).digest('hex')}`);
      expect(r.stdout.trim()).toBe("b'ok'");
      expect(r.stderr).toBe(`sent ${data.length} bytes from ${file}`);
    } finally {
      server.stop();
    }
  });

  it('without --authkey to a CPython Listener that requires one: exit 3, with and without --reply', async () => {
    for (const reply of [[], ['--reply']]) {
      const server = await peer(newest, 'receiver.py', ['k', 'obj', '1']);
      try {
        const r = await mpwire(['send', server.address, "('job', 1)", ...reply]);
        expect(r.exitCode, r.stderr).toBe(3);
        expect(r.stderr).toBe('mpwire: server requires --authkey (it sent an authentication challenge; the message was discarded)');
      } finally {
        server.stop();
      }
    }
  });

  it('--file --authkey gives up after --timeout against a listener that never answers', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const dir = mkdtempSync(join(tmpdir(), 'mpwire-send-'));
      const file = join(dir, 'data.bin');
      writeFileSync(file, 'data');
      const port = (silent.address() as net.AddressInfo).port;
      const r = await mpwire(['send', `127.0.0.1:${port}`, '--file', file, '--authkey', 'k', '--timeout', '300'], { timeout: 10_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toBe('mpwire: authentication handshake timed out after 300 ms');
    } finally {
      silent.close();
    }
  });

  it('sends at protocol 2 to Python 2.7', async () => {
    if (!py2) return;
    const server = await peer(py2, 'receiver.py', ['k', 'obj', '1']);
    try {
      const r = await mpwire(['send', server.address, "[1, 'abc', (2.5,)]", '--authkey', 'k', '--protocol', '2']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await server.waitLine('GOT ')).toBe("[1, u'abc', (2.5,)]");
    } finally {
      server.stop();
    }
  });
});

describe('mpwire dis', () => {
  it.each([2, 5])('lists a CPython protocol %i pickle like pickletools, from a file and from stdin', async (protocol) => {
    const dir = mkdtempSync(join(tmpdir(), 'mpwire-dis-'));
    const file = join(dir, 'x.pickle');
    const script = `import pickle, pickletools, sys\nv = {'a': [1, 2.5, None], 'b': (u'h\\xe9', b'\\x00')}\nd = pickle.dumps(v, ${protocol})\nopen(sys.argv[1], 'wb').write(d)\npickletools.dis(d)`;
    const expected = execFileSync(newest.path, ['-c', script, file], { encoding: 'utf8' });
    const ops = (s: string): string[] =>
      s
        .split('\n')
        .map((l) => /^\s*(\d+): \S+\s+(\w+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => `${m[1]} ${m[2]}`);
    const r = await mpwire(['dis', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(ops(r.stdout)).toEqual(ops(expected));
    expect(ops(r.stdout).length).toBeGreaterThan(5);
    const piped = await mpwire(['dis', '-'], { input: readFileSync(file) });
    expect(piped.stdout).toBe(r.stdout);
  });
});

describe('errors: one line and an exit code, stack traces only with --debug', () => {
  it('bad usage, bad address, missing file, bad value, --help', async () => {
    const noArgs = await mpwire(['send']);
    expect(noArgs.exitCode).toBe(2);
    expect(noArgs.stderr.split('\n')[0]).toBe("error: missing required argument 'address'");
    const badAddr = await mpwire(['probe', 'nonsense']);
    expect(badAddr.exitCode).toBe(2);
    expect(badAddr.stderr).toBe("mpwire: cannot parse address 'nonsense' (use HOST:PORT, [V6]:PORT, /path/to/socket or @abstract)");
    const missing = await mpwire(['dis', '/nonexistent/x.pickle']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe('mpwire: no such file: /nonexistent/x.pickle');
    const debug = await mpwire(['--debug', 'dis', '/nonexistent/x.pickle']);
    expect(debug.exitCode).toBe(1);
    expect(debug.stderr).toContain('    at ');
    const badValue = await mpwire(['send', '127.0.0.1:1', '(1, ']);
    expect(badValue.exitCode).toBe(2);
    expect(badValue.stderr).toMatch(/^mpwire: cannot parse VALUE at offset \d+: [^\n]*$/);
    const emptyPath = await mpwire(['send', 'unix:', '1']);
    expect(emptyPath.exitCode).toBe(2);
    expect(emptyPath.stderr).toBe("mpwire: empty socket path in address 'unix:'");
    const refused = await mpwire(['send', '127.0.0.1:1', '1']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.split('\n').length).toBe(1);
    expect(refused.stderr).toMatch(/^mpwire: .*ECONNREFUSED/);
    const garbage = await mpwire(['dis', '-', '--hex'], { input: 'zz' });
    expect(garbage.exitCode).toBe(2);
    const help = await mpwire(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Examples:');
    for (const sub of ['listen', 'send', 'probe', 'check', 'dis', 'manager']) {
      const h = await mpwire([sub, '--help']);
      expect(h.exitCode).toBe(0);
      expect(h.stdout).toContain('Examples:');
    }
  });
});

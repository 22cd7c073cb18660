// Soak: N concurrent authenticated connections to one TS Listener (TS clients in a child Node
// process, CPython clients in threads of a few Python processes), M pickled messages echoed on
// each. Checks delivery and per-connection order; reports the listener process's peak RSS and its
// descriptor counts before, at the peak and after close.
//   npm run build && node bench/soak/load.mjs
//   env: MPWIRE_SOAK_CONNECTIONS (1000), MPWIRE_SOAK_PY_PROCESSES (4), MPWIRE_SOAK_PY_PER_PROCESS (50),
//        MPWIRE_SOAK_MESSAGES (100), MPWIRE_SOAK_PAD (64 bytes of padding per message)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KEY, fdCount, header, importDist, load, newestPython, peakRssMiB, python, sleep } from './common.mjs';

const CONNECTIONS = Number(process.env.MPWIRE_SOAK_CONNECTIONS ?? 1000);
const PY_PROCESSES = Number(process.env.MPWIRE_SOAK_PY_PROCESSES ?? 4);
const PY_PER_PROCESS = Number(process.env.MPWIRE_SOAK_PY_PER_PROCESS ?? 50);
const MESSAGES = Number(process.env.MPWIRE_SOAK_MESSAGES ?? 100);
const PAD = Number(process.env.MPWIRE_SOAK_PAD ?? 64);
const PY_CONNECTIONS = PY_PROCESSES * PY_PER_PROCESS;
const TS_CONNECTIONS = CONNECTIONS - PY_CONNECTIONS;
const PY_FIRST_ID = 1_000_000;

const { listen, connect } = await importDist('index.js');

if (process.argv[2] === '--ts-clients') {
  // Child: open every connection, report, wait for "go", exchange, report.
  const [host, port] = JSON.parse(process.argv[3]);
  const count = Number(process.argv[4]);
  const conns = await Promise.all(Array.from({ length: count }, () => connect([host, port], { authkey: KEY, timeout: 120_000 })));
  process.send({ connected: conns.length });
  await new Promise((r) => process.once('message', r));
  const pad = 'x'.repeat(PAD);
  let bad = 0;
  await Promise.all(
    conns.map(async (conn, c) => {
      for (let i = 0; i < MESSAGES; i++) {
        const m = { c, i, pad };
        await conn.send(m);
        const back = await conn.recv({ timeout: 120_000 });
        if (back.c !== c || back.i !== i || back.pad !== pad) bad++;
      }
      conn.close();
    }),
  );
  process.send({ done: count * MESSAGES, bad });
  process.exit(0);
}

const py = await newestPython();
header(`load: ${CONNECTIONS} concurrent connections (${TS_CONNECTIONS} TS + ${PY_CONNECTIONS} CPython) × ${MESSAGES} messages`, py);
const fdBefore = fdCount();
const listener = await listen(['127.0.0.1', 0], { authkey: KEY, backlog: 4096 });
const fdListening = fdCount();
let open = 0;
let maxOpen = 0;
let accepted = 0;
let echoed = 0;
let fdPeak = 0;
const errors = [];
const next = new Map();
let allIn;
const everyoneIn = new Promise((r) => (allIn = r));
const serving = [];
async function serve(conn) {
  try {
    for await (const m of conn) {
      const expected = next.get(m.c) ?? 0;
      if (m.i !== expected) errors.push(`connection ${m.c}: ${m.i} arrived when ${expected} was due`);
      next.set(m.c, expected + 1);
      await conn.send(m);
      echoed++;
    }
  } catch (e) {
    errors.push(String(e));
  } finally {
    conn.close();
    open--;
  }
}
const acceptLoop = (async () => {
  for await (const conn of listener) {
    open++;
    accepted++;
    if (open > maxOpen) maxOpen = open;
    if (accepted === CONNECTIONS) allIn();
    serving.push(serve(conn));
  }
})();

const started = performance.now();
const child = fork(fileURLToPath(import.meta.url), ['--ts-clients', JSON.stringify(listener.address), String(TS_CONNECTIONS)], { stdio: 'inherit' });
const childMessages = [];
const childWaiters = [];
child.on('message', (m) => {
  childMessages.push(m);
  for (const w of childWaiters.splice(0)) w();
});
const fromChild = async (key) => {
  for (;;) {
    const m = childMessages.find((x) => key in x);
    if (m) return m;
    await new Promise((r) => childWaiters.push(r));
  }
};
const peers = Array.from({ length: PY_PROCESSES }, (_, p) =>
  python(py, ['clients', '127.0.0.1', String(listener.address[1]), KEY, String(PY_FIRST_ID + p * PY_PER_PROCESS), String(PY_PER_PROCESS), String(MESSAGES), String(PAD)]),
);
await fromChild('connected');
for (const p of peers) await p.line('CONNECTED');
await everyoneIn;
const connectedMs = performance.now() - started;
fdPeak = fdCount();
const rssConnected = Math.round(process.memoryUsage().rss / 2 ** 20);
const t0 = performance.now();
child.send('go');
for (const p of peers) p.send('GO\n');
const done = await fromChild('done');
await Promise.all(peers.map((p) => p.exit));
const pyResults = peers.map((p) => p.lines.find((l) => l.startsWith('OK') || l.startsWith('FAIL')));
const exchangeMs = performance.now() - t0;
await Promise.all(serving);
await listener.close();
await acceptLoop;
await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
for (let i = 0; i < 50 && fdCount() > fdBefore; i++) await sleep(100);
const fdAfter = fdCount();

const pyOk = pyResults.every((l) => l === `OK ${PY_PER_PROCESS * MESSAGES}`);
const inOrder = errors.length === 0 && [...next.values()].every((n) => n === MESSAGES) && next.size === CONNECTIONS;
console.log(`connections accepted: ${accepted}, open at once: ${maxOpen}`);
console.log(`all connected and authenticated in ${connectedMs.toFixed(0)} ms`);
console.log(`messages echoed: ${echoed} of ${CONNECTIONS * MESSAGES} in ${exchangeMs.toFixed(0)} ms (${Math.round((2 * echoed) / (exchangeMs / 1000))} messages/s both directions)`);
console.log(`TS clients verified ${done.done - done.bad}/${done.done}; CPython clients: ${pyResults.join(', ')}`);
console.log(`delivered in order on every connection: ${inOrder ? 'yes' : `NO (${errors.slice(0, 3).join('; ')})`}`);
console.log(`listener process: peak RSS ${peakRssMiB()} MiB (RSS with all ${CONNECTIONS} connected: ${rssConnected} MiB)`);
console.log(`listener process fds: before ${fdBefore}, listening ${fdListening}, peak ${fdPeak}, after close ${fdAfter}`);
console.log(`load average after: ${load()}`);
const ok = inOrder && pyOk && done.bad === 0 && echoed === CONNECTIONS * MESSAGES && fdAfter <= fdBefore && maxOpen === CONNECTIONS;
console.log(ok ? 'RESULT ok' : 'RESULT FAILED');
process.exit(ok ? 0 : 1);

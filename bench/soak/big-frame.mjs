// Soak: event-loop responsiveness while one huge frame is received from CPython (default 2 GiB,
// which also exercises the 8-byte extended header of CPython 3.8+). Loop delay is measured with
// perf_hooks.monitorEventLoopDelay; a 5 ms interval counts how often timers got to run.
// Needs about 3× the frame size in memory (CPython's buffer, our chunks and the joined frame).
//   npm run build && node bench/soak/big-frame.mjs        env: MPWIRE_SOAK_FRAME_MIB (2048)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KEY, MIB, header, importDist, load, newestPython, peakRssMiB, python } from './common.mjs';

const FRAME_MIB = Number(process.env.MPWIRE_SOAK_FRAME_MIB ?? 2048);
const SIZE = FRAME_MIB * MIB;
const { listen } = await importDist('index.js');

const py = await newestPython();
header(`big frame: one ${FRAME_MIB} MiB frame from CPython`, py);
const listener = await listen(['127.0.0.1', 0], { authkey: KEY, maxMessageSize: Number.POSITIVE_INFINITY });
const peer = python(py, ['source', '127.0.0.1', String(listener.address[1]), KEY, '1', String(SIZE)]);
const conn = await listener.accept();
await conn.poll(600);

const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
let ticks = 0;
let longestGap = 0;
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  longestGap = Math.max(longestGap, now - last);
  last = now;
  ticks++;
}, 5);
const t0 = performance.now();
const frame = await conn.recvBytes();
const ms = performance.now() - t0;
clearInterval(timer);
delay.disable();
const f = (h, p) => (h.percentile(p) / 1e6).toFixed(1);
console.log(`received ${frame.length} bytes (${frame.length === SIZE ? 'complete' : 'WRONG SIZE'}) in ${(ms / 1000).toFixed(2)} s (${(FRAME_MIB / (ms / 1000)).toFixed(0)} MiB/s)`);
console.log(`event loop delay while receiving: p50 ${f(delay, 50)} ms, p99 ${f(delay, 99)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`);
console.log(`a 5 ms interval ran ${ticks} times meanwhile; longest gap between two runs ${longestGap.toFixed(0)} ms`);
await conn.sendBytes(Buffer.from('ok'));
const ok = frame.length === SIZE && (await peer.line('OK')) === '2';
conn.close();
await listener.close();
await peer.exit;
console.log(`peak RSS of this process: ${peakRssMiB()} MiB; load average ${load()}`);
console.log(ok ? 'RESULT ok' : 'RESULT FAILED');
process.exit(ok ? 0 : 1);

/**
 * Issue #9, Load/Faults (bounded versions; `bench/soak/backpressure.mjs` sends 1 GiB and
 * `bench/soak/big-frame.mjs` receives 2 GiB):
 * - a CPython reader that stops reading while we send: our sends stall after a bounded amount
 *   (nothing piles up in memory) and resume when it reads again; every frame arrives intact,
 *   which also proves that `sendBytes` resolves only once a large payload left our hands;
 * - a CPython writer while we do not read: the socket is paused, buffered bytes stay bounded,
 *   and everything arrives in order once we read;
 * - a 256 MiB frame received while the event loop keeps running (delay measured with
 *   `perf_hooks.monitorEventLoopDelay`).
 * Newest CPython 3.x found.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { listen } from '../../src/index.js';
import { label, startPeer } from '../harness.js';
import { KEY, python3s, sleep } from './helpers.js';

const py = (await python3s()).at(-1);
const MIB = 1 << 20;
const FRAME = MIB;
const FRAMES = 256;
/** Most bytes that may leave the sender while the reader sleeps: kernel socket buffers, with room. */
const STALL_LIMIT = 64 * MIB;

/** Poll `value` until it has not changed for `quietMs` (or `maxMs` passed); returns the last value. */
async function whenStill(value: () => number, quietMs = 600, maxMs = 15_000): Promise<number> {
  const end = Date.now() + maxMs;
  let last = value();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(50);
    const v = value();
    if (v !== last) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return last;
}

describe.runIf(py)(`backpressure and big frames (CPython ${py ? label(py) : 'none'})`, () => {
  it(`a reader that stops reading stalls our ${FRAMES} MiB of sends after a bounded amount; they resume when it reads`, { timeout: 90_000 }, async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    const [host, port] = listener.address as [string, number];
    const peer = startPeer(py!, 'load_peer.py', ['sink', host, String(port), KEY]);
    await using conn = await listener.accept({ timeout: 30_000 });
    await peer.line('CONNECTED');
    const block = Buffer.alloc(FRAME, 0x5a);
    let sent = 0;
    let firsts = 0;
    const sending = (async () => {
      for (let k = 0; k < FRAMES; k++) {
        // Reusing the buffer is safe only because sendBytes resolves after the bytes left it.
        block[0] = k % 256;
        firsts += k % 256;
        await conn.sendBytes(block);
        sent += FRAME;
      }
    })();
    const stalledAt = await whenStill(() => sent);
    const arrayBuffersAtStall = process.memoryUsage().arrayBuffers;
    console.log(`backpressure: the sender stalled after ${(stalledAt / MIB).toFixed(0)} MiB of ${FRAMES} MiB (arrayBuffers ${(arrayBuffersAtStall / MIB).toFixed(0)} MiB)`);
    expect(stalledAt).toBeLessThan(STALL_LIMIT);
    expect(sent).toBeLessThan(FRAMES * FRAME);
    peer.proc.stdin?.write('GO\n');
    await sending;
    expect(sent).toBe(FRAMES * FRAME);
    conn.close();
    expect(await peer.line('OK')).toBe(`${FRAMES} ${FRAMES * FRAME} ${firsts}`);
    await peer.proc;
  });

  it(`a writer we do not read from is paused: ${FRAMES} MiB stay in the kernel and arrive in order when we read`, { timeout: 90_000 }, async () => {
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    const [host, port] = listener.address as [string, number];
    const before = process.memoryUsage().arrayBuffers;
    const peer = startPeer(py!, 'load_peer.py', ['source', host, String(port), KEY, String(FRAMES), String(FRAME)]);
    await using conn = await listener.accept({ timeout: 30_000 });
    expect(await conn.poll(30)).toBe(true);
    const held = (await whenStill(() => process.memoryUsage().arrayBuffers)) - before;
    console.log(`backpressure: ${(held / MIB).toFixed(1)} MiB buffered while not reading a ${FRAMES} MiB stream (highWaterMark 4 MiB)`);
    expect(held).toBeLessThan(STALL_LIMIT);
    for (let k = 0; k < FRAMES; k++) {
      const frame = await conn.recvBytes(undefined, { timeout: 30_000 });
      expect(frame.length).toBe(FRAME);
      if (frame[0] !== k % 256) expect(frame[0], `frame ${k}`).toBe(k % 256);
    }
    await conn.sendBytes(Buffer.from('done'));
    expect(await peer.line('OK')).toBe('4');
    await peer.proc;
  });

  it('a 256 MiB frame arrives while the event loop keeps turning', { timeout: 90_000 }, async () => {
    const SIZE = 256 * MIB;
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY });
    const [host, port] = listener.address as [string, number];
    const peer = startPeer(py!, 'load_peer.py', ['source', host, String(port), KEY, '1', String(SIZE)]);
    await using conn = await listener.accept({ timeout: 30_000 });
    expect(await conn.poll(60)).toBe(true);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = Date.now();
    const frame = await conn.recvBytes(undefined, { timeout: 60_000 });
    const ms = Date.now() - started;
    clearInterval(timer);
    delay.disable();
    expect(frame.length).toBe(SIZE);
    const p99 = delay.percentile(99) / 1e6;
    const max = delay.max / 1e6;
    console.log(`big frame: 256 MiB received in ${ms} ms; ${ticks} timer ticks meanwhile; loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    // The frame is assembled from many socket reads, not in one blocking call: timers ran meanwhile.
    expect(ticks).toBeGreaterThan(0);
    await conn.sendBytes(Buffer.from('ok'));
    expect(await peer.line('OK')).toBe('2');
    await peer.proc;
  });
});

// `MPWIRE_HUGE=1` (as `make test-huge`): the same with a frame over 2 GiB (extended header);
// about 5 GiB of memory between CPython and us. `bench/soak/big-frame.mjs` reports the figures.
describe.runIf(py && process.env.MPWIRE_HUGE === '1')('a frame over 2 GiB (MPWIRE_HUGE=1)', () => {
  it('arrives whole while the event loop keeps turning', { timeout: 600_000 }, async () => {
    const SIZE = 2 ** 31 + 17;
    await using listener = await listen(['127.0.0.1', 0], { authkey: KEY, maxMessageSize: Number.POSITIVE_INFINITY });
    const [host, port] = listener.address as [string, number];
    const peer = startPeer(py!, 'load_peer.py', ['source', host, String(port), KEY, '1', String(SIZE)]);
    await using conn = await listener.accept({ timeout: 60_000 });
    expect(await conn.poll(300)).toBe(true);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const frame = await conn.recvBytes(undefined, { timeout: 500_000 });
    clearInterval(timer);
    delay.disable();
    expect(frame.length).toBe(SIZE);
    console.log(`huge frame: ${SIZE} bytes; ${ticks} timer ticks meanwhile; loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`);
    expect(ticks).toBeGreaterThan(0);
    await conn.sendBytes(Buffer.from('ok'));
    expect(await peer.line('OK')).toBe('2');
    await peer.proc;
  });
});

it('found a CPython 3.x for the backpressure tests', () => {
  expect(py, 'no CPython 3.x found').toBeDefined();
});

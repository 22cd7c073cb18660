// Soak: backpressure with 1 GiB in each direction against a CPython peer.
// 1. We send 1 GiB (1 MiB frames, one reused buffer) to a reader that does not read until told:
//    how far the sender gets while it sleeps, our RSS meanwhile, and that it resumes and finishes
//    (the reader checks frame count, byte count and the first byte of every frame).
// 2. A CPython writer sends 1 GiB while we do not read: what we buffer (highWaterMark 4 MiB) and
//    our RSS, then every frame in order once we read.
//   npm run build && node bench/soak/backpressure.mjs      env: MPWIRE_SOAK_MIB (1024), MPWIRE_SOAK_STALL_MS (3000)
import { KEY, MIB, header, importDist, load, newestPython, peakRssMiB, python, rssMiB, sleep } from './common.mjs';

const TOTAL_MIB = Number(process.env.MPWIRE_SOAK_MIB ?? 1024);
const STALL_MS = Number(process.env.MPWIRE_SOAK_STALL_MS ?? 3000);
const { listen } = await importDist('index.js');

const py = await newestPython();
header(`backpressure: ${TOTAL_MIB} MiB in 1 MiB frames each way, the other side not reading for ${STALL_MS} ms`, py);
let ok = true;

{
  const listener = await listen(['127.0.0.1', 0], { authkey: KEY });
  const peer = python(py, ['sink', '127.0.0.1', String(listener.address[1]), KEY]);
  const conn = await listener.accept();
  await peer.line('CONNECTED');
  const rssBefore = rssMiB();
  const block = Buffer.alloc(MIB, 0x5a);
  let sent = 0;
  let firsts = 0;
  const t0 = performance.now();
  const sending = (async () => {
    for (let k = 0; k < TOTAL_MIB; k++) {
      block[0] = k % 256;
      firsts += k % 256;
      await conn.sendBytes(block);
      sent++;
    }
  })();
  let rssStalled = 0;
  for (let t = 0; t < STALL_MS; t += 100) {
    await sleep(100);
    rssStalled = Math.max(rssStalled, rssMiB());
  }
  const stalledAt = sent;
  const t1 = performance.now();
  peer.send('GO\n');
  await sending;
  const resumeMs = performance.now() - t1;
  conn.close();
  const result = await peer.line('OK');
  const expected = `${TOTAL_MIB} ${TOTAL_MIB * MIB} ${firsts}`;
  ok &&= result === expected && stalledAt < TOTAL_MIB;
  console.log(`send side: reader asleep for ${STALL_MS} ms → sender stalled after ${stalledAt} MiB of ${TOTAL_MIB} MiB; RSS ${rssBefore} MiB before, at most ${rssStalled} MiB while stalled`);
  console.log(
    `  reader woke up → the remaining ${TOTAL_MIB - stalledAt} MiB went in ${resumeMs.toFixed(0)} ms (${((TOTAL_MIB - stalledAt) / (resumeMs / 1000)).toFixed(0)} MiB/s); ` +
      `reader got "${result}" (expected "${expected}"); total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  await listener.close();
  await peer.exit;
}

{
  const listener = await listen(['127.0.0.1', 0], { authkey: KEY });
  const rssBefore = rssMiB();
  const peer = python(py, ['source', '127.0.0.1', String(listener.address[1]), KEY, String(TOTAL_MIB), String(MIB)]);
  const conn = await listener.accept();
  await conn.poll(30);
  let rssHeld = 0;
  for (let t = 0; t < STALL_MS; t += 100) {
    await sleep(100);
    rssHeld = Math.max(rssHeld, rssMiB());
  }
  const t1 = performance.now();
  let inOrder = true;
  for (let k = 0; k < TOTAL_MIB; k++) {
    const frame = await conn.recvBytes();
    if (frame.length !== MIB || frame[0] !== k % 256) inOrder = false;
  }
  const ms = performance.now() - t1;
  await conn.sendBytes(Buffer.from('done'));
  const result = await peer.line('OK');
  ok &&= inOrder && result === '4';
  console.log(`receive side: not reading for ${STALL_MS} ms while CPython sends ${TOTAL_MIB} MiB → RSS ${rssBefore} MiB before, at most ${rssHeld} MiB meanwhile`);
  console.log(`  then read ${TOTAL_MIB} frames in ${ms.toFixed(0)} ms (${(TOTAL_MIB / (ms / 1000)).toFixed(0)} MiB/s), all in order and intact: ${inOrder ? 'yes' : 'NO'}`);
  conn.close();
  await listener.close();
  await peer.exit;
}
console.log(`peak RSS of this process: ${peakRssMiB()} MiB; load average ${load()}`);
console.log(ok ? 'RESULT ok' : 'RESULT FAILED');
process.exit(ok ? 0 : 1);

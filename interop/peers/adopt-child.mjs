// Node child of fdparent.py: adopts the inherited socket with mpwire's adoptFd and answers each
// frame with its bytes reversed until the parent closes. Uses the built package (dist/).
import { adoptFd, EOFError } from '../../dist/index.js';

const conn = adoptFd(Number(process.env.MPWIRE_FD));
for (;;) {
  let frame;
  try {
    frame = await conn.recvBytes();
  } catch (e) {
    if (e instanceof EOFError) break;
    throw e;
  }
  await conn.sendBytes(Buffer.from(frame).reverse());
}
conn.close();

/**
 * `mpwire dis FILE|-`: a pickletools-style listing of a pickle.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dis } from '../pickle/index.js';
import { UsageError } from './errors.js';

/** Read the pickle (a file, or stdin for `-`; `--hex` for hex text) and list it. */
export function disCommand(file: string, options: { hex?: boolean; frame?: boolean }, out: (s: string) => void): void {
  let data: Buffer = file === '-' ? readFileSync(0) : readFileSync(file);
  if (options.hex) {
    const text = data.toString('latin1').replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new UsageError('--hex input is not an even run of hex digits');
    data = Buffer.from(text, 'hex');
  }
  if (options.frame) {
    // A captured wire frame: strip the 4-byte (or -1 + 8-byte) length header.
    if (data.length < 4) throw new UsageError('--frame input is shorter than a frame header');
    const n = data.readInt32BE(0);
    data = n === -1 ? data.subarray(12) : data.subarray(4, 4 + n);
  }
  if (data.length === 0) throw new UsageError('empty input: nothing to disassemble');
  out(dis(data).replace(/\n$/, ''));
}

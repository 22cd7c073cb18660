/**
 * The pickler's memo of short strings: string → memo index, an open-addressing hash table in
 * typed arrays that one pickler after another reuses.
 *
 * Why not a `Map`: a pickle of 10k records memoizes 10k distinct strings, and a `Map` that grows
 * past ~4k entries moves to V8's large-object space, where every growth is fresh memory (page
 * faults: 2–3 µs each on a VM) and every insert about 70 ns. This table keeps its memory from
 * one `dumps` to the next, is emptied in O(1) by bumping a generation number, and hashes the
 * string in JS: about 25 ns per insert (bench/pickle dicts_10k and tuples_10k dumps).
 *
 * Only strings of up to {@link MAX_HASHED} UTF-16 units go here (the hash reads every unit);
 * the pickler keeps longer ones in a `Map`.
 * @module
 * @internal
 */

/** Longest string the table takes. */
export const MAX_HASHED = 64;

const INITIAL_SLOTS = 1024;
/** A table grown beyond this many slots is not kept for the next pickler. */
const KEEP_SLOTS = 1 << 16;

/** 32-bit hash of a string: FNV-1a over UTF-16 units, then a murmur3 finalizer. */
function hashString(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** @internal */
export class StrMemo {
  /** Per slot: the generation that filled it (a slot of another generation is empty). */
  private gens = new Uint32Array(INITIAL_SLOTS);
  /** Per slot: the entry number. */
  private entries = new Int32Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private gen = 1;
  /** Per entry: the string, its memo index and its hash (for rehashing). */
  private strs: string[] = [];
  private idxs = new Int32Array(INITIAL_SLOTS >> 1);
  private hashes = new Uint32Array(INITIAL_SLOTS >> 1);
  private count = 0;
  /** Where the last missed lookup ended: the free slot, and the hash it probed for. */
  private freeSlot = 0;
  private freeHash = 0;

  /** The memo index of `s`, or -1; a miss leaves the slot for {@link insertMissed}. */
  get(s: string): number {
    const h = hashString(s);
    const mask = this.mask;
    const gens = this.gens;
    const gen = this.gen;
    let i = h & mask;
    for (;;) {
      if (gens[i] !== gen) {
        this.freeSlot = i;
        this.freeHash = h;
        return -1;
      }
      const e = this.entries[i] as number;
      if (this.hashes[e] === h && this.strs[e] === s) return this.idxs[e] as number;
      i = (i + 1) & mask;
    }
  }

  /** Add `s`, which the last call of {@link get} missed, with memo index `idx`. */
  insertMissed(s: string, idx: number): void {
    const e = this.count++;
    if (e >= this.idxs.length) this.growEntries();
    this.strs[e] = s;
    this.idxs[e] = idx;
    this.hashes[e] = this.freeHash;
    this.gens[this.freeSlot] = this.gen;
    this.entries[this.freeSlot] = e;
    // Load factor at most 1/2: probe runs stay short.
    if (this.count * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
  }

  /** Forget every entry (O(1) but for clearing the string references, which are short). */
  reset(): void {
    const n = this.count;
    // A loop for the few strings of a small message: fill() is a call that costs more than that.
    if (n <= 32) for (let i = 0; i < n; i++) this.strs[i] = '';
    else this.strs.fill('', 0, n);
    this.count = 0;
    if (this.mask + 1 > KEEP_SLOTS) {
      this.gens = new Uint32Array(INITIAL_SLOTS);
      this.entries = new Int32Array(INITIAL_SLOTS);
      this.mask = INITIAL_SLOTS - 1;
      this.strs = [];
      this.idxs = new Int32Array(INITIAL_SLOTS >> 1);
      this.hashes = new Uint32Array(INITIAL_SLOTS >> 1);
      this.gen = 1;
      return;
    }
    if (++this.gen === 0x100000000) {
      this.gens.fill(0);
      this.gen = 1;
    }
  }

  private growEntries(): void {
    const idxs = new Int32Array(this.idxs.length * 2);
    idxs.set(this.idxs);
    this.idxs = idxs;
    const hashes = new Uint32Array(this.hashes.length * 2);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  private rehash(slots: number): void {
    const gens = new Uint32Array(slots);
    const entries = new Int32Array(slots);
    const mask = slots - 1;
    for (let e = 0; e < this.count; e++) {
      let i = (this.hashes[e] as number) & mask;
      while (gens[i] === 1) i = (i + 1) & mask;
      gens[i] = 1;
      entries[i] = e;
    }
    this.gens = gens;
    this.entries = entries;
    this.mask = mask;
    this.gen = 1;
  }
}

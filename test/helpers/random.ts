/** Seeded mulberry32: the rewrite tests draw graphs and inputs from it so that every failure replays. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFloats(next: () => number, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

/**
 * Ids [batch, length] in 1..vocab-1 with padding 0 the way CTR histories come: full rows, right- and left-padded
 * rows, and all-padding rows.
 */
export function randomHistories(
  next: () => number,
  batch: number,
  length: number,
  vocab: number,
): Int32Array {
  const ids = new Int32Array(batch * length);
  for (let r = 0; r < batch; r++) {
    const kind = Math.floor(next() * 4);
    const filled = kind === 0 ? length : kind === 3 ? 0 : Math.floor(next() * length);
    for (let j = 0; j < filled; j++) {
      const col = kind === 2 ? length - 1 - j : j;
      ids[r * length + col] = 1 + Math.floor(next() * (vocab - 1));
    }
  }
  return ids;
}

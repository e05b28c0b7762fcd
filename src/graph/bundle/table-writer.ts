import { CtrError } from '../../errors/registry.ts';
import { crc32c, maskCrc } from './crc32c.ts';
import { FOOTER_BYTES, TABLE_MAGIC_HI, TABLE_MAGIC_LO, type BlockHandle } from './table-reader.ts';

/**
 * Writes the LevelDB-style table of a checkpoint `.index` (the format table-reader.ts reads, as
 * tensorflow/core/lib/io/table_builder.cc builds it): uncompressed data blocks of about `blockSizeBytes` with a
 * restart point every `restartInterval` entries, an empty metaindex block, an index block (restart interval 1)
 * mapping a separator key of each data block (LevelDB's bytewise FindShortestSeparator / FindShortSuccessor) to
 * its handle, each block followed by type 0 and its masked crc32c, then the
 * 48-byte footer with the magic number. Hand-written for the same reason as the reader. Keys must be given in
 * strictly increasing byte order (CTR_ERR_BUNDLE_CORRUPT otherwise: it would write an unreadable table).
 */

export type TableWriterOptions = { blockSizeBytes?: number; restartInterval?: number };

function pushVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

class BlockBuilder {
  #bytes: number[] = [];
  #restarts: number[] = [0];
  #count = 0;
  #last: Uint8Array = new Uint8Array(0);
  readonly #interval: number;

  constructor(interval: number) {
    this.#interval = interval;
  }

  get empty(): boolean {
    return this.#count === 0;
  }

  get sizeEstimate(): number {
    return this.#bytes.length + this.#restarts.length * 4 + 4;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.#count % this.#interval !== 0) {
      const max = Math.min(key.length, this.#last.length);
      while (shared < max && key[shared] === this.#last[shared]) shared++;
    } else if (this.#count > 0) {
      this.#restarts.push(this.#bytes.length);
    }
    pushVarint(this.#bytes, shared);
    pushVarint(this.#bytes, key.length - shared);
    pushVarint(this.#bytes, value.length);
    for (let i = shared; i < key.length; i++) this.#bytes.push(key[i]!);
    for (let i = 0; i < value.length; i++) this.#bytes.push(value[i]!);
    this.#last = key;
    this.#count++;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.sizeEstimate);
    out.set(this.#bytes);
    const dv = new DataView(out.buffer);
    let pos = this.#bytes.length;
    for (const r of this.#restarts) {
      dv.setUint32(pos, r, true);
      pos += 4;
    }
    dv.setUint32(pos, this.#restarts.length, true);
    return out;
  }
}

/** The shortest key k with start <= k < limit, as LevelDB's BytewiseComparator::FindShortestSeparator. */
function shortestSeparator(start: Uint8Array, limit: Uint8Array): Uint8Array {
  const min = Math.min(start.length, limit.length);
  let i = 0;
  while (i < min && start[i] === limit[i]) i++;
  if (i < min) {
    const b = start[i]!;
    if (b < 0xff && b + 1 < limit[i]!) {
      const out = start.slice(0, i + 1);
      out[i] = b + 1;
      return out;
    }
  }
  return start;
}

/** The shortest key k >= key, as LevelDB's BytewiseComparator::FindShortSuccessor. */
function shortSuccessor(key: Uint8Array): Uint8Array {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== 0xff) {
      const out = key.slice(0, i + 1);
      out[i] = key[i]! + 1;
      return out;
    }
  }
  return key;
}

function encodeHandle(h: BlockHandle): Uint8Array {
  const out: number[] = [];
  pushVarint(out, h.offset);
  pushVarint(out, h.size);
  return Uint8Array.from(out);
}

export function writeTable(
  entries: Iterable<[key: Uint8Array, value: Uint8Array]>,
  options: TableWriterOptions = {},
): Uint8Array {
  const blockSize = options.blockSizeBytes ?? 4096;
  const interval = options.restartInterval ?? 16;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const writeBlock = (contents: Uint8Array): BlockHandle => {
    const trailer = new Uint8Array(5);
    const crc = crc32c(Buffer.concat([contents, Uint8Array.of(0)]));
    new DataView(trailer.buffer).setUint32(1, maskCrc(crc), true);
    chunks.push(contents, trailer);
    const handle = { offset, size: contents.length };
    offset += contents.length + trailer.length;
    return handle;
  };

  const index = new BlockBuilder(1);
  let block = new BlockBuilder(interval);
  let last: Uint8Array | undefined;
  let pending: BlockHandle | undefined;
  for (const [key, value] of entries) {
    if (last !== undefined && Buffer.compare(last, key) >= 0) {
      throw new CtrError('CTR_ERR_BUNDLE_CORRUPT', 'table keys must be added in strictly increasing order');
    }
    if (pending !== undefined) {
      index.add(shortestSeparator(last!, key), encodeHandle(pending));
      pending = undefined;
    }
    block.add(key, value);
    last = key;
    if (block.sizeEstimate >= blockSize) {
      pending = writeBlock(block.finish());
      block = new BlockBuilder(interval);
    }
  }
  if (!block.empty) pending = writeBlock(block.finish());
  if (pending !== undefined) index.add(shortSuccessor(last!), encodeHandle(pending));
  const metaindex = writeBlock(new BlockBuilder(interval).finish());
  const indexHandle = writeBlock(index.finish());

  const footer = new Uint8Array(FOOTER_BYTES);
  footer.set(encodeHandle(metaindex), 0);
  footer.set(encodeHandle(indexHandle), encodeHandle(metaindex).length);
  const fv = new DataView(footer.buffer);
  fv.setUint32(40, TABLE_MAGIC_LO, true);
  fv.setUint32(44, TABLE_MAGIC_HI, true);
  chunks.push(footer);
  return Buffer.concat(chunks);
}

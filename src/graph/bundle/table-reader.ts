import snappy from 'snappyjs';
import { CtrError } from '../../errors/registry.ts';
import { crc32c, unmaskCrc } from './crc32c.ts';

/**
 * Reader for the LevelDB-style immutable table TensorFlow writes as a checkpoint's `.index`
 * (tensorflow/core/lib/io/{format,block,table}.cc). Layout: data blocks, a metaindex block, an index block whose
 * values are handles of the data blocks, then a 48-byte footer: two varint64 block handles (offset, size), zero
 * padding to 40 bytes, and the fixed64 magic 0xdb4775248b80fb57. Each block is followed by a 1-byte compression
 * type (0 none, 1 snappy) and the masked crc32c of block + type. A block holds prefix-compressed entries
 * (varint32 shared, unshared, value length; key suffix; value), then uint32 restart offsets and their count.
 *
 * Hand-written: no npm package reads this format without native bindings. Index files are small (one entry per
 * tensor), so the whole table is read into a Map at once. Failures: CTR_ERR_BUNDLE_CORRUPT (footer, magic,
 * handle, block layout, compression) and CTR_ERR_CHECKSUM (block crc), both naming `file`.
 */

export const TABLE_MAGIC_LO = 0x8b80fb57;
export const TABLE_MAGIC_HI = 0xdb477524;
export const FOOTER_BYTES = 48;
export const BLOCK_TRAILER_BYTES = 5;
const SNAPPY_MAX_RATIO = 32;

export type BlockHandle = { offset: number; size: number };

function corrupt(file: string, what: string, cause?: unknown): CtrError {
  return new CtrError(
    'CTR_ERR_BUNDLE_CORRUPT',
    `${file}: ${what}`,
    cause === undefined ? undefined : { cause },
  );
}

/** A varint of up to 64 bits as a safe JS number; refuses longer encodings and values above 2^53. */
export function readVarint(bytes: Uint8Array, pos: number, file: string): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= bytes.length) throw corrupt(file, `varint runs past the end at byte ${pos}`);
    const b = bytes[pos + i]!;
    value += (b & 0x7f) * scale;
    if (value > Number.MAX_SAFE_INTEGER) throw corrupt(file, `varint at byte ${pos} is too large`);
    if ((b & 0x80) === 0) return [value, pos + i + 1];
    scale *= 128;
  }
  throw corrupt(file, `varint at byte ${pos} is longer than 10 bytes`);
}

function readHandle(bytes: Uint8Array, pos: number, file: string): [BlockHandle, number] {
  const [offset, p1] = readVarint(bytes, pos, file);
  const [size, p2] = readVarint(bytes, p1, file);
  return [{ offset, size }, p2];
}

function readBlock(table: Uint8Array, h: BlockHandle, file: string, what: string): Uint8Array {
  if (h.offset + h.size + BLOCK_TRAILER_BYTES > table.length - FOOTER_BYTES) {
    throw corrupt(file, `${what} block handle (offset ${h.offset}, size ${h.size}) is out of range`);
  }
  const withType = table.subarray(h.offset, h.offset + h.size + 1);
  const view = new DataView(table.buffer, table.byteOffset + h.offset + h.size + 1, 4);
  const stored = view.getUint32(0, true);
  const actual = crc32c(withType);
  if (unmaskCrc(stored) !== actual) {
    throw new CtrError(
      'CTR_ERR_CHECKSUM',
      `${file}: ${what} block at offset ${h.offset} fails its crc32c check`,
    );
  }
  const type = table[h.offset + h.size]!;
  const raw = table.subarray(h.offset, h.offset + h.size);
  if (type === 0) return raw;
  if (type === 1) {
    try {
      return snappy.uncompress(raw, raw.length * SNAPPY_MAX_RATIO + 64);
    } catch (err) {
      throw corrupt(file, `${what} block at offset ${h.offset} is not valid snappy data`, err);
    }
  }
  throw corrupt(file, `${what} block at offset ${h.offset} has unknown compression type ${type}`);
}

/** Entries of one block, in order, with keys as raw bytes. */
export function parseBlock(block: Uint8Array, file: string): { key: Uint8Array; value: Uint8Array }[] {
  if (block.length < 4) throw corrupt(file, 'block is shorter than its restart count');
  const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const numRestarts = dv.getUint32(block.length - 4, true);
  const limit = block.length - 4 - numRestarts * 4;
  if (numRestarts < 1 || limit < 0) throw corrupt(file, `block has a bad restart count ${numRestarts}`);
  for (let r = 0; r < numRestarts; r++) {
    if (dv.getUint32(limit + r * 4, true) > limit) throw corrupt(file, 'block restart point is out of range');
  }
  const entries: { key: Uint8Array; value: Uint8Array }[] = [];
  let prev = new Uint8Array(0);
  let pos = 0;
  while (pos < limit) {
    const [shared, p1] = readVarint(block, pos, file);
    const [unshared, p2] = readVarint(block, p1, file);
    const [valueLen, p3] = readVarint(block, p2, file);
    if (shared > prev.length || p3 + unshared + valueLen > limit) {
      throw corrupt(file, `block entry at byte ${pos} runs past its block`);
    }
    const key = new Uint8Array(shared + unshared);
    key.set(prev.subarray(0, shared));
    key.set(block.subarray(p3, p3 + unshared), shared);
    entries.push({ key, value: block.subarray(p3 + unshared, p3 + unshared + valueLen) });
    prev = key;
    pos = p3 + unshared + valueLen;
  }
  return entries;
}

/** Every key → value of the table, keys decoded as UTF-8. */
export function readTable(table: Uint8Array, file: string): Map<string, Uint8Array> {
  if (table.length < FOOTER_BYTES)
    throw corrupt(file, `${table.length} bytes is too short for a table footer`);
  const footer = table.subarray(table.length - FOOTER_BYTES);
  const fv = new DataView(footer.buffer, footer.byteOffset, FOOTER_BYTES);
  if (fv.getUint32(40, true) !== TABLE_MAGIC_LO || fv.getUint32(44, true) !== TABLE_MAGIC_HI) {
    throw corrupt(file, 'bad table magic number (not a checkpoint index)');
  }
  const [metaindex, p] = readHandle(footer, 0, file);
  const [index] = readHandle(footer, p, file);
  readBlock(table, metaindex, file, 'metaindex');
  const decoder = new TextDecoder('utf-8');
  const out = new Map<string, Uint8Array>();
  let last: Uint8Array | undefined;
  for (const { value } of parseBlock(readBlock(table, index, file, 'index'), file)) {
    const [handle] = readHandle(value, 0, file);
    for (const e of parseBlock(readBlock(table, handle, file, 'data'), file)) {
      if (last !== undefined && Buffer.compare(last, e.key) >= 0)
        throw corrupt(file, 'table keys are not sorted');
      last = e.key;
      out.set(decoder.decode(e.key), e.value);
    }
  }
  return out;
}

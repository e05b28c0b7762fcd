import { CtrError } from '../../errors/registry.ts';
import { crc32cExtend, maskCrc, unmaskCrc } from './crc32c.ts';
import { readVarint } from './table-reader.ts';

/**
 * DT_STRING tensors in a checkpoint data file (tensor_bundle.cc WriteStringTensor / ReadStringTensor):
 *   [varint64 len0]..[varint64 lenN-1][fixed32 masked crc32c of the lengths][bytes0]..[bytesN-1]
 * The lengths' crc is taken over each length as a little-endian uint32 (uint64 above 2^32-1), not over the
 * varint bytes. The entry's crc32c extends that crc with the 4 checksum bytes and then every string's bytes.
 */

function lengthBytes(len: number): Uint8Array {
  const b = new Uint8Array(len > 0xffffffff ? 8 : 4);
  const dv = new DataView(b.buffer);
  if (b.length === 4) dv.setUint32(0, len, true);
  else dv.setBigUint64(0, BigInt(len), true);
  return b;
}

export function readStringTensor(
  data: Uint8Array,
  count: number,
  maskedCrc: number,
  where: string,
): Uint8Array[] {
  const lengths = new Array<number>(count);
  let crc = 0;
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const [len, next] = readVarint(data, pos, where);
    lengths[i] = len;
    crc = crc32cExtend(crc, lengthBytes(len));
    pos = next;
  }
  if (pos + 4 > data.length) {
    throw new CtrError('CTR_ERR_BUNDLE_CORRUPT', `${where}: string lengths run past the tensor's bytes`);
  }
  const checksum = data.subarray(pos, pos + 4);
  if (unmaskCrc(new DataView(data.buffer, data.byteOffset + pos, 4).getUint32(0, true)) !== crc) {
    throw new CtrError('CTR_ERR_CHECKSUM', `${where}: string lengths fail their crc32c check`);
  }
  crc = crc32cExtend(crc, checksum);
  pos += 4;
  const out = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) {
    const end = pos + lengths[i]!;
    if (end > data.length)
      throw new CtrError('CTR_ERR_BUNDLE_CORRUPT', `${where}: string ${i} runs past the tensor's bytes`);
    out[i] = data.subarray(pos, end);
    crc = crc32cExtend(crc, out[i]!);
    pos = end;
  }
  if (pos !== data.length) {
    throw new CtrError(
      'CTR_ERR_BUNDLE_CORRUPT',
      `${where}: ${data.length - pos} bytes follow the last string`,
    );
  }
  if (crc !== unmaskCrc(maskedCrc))
    throw new CtrError('CTR_ERR_CHECKSUM', `${where}: string data fails its crc32c check`);
  return out;
}

/** The inverse of readStringTensor: the bytes to store and the masked crc32c for the entry. */
export function writeStringTensor(values: readonly Uint8Array[]): { bytes: Uint8Array; maskedCrc: number } {
  const varints: number[] = [];
  let crc = 0;
  for (const v of values) {
    let len = v.length;
    crc = crc32cExtend(crc, lengthBytes(len));
    while (len >= 0x80) {
      varints.push((len % 128) | 0x80);
      len = Math.floor(len / 128);
    }
    varints.push(len);
  }
  const checksum = new Uint8Array(4);
  new DataView(checksum.buffer).setUint32(0, maskCrc(crc), true);
  crc = crc32cExtend(crc, checksum);
  const total = varints.length + 4 + values.reduce((s, v) => s + v.length, 0);
  const bytes = new Uint8Array(total);
  bytes.set(varints, 0);
  bytes.set(checksum, varints.length);
  let pos = varints.length + 4;
  for (const v of values) {
    bytes.set(v, pos);
    crc = crc32cExtend(crc, v);
    pos += v.length;
  }
  return { bytes, maskedCrc: maskCrc(crc) };
}

import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CtrError } from '../../errors/registry.ts';
import { encodeBundleEntry, encodeBundleHeader } from '../proto/encode.ts';
import { DataType, type BundleEntryProto } from '../proto/types.ts';
import { checkedElementCount, valuesToBytes, type DecodedTensor } from '../tensor/tensor-values.ts';
import { crc32c, maskCrc } from './crc32c.ts';
import { writeStringTensor } from './string-tensor.ts';
import { writeTable, type TableWriterOptions } from './table-writer.ts';
import { shardPath } from './tensor-bundle.ts';

/**
 * Writes a TensorFlow checkpoint that TensorFlow's BundleReader (and readTensorBundle) reads: `<prefix>.index`
 * with the header under the empty key and one BundleEntryProto per tensor in sorted key order, and the tensors'
 * bytes in `<prefix>.data-00000-of-00001` (`numShards` > 1 spreads them round-robin, for tests of the reader).
 * Each file is written beside its final name and renamed into place, so a watcher never sees half a file.
 * Failures: CTR_ERR_TENSOR_TOO_LARGE / CTR_ERR_UNSUPPORTED_DTYPE for a bad tensor, CTR_ERR_USAGE for an empty
 * key or a values length that does not match the shape; I/O errors propagate as Node errors.
 */

export type WriteTensorBundleOptions = TableWriterOptions & { numShards?: number };

async function writeAtomically(file: string, data: Uint8Array | Uint8Array[]): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  if (Array.isArray(data)) {
    const fh = await open(tmp, 'w');
    try {
      for (const chunk of data) await fh.write(chunk);
    } finally {
      await fh.close();
    }
  } else {
    await writeFile(tmp, data);
  }
  await rename(tmp, file);
}

function tensorBytes(key: string, t: DecodedTensor): { bytes: Uint8Array; maskedCrc: number } {
  const count = checkedElementCount(t.shape, `tensor "${key}"`);
  if (t.values.length !== count) {
    throw new CtrError(
      'CTR_ERR_USAGE',
      `tensor "${key}": ${t.values.length} values for shape [${t.shape.join(',')}]`,
    );
  }
  if (t.dtype === DataType.DT_STRING) return writeStringTensor(t.values as Uint8Array[]);
  const bytes = valuesToBytes(t, `tensor "${key}"`);
  return { bytes, maskedCrc: maskCrc(crc32c(bytes)) };
}

export async function writeTensorBundle(
  prefix: string,
  tensors: Record<string, DecodedTensor>,
  options: WriteTensorBundleOptions = {},
): Promise<void> {
  const numShards = options.numShards ?? 1;
  const enc = new TextEncoder();
  const keys = Object.keys(tensors)
    .map((k) => ({ key: k, bytes: enc.encode(k) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  if (keys.some((k) => k.key === '')) throw new CtrError('CTR_ERR_USAGE', 'a checkpoint key cannot be empty');

  const shards: Uint8Array[][] = Array.from({ length: numShards }, () => []);
  const shardOffsets = new Array<number>(numShards).fill(0);
  const entries: [Uint8Array, Uint8Array][] = [
    [
      new Uint8Array(0),
      encodeBundleHeader({ numShards, endianness: 0, version: { producer: 1, minConsumer: 0 } }),
    ],
  ];
  keys.forEach(({ key, bytes: keyBytes }, i) => {
    const t = tensors[key]!;
    const { bytes, maskedCrc } = tensorBytes(key, t);
    const shardId = i % numShards;
    const entry: BundleEntryProto = {
      dtype: t.dtype,
      shape: { dim: t.shape.map((size) => ({ size })), unknownRank: false },
      shardId,
      offset: shardOffsets[shardId]!,
      size: bytes.length,
      crc32c: maskedCrc,
      slices: [],
    };
    shards[shardId]!.push(bytes);
    shardOffsets[shardId]! += bytes.length;
    entries.push([keyBytes, encodeBundleEntry(entry)]);
  });

  await mkdir(dirname(prefix), { recursive: true });
  for (let s = 0; s < numShards; s++) await writeAtomically(shardPath(prefix, s, numShards), shards[s]!);
  await writeAtomically(`${prefix}.index`, writeTable(entries, options));
}

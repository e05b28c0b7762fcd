import { closeSync, openSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { CtrError, isCtrError } from '../../errors/registry.ts';
import { decodeBundleEntry, decodeBundleHeader, decodeTrackableObjectGraph } from '../proto/decode.ts';
import {
  DataType,
  type BundleEntryProto,
  type BundleHeaderProto,
  type TrackableObjectGraph,
} from '../proto/types.ts';
import {
  checkedElementCount,
  DEFAULT_MAX_ELEMENTS,
  dtypeByteSize,
  dtypeName,
  valuesFromBytes,
  type DecodedTensor,
} from '../tensor/tensor-values.ts';
import { crc32c, unmaskCrc } from './crc32c.ts';
import { readTable } from './table-reader.ts';
import { readStringTensor } from './string-tensor.ts';

/**
 * A TensorFlow checkpoint (tensor bundle: `<prefix>.index` + `<prefix>.data-NNNNN-of-MMMMM`), as written by
 * tensorflow/core/util/tensor_bundle for SavedModel `variables/variables` and tf.train checkpoints.
 *
 * Lifecycle: `readTensorBundle(prefix)` reads and checks the whole index (table footer, block crcs, header,
 * every entry's shard and byte range) and decodes the TF2 object graph when present; shard files are only
 * stat'ed. `read(key)` then reads one tensor's bytes from its shard (one copy, into a fresh aligned buffer that
 * the returned typed array views), checks its masked crc32c, and returns values the caller owns. No file stays
 * open between calls; nothing needs disposing. The bundle is immutable; reads are synchronous.
 *
 * Failures: CTR_ERR_BUNDLE_CORRUPT (unreadable or malformed index, missing shard, entry out of its shard,
 * size/shape mismatch, big-endian or sliced tensors), CTR_ERR_CHECKSUM (block or tensor crc; names file and
 * key), CTR_ERR_MISSING_VARIABLE (read of an absent key), CTR_ERR_TENSOR_TOO_LARGE, CTR_ERR_UNSUPPORTED_DTYPE.
 */
export interface TensorBundle {
  readonly prefix: string;
  readonly header: BundleHeaderProto;
  /** The TF2 object graph stored under OBJECT_GRAPH_KEY; undefined in TF1 checkpoints. */
  readonly objectGraph: TrackableObjectGraph | undefined;
  /** Tensor keys in table order (sorted), without the header's empty key. */
  keys(): string[];
  has(key: string): boolean;
  /** dtype, shape and location of a tensor, without reading it. */
  entry(key: string): BundleEntryProto;
  read(key: string): DecodedTensor;
}

export const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';
const MAX_SHARDS = 100_000;

export function shardPath(prefix: string, shard: number, numShards: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}.data-${pad(shard)}-of-${pad(numShards)}`;
}

function corrupt(file: string, what: string, cause?: unknown): CtrError {
  return new CtrError(
    'CTR_ERR_BUNDLE_CORRUPT',
    `${file}: ${what}`,
    cause === undefined ? undefined : { cause },
  );
}

function asCorrupt<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isCtrError(err) && err.code === 'CTR_ERR_PROTO_DECODE') throw corrupt(file, err.message, err);
    throw err;
  }
}

export type ReadTensorBundleOptions = { maxElements?: number };

export async function readTensorBundle(
  prefix: string,
  options: ReadTensorBundleOptions = {},
): Promise<TensorBundle> {
  const indexFile = `${prefix}.index`;
  const { header, entries } = await readBundleIndex(prefix, indexFile);
  const index: BundleIndex = {
    prefix,
    header,
    entries,
    maxElements: options.maxElements ?? DEFAULT_MAX_ELEMENTS,
  };
  const read = (key: string) => readEntry(index, key);

  let objectGraph: TrackableObjectGraph | undefined;
  if (entries.has(OBJECT_GRAPH_KEY)) {
    const t = read(OBJECT_GRAPH_KEY);
    if (t.dtype !== DataType.DT_STRING || t.shape.length !== 0) {
      throw corrupt(indexFile, `${OBJECT_GRAPH_KEY} is not a string scalar`);
    }
    const bytes = (t.values as Uint8Array[])[0]!;
    objectGraph = asCorrupt(indexFile, () =>
      decodeTrackableObjectGraph(bytes, `${prefix} ${OBJECT_GRAPH_KEY}`),
    );
  }

  const keys = [...entries.keys()];
  return {
    prefix,
    header,
    objectGraph,
    keys: () => keys.slice(),
    has: (key) => entries.has(key),
    entry: (key) => {
      const e = entries.get(key);
      if (e === undefined)
        throw new CtrError('CTR_ERR_MISSING_VARIABLE', `${prefix}: no tensor "${key}" in the checkpoint`);
      return e;
    },
    read,
  };
}

type BundleIndex = {
  readonly prefix: string;
  readonly header: BundleHeaderProto;
  readonly entries: ReadonlyMap<string, BundleEntryProto>;
  readonly maxElements: number;
};

/** The index table: header and entries, each entry checked to lie within its (stat'ed) shard. */
async function readBundleIndex(
  prefix: string,
  indexFile: string,
): Promise<{ header: BundleHeaderProto; entries: Map<string, BundleEntryProto> }> {
  let indexBytes: Uint8Array;
  try {
    indexBytes = await readFile(indexFile);
  } catch (err) {
    throw corrupt(indexFile, `cannot read the checkpoint index (${(err as Error).message})`, err);
  }
  const table = readTable(indexBytes, indexFile);
  const headerBytes = table.get('');
  if (headerBytes === undefined) throw corrupt(indexFile, 'no bundle header (empty key)');
  const header = asCorrupt(indexFile, () => decodeBundleHeader(headerBytes, `${indexFile} header`));
  if (header.numShards < 1 || header.numShards > MAX_SHARDS) {
    throw corrupt(indexFile, `bad shard count ${header.numShards}`);
  }
  if (header.endianness !== 0) throw corrupt(indexFile, 'big-endian checkpoints are not supported');

  const entries = new Map<string, BundleEntryProto>();
  const shardBytes = new Map<number, number>();
  for (const [key, value] of table) {
    if (key === '') continue;
    const e = asCorrupt(indexFile, () => decodeBundleEntry(value, `${indexFile} entry "${key}"`));
    if (e.shardId < 0 || e.shardId >= header.numShards) {
      throw corrupt(indexFile, `entry "${key}" names shard ${e.shardId} of ${header.numShards}`);
    }
    if (!shardBytes.has(e.shardId)) {
      const file = shardPath(prefix, e.shardId, header.numShards);
      try {
        shardBytes.set(e.shardId, (await stat(file)).size);
      } catch (err) {
        throw corrupt(file, `missing checkpoint shard (needed by "${key}")`, err);
      }
    }
    if (e.offset + e.size > shardBytes.get(e.shardId)!) {
      throw corrupt(
        shardPath(prefix, e.shardId, header.numShards),
        `entry "${key}" (offset ${e.offset}, size ${e.size}) runs past the end of the shard`,
      );
    }
    entries.set(key, e);
  }
  return { header, entries };
}

function readEntryBytes(file: string, key: string, e: BundleEntryProto): Uint8Array {
  const out = new Uint8Array(e.size);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    let done = 0;
    while (done < e.size) {
      const n = readSync(fd, out, done, e.size - done, e.offset + done);
      if (n === 0) throw new Error('unexpected end of file');
      done += n;
    }
  } catch (err) {
    throw corrupt(file, `cannot read "${key}" (${(err as Error).message})`, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return out;
}

function readEntry(index: BundleIndex, key: string): DecodedTensor {
  const { prefix, header } = index;
  const e = index.entries.get(key);
  if (e === undefined)
    throw new CtrError('CTR_ERR_MISSING_VARIABLE', `${prefix}: no tensor "${key}" in the checkpoint`);
  const file = shardPath(prefix, e.shardId, header.numShards);
  const where = `${file} "${key}"`;
  if (e.slices.length > 0) throw corrupt(file, `"${key}" is a sliced (partitioned) variable, not supported`);
  const shape = (e.shape?.dim ?? []).map((d) => d.size);
  const count = checkedElementCount(shape, where, index.maxElements);
  if (e.dtype === DataType.DT_STRING) {
    if (count > e.size) throw corrupt(file, `"${key}" declares ${count} strings in ${e.size} bytes`);
    return {
      dtype: e.dtype,
      shape,
      values: readStringTensor(readEntryBytes(file, key, e), count, e.crc32c, where),
    };
  }
  const size = dtypeByteSize(e.dtype);
  if (size !== undefined && count * size !== e.size) {
    throw corrupt(file, `"${key}" is ${dtypeName(e.dtype)}[${shape.join(',')}] but holds ${e.size} bytes`);
  }
  const bytes = readEntryBytes(file, key, e);
  if (crc32c(bytes) !== unmaskCrc(e.crc32c)) {
    throw new CtrError('CTR_ERR_CHECKSUM', `${where}: tensor data fails its crc32c check`);
  }
  return { dtype: e.dtype, shape, values: valuesFromBytes(e.dtype, count, bytes, where) };
}

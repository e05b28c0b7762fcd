import { asString } from './as-string.ts';
import { bucketize } from './bucketize.ts';
import { GATHER_KERNELS } from './gather.ts';
import type { OpKernel } from './kernel-context.ts';
import { parseExample, parseExampleV2 } from './parse-example.ts';
import { ND_KERNELS } from './scatter-gather-nd.ts';
import { sparseFillEmptyRows } from './sparse-fill-empty-rows.ts';
import { SEGMENT_KERNELS } from './sparse-segment.ts';
import { sparseToDense } from './sparse-to-dense.ts';
import { stringToHashBucketFast, stringToHashBucketStrong } from './string-to-hash-bucket.ts';
import { TABLE_KERNELS } from './table-kernels.ts';
import { tile } from './tile.ts';

/** Every kernel of the op registry (op-registry.ts); one line per kernel. */
export const KERNELS: readonly OpKernel[] = [
  asString,
  stringToHashBucketFast,
  stringToHashBucketStrong,
  parseExample,
  parseExampleV2,
  ...TABLE_KERNELS,
  bucketize,
  sparseToDense,
  sparseFillEmptyRows,
  ...SEGMENT_KERNELS,
  tile,
  ...GATHER_KERNELS,
  ...ND_KERNELS,
];

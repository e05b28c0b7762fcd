import { asString } from './as-string.ts';
import type { OpKernel } from './kernel-context.ts';
import { parseExample, parseExampleV2 } from './parse-example.ts';
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
  tile,
  ...TABLE_KERNELS,
];

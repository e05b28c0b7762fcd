import { asString } from './as-string.ts';
import type { OpKernel } from './kernel-context.ts';
import { stringToHashBucketFast, stringToHashBucketStrong } from './string-to-hash-bucket.ts';

/** Every kernel of the op registry (op-registry.ts); one line per kernel. */
export const KERNELS: readonly OpKernel[] = [asString, stringToHashBucketFast, stringToHashBucketStrong];

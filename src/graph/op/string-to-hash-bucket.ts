import * as tf from '@tensorflow/tfjs-core';
import { fingerprint64 } from 'farmhash-modern';
import siphash from 'siphash';
import type { KernelContext, OpKernel } from './kernel-context.ts';

const INT32_MAX = 2 ** 31 - 1;

/** Buckets of `hash(x) % num_buckets` as int64 (int32 in tfjs: num_buckets must fit). */
function buckets(ctx: KernelContext, hash: (b: Uint8Array) => bigint): tf.Tensor {
  const n = ctx.attrInt('num_buckets');
  if (!Number.isInteger(n) || n < 1) throw ctx.invalidGraph(`num_buckets ${n} must be at least 1`);
  if (n > INT32_MAX + 1) throw ctx.invalidGraph(`num_buckets ${n} does not fit the int32 tfjs computes in`);
  const input = ctx.input(0);
  const bytes = ctx.stringInput(0);
  const out = new Int32Array(bytes.length);
  const m = BigInt(n);
  for (let i = 0; i < bytes.length; i++) out[i] = Number(hash(bytes[i]!) % m);
  return tf.tensor(out, input.shape, 'int32');
}

/**
 * StringToHashBucketFast (tensorflow/core/kernels/string_to_hash_bucket_fast_op.h): Fingerprint64(bytes) %
 * num_buckets, FarmHash's Fingerprint64 from farmhash-modern, on the raw bytes.
 */
export const stringToHashBucketFast: OpKernel = {
  op: 'StringToHashBucketFast',
  run: (ctx) => buckets(ctx, fingerprint64),
};

/**
 * StringToHashBucketStrong (string_to_hash_bucket_op.h): StrongKeyedHash(key, bytes) % num_buckets, which is
 * SipHash-2-4 with the 128-bit key {key[0], key[1]} (tensorflow/core/platform/strong_hash.h), from siphash.
 */
export const stringToHashBucketStrong: OpKernel = {
  op: 'StringToHashBucketStrong',
  run(ctx) {
    const key = ctx.attrInts('key');
    if (key.length !== 2) throw ctx.invalidGraph(`key must have 2 elements, has ${key.length}`);
    const words = key.flatMap((k) => {
      const u = BigInt.asUintN(64, BigInt(k));
      return [Number(u & 0xffffffffn), Number(u >> 32n)];
    });
    return buckets(ctx, (b) => {
      const { h, l } = siphash.hash(words, b);
      return (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
    });
  },
};

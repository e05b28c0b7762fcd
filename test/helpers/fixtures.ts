import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Real TensorFlow files live beside the repo in ../shared; a user's clone does not have them. */
export const SHARED_DIR = resolve(REPO_ROOT, '../shared');
export const TF_FIXTURES = join(SHARED_DIR, 'tf-fixtures');
export const BENCH_REFERENCE = join(SHARED_DIR, 'bench-reference');

export function fixture(rel: string): string {
  return join(TF_FIXTURES, rel);
}

/** For node:test's `skip` option: a reason string when ../shared is absent, false otherwise. */
export const skipWithoutFixtures: string | false = existsSync(TF_FIXTURES)
  ? false
  : `../shared/tf-fixtures is absent (it sits beside the repo on the developers' machines); skipping tests on real TensorFlow files`;

export const skipWithoutBenchReference: string | false = existsSync(BENCH_REFERENCE)
  ? false
  : `../shared/bench-reference is absent; skipping tests on the reference student`;

/** Relative closeness as the fixtures README states it: |a-b| <= rtol*max(|b|, 1e-30)... with an absolute floor. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol = 1e-5,
  atol = 1e-6,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} != expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: ${a} differs from expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

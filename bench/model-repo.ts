import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeGraphDef } from '../src/graph/proto/encode.ts';
import type { BenchReference } from './reference.ts';

export const BENCH_MODEL = 'ctr-student';

/**
 * Writes the reference student as a TF Serving model repository, `<root>/ctr-student/1/frozen_graph.pb` plus
 * the model.json naming its signature (docs/api.md), so the benchmarks load it the way a user's model is loaded.
 * Returns the model's base path (for the server) and its version directory (for loadModel).
 */
export async function writeReferenceRepo(
  ref: BenchReference,
  root: string,
  name = BENCH_MODEL,
): Promise<{ base: string; version: string }> {
  const base = join(root, name);
  const version = join(base, '1');
  await mkdir(version, { recursive: true });
  await writeFile(join(version, 'frozen_graph.pb'), encodeGraphDef(ref.graph));
  const sidecar = {
    inputs: { history: 'history:0', candidate: 'candidate:0' },
    outputs: { ctr: 'ctr:0', logit: 'logit:0' },
    vocab_size: ref.meta.V,
  };
  await writeFile(join(version, 'model.json'), `${JSON.stringify(sidecar, null, 2)}\n`);
  return { base, version };
}

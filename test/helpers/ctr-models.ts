import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildReferenceStudentGraph, type ReferenceStudentWeights } from '../../bench/reference-student.ts';
import { encodeGraphDef } from '../../src/graph/proto/encode.ts';
import { rng } from './random.ts';

/**
 * Small CTR models for shadow tests, written as real frozen GraphDefs (embedding + MLP, the reference student's
 * architecture) with seeded random weights and loaded through the normal model path. A "perturbed student" is the
 * teacher's weights with seeded noise added, so it is a genuinely different model.
 */
export type CtrModelSpec = {
  readonly seed: number;
  readonly historyLength: number;
  /** Added to every teacher weight (uniform in ±noise); 0 = the same model. */
  readonly noise?: number;
  readonly noiseSeed?: number;
};

export const VOCAB = 200;
const D = 8;
const H1 = 16;
const H2 = 8;

export function ctrWeights(spec: CtrModelSpec): ReferenceStudentWeights {
  const r = rng(spec.seed);
  const noise = rng(spec.noiseSeed ?? spec.seed + 1000);
  const arr = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => (r() - 0.5) * 2 * scale + (noise() - 0.5) * 2 * (spec.noise ?? 0));
  const E = arr(VOCAB * D, 0.8);
  E.fill(0, 0, D); // id 0 is padding
  return {
    E,
    W1: arr(3 * D * H1, 0.6),
    b1: arr(H1, 0.1),
    W2: arr(H1 * H2, 0.6),
    b2: arr(H2, 0.1),
    W3: arr(H2, 0.9),
    b3: arr(1, 0.3),
    vocabSize: VOCAB,
    embeddingDim: D,
    historyLength: spec.historyLength,
  };
}

/** Writes `<base>/<name>/1/frozen_graph.pb` + model.json and returns the version directory. */
export async function writeCtrModel(base: string, name: string, spec: CtrModelSpec): Promise<string> {
  const dir = join(base, name, '1');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(buildReferenceStudentGraph(ctrWeights(spec))));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      inputs: { history: 'history:0', candidate: 'candidate:0' },
      outputs: { ctr: 'ctr:0', logit: 'logit:0' },
      vocab_size: VOCAB,
    }),
  );
  return dir;
}

/** Seeded CTR traffic: users with short histories and a few candidates each. */
export function ctrTraffic(seed: number, users: number, maxCandidates = 12) {
  const r = rng(seed);
  const id = () => 1 + Math.floor(r() * (VOCAB - 1));
  return Array.from({ length: users }, (_, u) => ({
    id: `u${seed}-${u}`,
    history: Array.from({ length: Math.floor(r() * 9) }, id),
    candidates: Array.from({ length: 1 + Math.floor(r() * maxCandidates) }, id),
  }));
}

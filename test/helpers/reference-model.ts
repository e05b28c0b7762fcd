import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildReferenceStudentGraph, parseReferenceWeights } from '../../bench/reference-student.ts';
import { encodeGraphDef } from '../../src/graph/proto/encode.ts';
import { BENCH_REFERENCE } from './fixtures.ts';
import { writeModelDir } from './app-helpers.ts';

/**
 * The reference student of ../shared/bench-reference (built by graph/builder) as a frozen-graph version directory
 * `<base>/<version>/frozen_graph.pb` + model.json, and its 1024 reference rows.
 */
export const REFERENCE_L = 50;
const ROWS = 1024;

export async function writeReferenceStudent(
  versionDir: string,
  meta: { vocab_size?: number; oov_id?: number } = { vocab_size: 20000 },
): Promise<void> {
  const layout = JSON.parse(readFileSync(join(BENCH_REFERENCE, 'meta.json'), 'utf8'));
  const weights = parseReferenceWeights(readFileSync(join(BENCH_REFERENCE, 'weights.bin')), layout);
  await writeModelDir(versionDir, {
    'frozen_graph.pb': encodeGraphDef(buildReferenceStudentGraph(weights)),
    'model.json': JSON.stringify({
      inputs: { history: 'history:0', candidate: 'candidate:0' },
      outputs: { ctr: 'ctr:0', logit: 'logit:0' },
      ...meta,
    }),
  });
}

/** Row i: its history ids (padding dropped), candidate, and the expected probability from expected.f32. */
export function referenceRows(): { history: number[]; candidate: number; expected: number }[] {
  const inputs = new Int32Array(readFileSync(join(BENCH_REFERENCE, 'inputs.bin')).buffer.slice(0));
  const expected = new Float32Array(readFileSync(join(BENCH_REFERENCE, 'expected.f32')).buffer.slice(0));
  return Array.from({ length: ROWS }, (_, i) => ({
    history: Array.from(inputs.subarray(i * REFERENCE_L, (i + 1) * REFERENCE_L)).filter((id) => id !== 0),
    candidate: inputs[ROWS * REFERENCE_L + i]!,
    expected: expected[i]!,
  }));
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildReferenceStudentGraph,
  parseReferenceWeights,
  type BenchReferenceMeta,
  type ReferenceStudentWeights,
} from './reference-student.ts';
import type { GraphDef } from '../src/graph/proto/types.ts';

/** The reference student of ../shared/bench-reference (bench/README.md describes it): weights, fixed inputs, expected outputs. */
export type BenchReference = {
  readonly meta: BenchReferenceMeta;
  readonly weights: ReferenceStudentWeights;
  readonly graph: GraphDef;
  /** int32 [rows, L] */
  readonly history: Int32Array;
  /** int32 [rows] */
  readonly candidate: Int32Array;
  /** float32 [rows]: the click probabilities, computed in float64 and rounded. */
  readonly expected: Float32Array;
  readonly rows: number;
  readonly historyLength: number;
};

export async function loadBenchReference(dir: string): Promise<BenchReference> {
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as BenchReferenceMeta & {
    BMAX: number;
  };
  const weights = parseReferenceWeights(await readFile(join(dir, 'weights.bin')), meta);
  const ints = toInt32(await readFile(join(dir, 'inputs.bin')));
  const rows = meta.BMAX;
  const L = meta.L;
  const expected = toFloat32(await readFile(join(dir, 'expected.f32')));
  if (ints.length !== rows * (L + 1) || expected.length !== rows) {
    throw new Error(`${dir}: inputs.bin/expected.f32 do not match meta.json (${rows} rows of ${L} ids)`);
  }
  return {
    meta,
    weights,
    graph: buildReferenceStudentGraph(weights),
    history: ints.subarray(0, rows * L),
    candidate: ints.subarray(rows * L),
    expected,
    rows,
    historyLength: L,
  };
}

function toInt32(b: Uint8Array): Int32Array {
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function toFloat32(b: Uint8Array): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

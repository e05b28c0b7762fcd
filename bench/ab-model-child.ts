// One model-only sample for bench/ab.ts, in a process of its own (the model-only rate is bimodal per process):
//   node --import tsx bench/ab-model-child.ts TREE MODEL_VERSION_DIR REFERENCE_DIR
// Runs TREE's own bench/model-only.ts (its loadModel, its tfjs) on the frozen graph in MODEL_VERSION_DIR and prints
// the rows as one JSON line. bench/ab.ts starts it under `taskset -c 0` for each tree in turn.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelOnlyOptions, ModelRow } from './model-only.ts';
import type { BenchReference } from './reference.ts';

type ModelOnlyModule = {
  runModelOnly(ref: BenchReference, path: string, o: ModelOnlyOptions): Promise<ModelRow[]>;
};

const [tree, modelDir, referenceDir, minMs = '400'] = process.argv.slice(2);
if (!tree || !modelDir || !referenceDir) {
  process.stderr.write('usage: ab-model-child.ts TREE MODEL_VERSION_DIR REFERENCE_DIR [MIN_MS]\n');
  process.exit(2);
}
const load = async <T>(file: string) => (await import(pathToFileURL(join(tree, file)).href)) as T;
const { initBackend } = await load<{ initBackend(): Promise<string> }>('src/graph/backend.ts');
const { loadBenchReference } = await load<{ loadBenchReference(d: string): Promise<BenchReference> }>(
  'bench/reference.ts',
);
const { runModelOnly } = await load<ModelOnlyModule>('bench/model-only.ts');
const backend = await initBackend();
const ref = await loadBenchReference(referenceDir);
const rows = await runModelOnly(ref, modelDir, { repeats: 3, minMs: Number(minMs), batches: [1, 64, 1024] });
process.stdout.write(`${JSON.stringify({ backend, rows })}\n`);

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSavedModel } from '../proto/encode.ts';
import type { MetaGraphDef } from '../proto/types.ts';
import type { DecodedTensor } from '../tensor/tensor-values.ts';
import { writeTensorBundle } from './write-tensor-bundle.ts';

/**
 * Writes a SavedModel directory: `saved_model.pb` (schema version 1, the given MetaGraphDefs as they are) and,
 * when `variables` is given, the checkpoint `variables/variables.{index,data-00000-of-00001}`. The caller builds
 * the MetaGraphDefs (tags, graph with VariableV2/VarHandleOp nodes named after the checkpoint keys, signatures,
 * saver). The checkpoint is written before saved_model.pb, and every file is renamed into place, so a model
 * watcher that waits for saved_model.pb never loads a half-written version.
 */
export async function writeSavedModel(
  dir: string,
  model: { metaGraphs: MetaGraphDef[]; variables?: Record<string, DecodedTensor> },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (model.variables !== undefined) {
    await writeTensorBundle(join(dir, 'variables', 'variables'), model.variables);
  }
  const file = join(dir, 'saved_model.pb');
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, encodeSavedModel({ savedModelSchemaVersion: 1, metaGraphs: model.metaGraphs }));
  await rename(tmp, file);
}

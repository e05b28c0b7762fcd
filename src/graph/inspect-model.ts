import { isCtrError } from '../errors/registry.ts';
import { freezeGraph } from './freeze/freeze-graph.ts';
import type { ModelFormat, TfDtype } from './model.ts';
import { prepareModel } from './prepare-model.ts';
import type { TensorInfo } from './proto/types.ts';
import { dtypeName } from './tensor/tensor-values.ts';
import { unsupportedOps } from './tfjs/supported-ops.ts';

export type TensorDescription = { name: string | null; dtype: TfDtype | string; shape: number[] | null };

export type SignatureDescription = {
  methodName: string;
  inputs: Record<string, TensorDescription>;
  outputs: Record<string, TensorDescription>;
  /** Ops this signature needs that tfjs cannot run, with the nodes using them. */
  unsupportedOps: { op: string; nodes: string[] }[];
  /** Why it cannot be frozen, when it cannot (missing variable, bad graph...). */
  error?: { code: string; message: string };
};

export type ModelDescription = {
  path: string;
  format: ModelFormat;
  /** Tag sets of every MetaGraphDef (SavedModel). */
  tagSets: string[][];
  /** The tag set described. */
  tags: string[];
  signatures: Record<string, SignatureDescription>;
  /** Op → node count in the graph and its function library. */
  opCounts: Record<string, number>;
  /** Every op some signature needs and tfjs cannot run. */
  unsupportedOps: string[];
  vocabSize?: number;
  oovId?: number;
};

/**
 * Describes a model without running it: what `ctr-serve inspect` prints. Each signature is frozen (so variables
 * are read from the checkpoint) to find exactly the ops it needs; a signature that cannot be frozen carries its
 * error instead of failing the whole description. Failures: those of reading the model (not a model, corrupt
 * files, tag set not found).
 */
export async function inspectModel(path: string, tags?: readonly string[]): Promise<ModelDescription> {
  const model = await prepareModel(path, tags);
  const opCounts: Record<string, number> = {};
  const nodes = [...model.graph.node, ...(model.graph.library?.function ?? []).flatMap((f) => f.nodeDef)];
  for (const n of nodes) opCounts[n.op] = (opCounts[n.op] ?? 0) + 1;

  const signatures: Record<string, SignatureDescription> = {};
  const missing = new Set<string>();
  for (const sig of Object.values(model.signatures)) {
    const d: SignatureDescription = {
      methodName: sig.methodName,
      inputs: describe(sig.inputs),
      outputs: describe(sig.outputs),
      unsupportedOps: [],
    };
    try {
      const frozen = freezeGraph(model.graph, {
        outputs: Object.values(sig.outputs).flatMap((t) => (t.name ? [t.name] : [])),
        feeds: Object.values(sig.inputs).flatMap((t) =>
          t.name ? [{ tensor: t.name, dtype: t.dtype, shape: t.tensorShape }] : [],
        ),
        checkpoint: model.checkpoint,
        source: model.source,
        checkpointSource: model.checkpointSource,
        initOps: model.initOps,
      });
      d.unsupportedOps = unsupportedOps(frozen.graph);
      for (const u of d.unsupportedOps) missing.add(u.op);
    } catch (err) {
      if (!isCtrError(err)) throw err;
      d.error = { code: err.code, message: err.message };
    }
    signatures[sig.name] = d;
  }
  return {
    path,
    format: model.format,
    tagSets: model.availableTagSets.map((s) => [...s]),
    tags: [...model.tags],
    signatures,
    opCounts: Object.fromEntries(Object.entries(opCounts).sort(([a], [b]) => a.localeCompare(b))),
    unsupportedOps: [...missing].sort(),
    ...(model.modelJson?.vocabSize !== undefined ? { vocabSize: model.modelJson.vocabSize } : {}),
    ...(model.modelJson?.oovId !== undefined ? { oovId: model.modelJson.oovId } : {}),
  };
}

function describe(infos: Readonly<Record<string, TensorInfo>>): Record<string, TensorDescription> {
  return Object.fromEntries(
    Object.entries(infos).map(([alias, t]) => [
      alias,
      {
        name: t.name ?? null,
        dtype: dtypeName(t.dtype),
        shape: !t.tensorShape || t.tensorShape.unknownRank ? null : t.tensorShape.dim.map((x) => x.size),
      },
    ]),
  );
}

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtrError } from '../errors/registry.ts';
import { readTensorBundle, type TensorBundle } from './bundle/tensor-bundle.ts';
import { detectModel, type ModelJson } from './model-dir.ts';
import type { ModelFormat } from './model.ts';
import { decodeGraphDef, decodeSavedModel } from './proto/decode.ts';
import type { GraphDef, MetaGraphDef, NodeDef, TensorInfo, TensorShapeProto } from './proto/types.ts';
import { parseRef } from './freeze/tensor-ref.ts';

/** A signature before freezing: alias → tensor in the source graph. */
export type SourceSignature = {
  readonly name: string;
  readonly methodName: string;
  readonly inputs: Readonly<Record<string, TensorInfo>>;
  readonly outputs: Readonly<Record<string, TensorInfo>>;
};

/**
 * A model read from disk and not yet frozen: the graph (with its function library), the checkpoint when there
 * is one, and its signatures (SignatureDefs of the chosen MetaGraphDef; for a frozen graph, model.json or
 * Placeholders → sinks).
 */
export type PreparedModel = {
  readonly path: string;
  readonly format: ModelFormat;
  /** File named in messages. */
  readonly source: string;
  readonly graph: GraphDef;
  readonly tags: readonly string[];
  readonly availableTagSets: readonly (readonly string[])[];
  readonly signatures: Readonly<Record<string, SourceSignature>>;
  readonly checkpoint?: TensorBundle;
  readonly checkpointSource?: string;
  /** The init op TensorFlow's loader runs after the restore (TF1 collections, TF2 __saved_model_init_op). */
  readonly initOps?: readonly string[];
  /** The TF1 "table_initializer" collection (table/init-tables.ts). */
  readonly tableInitializers?: readonly string[];
  /** The SavedModel's assets/ directory and its asset tensors (node name → file name, asset_file_def). */
  readonly assetsDir?: string;
  readonly assetFiles?: ReadonlyMap<string, string>;
  readonly modelJson?: ModelJson;
};

const PREDICT = 'tensorflow/serving/predict';
/** Ops that consume nothing a client wants: never a frozen graph's default output. */
const NOT_OUTPUTS = new Set([
  'PlaceholderWithDefault',
  'NoOp',
  'Assert',
  'Placeholder',
  'Const',
  'SaveV2',
  'RestoreV2',
  'Assign',
  'AssignVariableOp',
]);

/** Failures: those of detectModel and the decoders, CTR_ERR_TAG_SET_NOT_FOUND, CTR_ERR_INVALID_GRAPH. */
export async function prepareModel(
  path: string,
  tags: readonly string[] = ['serve'],
): Promise<PreparedModel> {
  const src = await detectModel(path);
  if (src.format === 'frozen_graph') {
    const graph = decodeGraphDef(await readFile(src.graphPath), src.graphPath);
    const signatures = src.modelJson
      ? { serving_default: signatureFromJson(graph, src.modelJson, src.graphPath) }
      : { serving_default: defaultSignature(graph) };
    return {
      path,
      format: 'frozen_graph',
      source: src.graphPath,
      graph,
      tags: [],
      availableTagSets: [],
      signatures,
      modelJson: src.modelJson,
    };
  }
  const sm = decodeSavedModel(await readFile(src.savedModelPath), src.savedModelPath);
  const sets = sm.metaGraphs.map((m) => m.metaInfoDef?.tags ?? []);
  const want = [...tags].sort().join(',');
  const meta = sm.metaGraphs.find((m) => [...(m.metaInfoDef?.tags ?? [])].sort().join(',') === want);
  if (!meta) {
    throw new CtrError(
      'CTR_ERR_TAG_SET_NOT_FOUND',
      `${src.savedModelPath} has no MetaGraphDef with tags [${tags.join(', ')}]; available: ${sets.map((s) => `[${s.join(', ')}]`).join(' ') || 'none'}`,
    );
  }
  const prefix = join(src.dir, 'variables', 'variables');
  const checkpoint = existsSync(`${prefix}.index`) ? await readTensorBundle(prefix) : undefined;
  return {
    path,
    format: 'saved_model',
    source: src.savedModelPath,
    graph: meta.graphDef ?? { node: [] },
    tags: meta.metaInfoDef?.tags ?? [],
    availableTagSets: sets,
    signatures: signaturesOf(meta),
    checkpoint,
    checkpointSource: checkpoint ? prefix : undefined,
    initOps: initOpsOf(meta),
    tableInitializers: meta.collectionDef?.table_initializer?.nodeList?.value ?? [],
    assetsDir: join(src.dir, 'assets'),
    assetFiles: new Map(
      (meta.assetFileDef ?? []).flatMap((a) =>
        a.tensorInfo?.name ? [[parseRef(a.tensorInfo.name).node, a.filename] as const] : [],
      ),
    ),
  };
}

/** tensorflow/cc/saved_model/loader.cc GetInitOp: the init signature, else main_op, else legacy_init_op. */
function initOpsOf(meta: MetaGraphDef): string[] {
  const sig = meta.signatureDef?.__saved_model_init_op;
  if (sig) return Object.values(sig.outputs ?? {}).flatMap((t) => (t.name ? [t.name] : []));
  const lists = meta.collectionDef ?? {};
  return (lists.saved_model_main_op ?? lists.legacy_init_op)?.nodeList?.value ?? [];
}

function signaturesOf(meta: MetaGraphDef): Record<string, SourceSignature> {
  const out: Record<string, SourceSignature> = {};
  for (const [name, s] of Object.entries(meta.signatureDef ?? {})) {
    if (name.startsWith('__')) continue; // __saved_model_init_op and friends: not callable signatures
    out[name] = { name, methodName: s.methodName, inputs: s.inputs ?? {}, outputs: s.outputs ?? {} };
  }
  return out;
}

/** The dtype and shape a node's output has, from its attrs as TensorFlow writes them. */
export function tensorInfoOf(
  graph: GraphDef | Map<string, NodeDef>,
  tensor: string,
  source: string,
): TensorInfo {
  const nodes = graph instanceof Map ? graph : new Map(graph.node.map((n) => [n.name, n]));
  const r = parseRef(tensor);
  const node = nodes.get(r.node);
  if (!node)
    throw new CtrError('CTR_ERR_OUTPUT_NOT_FOUND', `${source} has no node ${r.node} (tensor ${tensor})`);
  const a = node.attr;
  const dtype =
    a.dtype?.type ??
    a.T?.type ??
    a.DstT?.type ??
    a.out_type?.type ??
    a.Tparams?.type ??
    a.T?.list?.type?.[r.index] ??
    0;
  const shape: TensorShapeProto | undefined =
    node.op === 'Placeholder' ? a.shape?.shape : a._output_shapes?.list?.shape?.[r.index];
  return { name: `${r.node}:${r.index}`, dtype, tensorShape: shape };
}

function signatureFromJson(graph: GraphDef, json: ModelJson, source: string): SourceSignature {
  const nodes = new Map(graph.node.map((n) => [n.name, n]));
  const map = (
    o: Readonly<Record<string, string>>,
    code: 'CTR_ERR_INVALID_GRAPH' | 'CTR_ERR_OUTPUT_NOT_FOUND',
  ) =>
    Object.fromEntries(
      Object.entries(o).map(([alias, t]) => {
        if (!nodes.has(parseRef(t).node)) {
          throw new CtrError(
            code,
            `model.json beside ${source} names ${alias}: ${t}, which is not in the graph`,
          );
        }
        return [alias, tensorInfoOf(nodes, t, source)];
      }),
    );
  return {
    name: 'serving_default',
    methodName: PREDICT,
    inputs: map(json.inputs, 'CTR_ERR_INVALID_GRAPH'),
    outputs: map(json.outputs, 'CTR_ERR_OUTPUT_NOT_FOUND'),
  };
}

function defaultSignature(graph: GraphDef): SourceSignature {
  const consumed = new Set(graph.node.flatMap((n) => n.input.map((i) => parseRef(i).node)));
  const nodes = new Map(graph.node.map((n) => [n.name, n]));
  const inputs: Record<string, TensorInfo> = {};
  const outputs: Record<string, TensorInfo> = {};
  for (const n of graph.node) {
    if (n.op === 'Placeholder') {
      inputs[n.name] = tensorInfoOf(nodes, n.name, '');
    } else if (!consumed.has(n.name) && !NOT_OUTPUTS.has(n.op)) {
      outputs[n.name] = tensorInfoOf(nodes, n.name, '');
    }
  }
  return { name: 'serving_default', methodName: PREDICT, inputs, outputs };
}

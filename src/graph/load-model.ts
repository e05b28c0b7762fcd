import { CtrError, isCtrError } from '../errors/registry.ts';
import { initBackend } from './backend.ts';
import { freezeGraph } from './freeze/freeze-graph.ts';
import { parseRef } from './freeze/tensor-ref.ts';
import { ResourceScope } from './op/resources.ts';
import { bindTables } from './table/bind-tables.ts';
import { initTables } from './table/init-tables.ts';
import { TABLE_RESOURCE } from './table/lookup-table.ts';
import type { LoadedModel, LoadOptions, ModelInfo, SignatureSpec } from './model.ts';
import { prepareModel, tensorInfoOf, type PreparedModel, type SourceSignature } from './prepare-model.ts';
import type { GraphDef } from './proto/types.ts';
import { rewriteGraph } from './rewrite/index.ts';
import {
  feedsOf,
  relaxExampleShapes,
  signatureRuntime,
  tensorSpecs,
  unpinFedShapes,
} from './signature-runtime.ts';
import { buildVariants, type SignatureVariant } from './signature-variant.ts';
import { compileGraph } from './tfjs/graph-model.ts';
import { TfjsModel, type SignatureRuntime } from './tfjs/tfjs-model.ts';

export type LoadModelOptions = LoadOptions & {
  /**
   * Extra runtimes beside each signature, built when the rewrites are on (src/graph/signature-variant.ts);
   * the CTR adapter's are in src/ctr/shared-history-variant.ts. Default: none.
   */
  readonly variants?: readonly SignatureVariant[];
};

/** Variant runtimes by kind, then by the signature they compute. */
type Variants = Map<string, Map<string, SignatureRuntime>>;

export type FreezeOptions = {
  /** Output node names ("ctr") or tensor names ("ctr:0"); default: the signature's outputs. */
  readonly outputs?: readonly string[];
  /** SavedModel tag set; default ['serve']. */
  readonly tags?: readonly string[];
  /** Signature whose outputs (and feeds) to keep when `outputs` is not given; default 'serving_default'. */
  readonly signature?: string;
};

/**
 * Reads a frozen GraphDef or SavedModel at `path`, freezes its signatures into plain graphs, applies the
 * load-time rewrites (unless `rewrite: false`), and compiles them for tfjs (contract in model.ts). Signatures
 * that cut the graph at the same tensors share one frozen graph, hence one copy of the weights. A signature whose
 * ops tfjs lacks stays out of `info.signatures` and answers CTR_ERR_UNSUPPORTED_OP; if the default signature is
 * one of them, loading fails with that error, naming every missing op.
 */
export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const backend = await initBackend();
  const model = withOutputs(await prepareModel(path, opts.tags), opts.outputs);
  const variants = (opts.rewrite ?? true) ? (opts.variants ?? []) : undefined;
  const direct = opts.direct ?? true;
  const runtimes = new Map<string, SignatureRuntime>();
  const extra: Variants = new Map();
  const unavailable = new Map<string, CtrError>();
  // The version's stateful resources (lookup tables), freed with it (TfjsModel.dispose).
  const resources = new ResourceScope();
  try {
    // Lookup tables: filled once per version by the SavedModel's init op, bound into each frozen graph.
    const tables = await initTables(model);
    const ids = new Map([...tables].map(([key, t]) => [key, resources.add(key, TABLE_RESOURCE, t)]));
    const bind = (g: GraphDef) => bindTables(g, tables, ids, model.source);
    const groups = new Map<string, SourceSignature[]>();
    for (const sig of Object.values(model.signatures)) {
      const composite = Object.entries({ ...sig.inputs, ...sig.outputs }).find(([, t]) => !t.name);
      if (composite) {
        const why = `signature ${sig.name}: ${composite[0]} is a sparse or composite tensor`;
        unavailable.set(sig.name, new CtrError('CTR_ERR_UNSUPPORTED_OP', why));
        continue;
      }
      const key = cutKey(model, sig);
      groups.set(key, [...(groups.get(key) ?? []), sig]);
    }
    for (const group of groups.values()) {
      try {
        for (const rt of await compileGroup(model, group, { variants, direct }, extra, bind))
          runtimes.set(rt.spec.name, rt);
      } catch (err) {
        if (!isCtrError(err) || err.code !== 'CTR_ERR_UNSUPPORTED_OP') throw err;
        // Some signature of the group needs an op tfjs lacks: compile each alone to keep the others.
        for (const sig of group) {
          try {
            runtimes.set(sig.name, (await compileGroup(model, [sig], { variants, direct }, extra, bind))[0]!);
          } catch (e) {
            if (isCtrError(e) && e.code === 'CTR_ERR_UNSUPPORTED_OP') unavailable.set(sig.name, e);
            else throw e;
          }
        }
      }
    }
    const names = Object.keys(model.signatures);
    const defaultSignature = names.includes('serving_default') ? 'serving_default' : names.sort()[0];
    if (defaultSignature === undefined) {
      throw new CtrError('CTR_ERR_SIGNATURE_NOT_FOUND', `${model.source} has no signatures`);
    }
    const failed = unavailable.get(defaultSignature);
    if (failed) throw failed;
    const info: ModelInfo = {
      format: model.format,
      tags: model.tags,
      signatures: Object.fromEntries([...runtimes].map(([n, rt]) => [n, rt.spec])),
      defaultSignature,
      vocabSize: model.modelJson?.vocabSize,
      oovId: model.modelJson?.oovId,
      backend,
      ...variantInfo(extra),
    };
    return new TfjsModel(info, runtimes, unavailable, variantRuntimes(extra), resources);
  } catch (err) {
    const all = [...runtimes.values(), ...variantRuntimes(extra)];
    for (const m of new Set(all.map((rt) => rt.compiled.model))) m.dispose();
    resources.dispose();
    throw err;
  }
}

/** `model` with the named tensors as the outputs of one signature (LoadOptions.outputs). */
function withOutputs(model: PreparedModel, outputs: LoadOptions['outputs']): PreparedModel {
  if (!outputs?.names.length) return model;
  const names = Object.keys(model.signatures);
  const name = outputs.signature ?? (names.includes('serving_default') ? 'serving_default' : names.sort()[0]);
  const sig = name === undefined ? undefined : model.signatures[name];
  if (!sig) {
    throw new CtrError(
      'CTR_ERR_SIGNATURE_NOT_FOUND',
      `${model.source} has no signature ${name ?? ''}; it has ${names.join(', ') || 'none'}`,
    );
  }
  const nodes = new Map(model.graph.node.map((n) => [n.name, n]));
  const named = Object.fromEntries(outputs.names.map((o) => [o, tensorInfoOf(nodes, o, model.source)]));
  return { ...model, signatures: { ...model.signatures, [sig.name]: { ...sig, outputs: named } } };
}

const variantRuntimes = (variants: Variants) => [...variants.values()].flatMap((m) => [...m.values()]);

/** ModelInfo's `variants` and `oneRowPaths`, absent when no variant was built. */
function variantInfo(variants: Variants): Pick<ModelInfo, 'variants' | 'oneRowPaths'> {
  if (variants.size === 0) return {};
  const specs = (m: Map<string, SignatureRuntime>) =>
    Object.fromEntries([...m].map(([n, rt]) => [n, rt.spec]));
  const oneRow = variantRuntimes(variants).filter((rt) => rt.oneRow);
  return {
    variants: Object.fromEntries([...variants].map(([kind, m]) => [kind, specs(m)])),
    ...(oneRow.length ? { oneRowPaths: oneRow.map((rt) => rt.spec.name) } : {}),
  };
}

/** The signature's fed tensors that are not Placeholders: freezing cuts the graph there. */
function cutKey(model: PreparedModel, sig: SourceSignature): string {
  const ops = new Map(model.graph.node.map((n) => [n.name, n.op]));
  const cut = Object.values(sig.inputs)
    .map((t) => t.name!)
    .filter((t) => ops.get(parseRef(t).node) !== 'Placeholder');
  return JSON.stringify(cut.sort());
}

/**
 * One frozen graph and GraphModel computing every signature of `group`; `variants` (undefined: the rewrites are
 * off) are built beside each signature and added to `extra`.
 */
async function compileGroup(
  model: PreparedModel,
  group: readonly SourceSignature[],
  { variants, direct }: { variants: readonly SignatureVariant[] | undefined; direct: boolean },
  extra: Variants,
  bind: (g: GraphDef) => GraphDef,
): Promise<SignatureRuntime[]> {
  const outputs = [...new Set(group.flatMap((sig) => Object.values(sig.outputs).map((t) => t.name!)))];
  const feeds = new Map(group.flatMap((sig) => feedsOf(sig)).map((f) => [f.tensor, f]));
  const frozen = freezeGraph(model.graph, {
    outputs,
    feeds: [...feeds.values()],
    checkpoint: model.checkpoint,
    source: model.source,
    checkpointSource: model.checkpointSource,
    initOps: model.initOps,
  });
  const fed = new Set([...frozen.feeds.values()].map((t) => parseRef(t).node));
  const keepNodes = [...fed, ...[...frozen.outputs.values()].map((t) => parseRef(t).node)];
  const relaxed = relaxExampleShapes(bind(frozen.graph), fed);
  const graph = unpinFedShapes(
    variants ? rewriteGraph(relaxed, { keepNodes, feedSegmentRows: true }) : relaxed,
    fed,
  );
  const names = group.map((s) => s.name).join(', ');
  const compiled = compileGraph(graph, `${model.source} (signature ${names})`, fed, { direct });
  const runtimes = group.map((sig) => {
    const spec: SignatureSpec = {
      name: sig.name,
      methodName: sig.methodName,
      inputs: tensorSpecs(sig.inputs, (t) => frozen.feeds.get(t)!),
      outputs: tensorSpecs(sig.outputs, (t) => frozen.outputs.get(t)!),
    };
    return signatureRuntime(spec, compiled, graph);
  });
  if (variants?.length) {
    const built = await buildVariants(
      variants,
      runtimes,
      { graph: relaxed, keepNodes, fed, direct },
      model.source,
    );
    for (const [kind, bySignature] of built) {
      if (!extra.has(kind)) extra.set(kind, new Map());
      for (const [sig, rt] of bySignature) extra.get(kind)!.set(sig, rt);
    }
  }
  return runtimes;
}

/**
 * Freezes the model at `path` into one plain GraphDef (no functions, no variables) whose nodes keep their
 * names, cut at `outputs` (default: the signature's outputs). The signature's inputs become Placeholders when
 * the outputs depend on them (TF1 half_plus_two feeds an Identity behind a tf.Example parser); a frozen graph
 * without model.json has no such inputs beyond its Placeholders.
 */
export async function freezeModel(path: string, opts: FreezeOptions = {}): Promise<GraphDef> {
  const model = await prepareModel(path, opts.tags);
  const name = opts.signature ?? 'serving_default';
  const sig = model.signatures[name];
  if (!sig && (opts.signature !== undefined || !opts.outputs?.length)) {
    throw new CtrError(
      'CTR_ERR_SIGNATURE_NOT_FOUND',
      `${model.source} has no signature ${name}; it has ${Object.keys(model.signatures).join(', ') || 'none'}`,
    );
  }
  const outputs = opts.outputs?.length
    ? opts.outputs
    : Object.values(sig!.outputs).flatMap((t) => (t.name ? [t.name] : []));
  return freezeGraph(model.graph, {
    outputs,
    feeds: sig ? feedsOf(sig) : [],
    checkpoint: model.checkpoint,
    source: model.source,
    checkpointSource: model.checkpointSource,
    initOps: model.initOps,
    resolveOutputs: false,
  }).graph;
}

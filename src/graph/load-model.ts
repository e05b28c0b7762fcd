import { CtrError, isCtrError } from '../errors/registry.ts';
import { initBackend } from './backend.ts';
import { freezeGraph, type Feed } from './freeze/freeze-graph.ts';
import { deriveIndexRanges } from './guard/derive-index-ranges.ts';
import { parseRef } from './freeze/tensor-ref.ts';
import { ResourceScope } from './op/resources.ts';
import type { LoadedModel, LoadOptions, SignatureSpec, TensorSpec, TfDtype } from './model.ts';
import { prepareModel, tensorInfoOf, type PreparedModel, type SourceSignature } from './prepare-model.ts';
import type { GraphDef, TensorInfo } from './proto/types.ts';
import { rewriteGraph, rewriteSharedHistoryGraph } from './rewrite/index.ts';
import { dtypeName } from './tensor/tensor-values.ts';
import { compileGraph, type CompiledGraph } from './tfjs/graph-model.ts';
import { segmentFeedsOf } from './tfjs/segment-feeds.ts';
import { withSingleUserPath } from './single-user-path.ts';
import { shapeIsContract } from './signature-shape.ts';
import { TfjsModel, type SignatureRuntime } from './tfjs/tfjs-model.ts';

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
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const backend = await initBackend();
  const model = withOutputs(await prepareModel(path, opts.tags), opts.outputs);
  const rewrite = opts.rewrite ?? true;
  const runtimes = new Map<string, SignatureRuntime>();
  const shared = new Map<string, SignatureRuntime>();
  const unavailable = new Map<string, CtrError>();
  // The version's stateful resources (lookup tables), freed with it (TfjsModel.dispose).
  const resources = new ResourceScope();
  try {
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
        for (const rt of await compileGroup(model, group, rewrite, shared)) runtimes.set(rt.spec.name, rt);
      } catch (err) {
        if (!isCtrError(err) || err.code !== 'CTR_ERR_UNSUPPORTED_OP') throw err;
        // Some signature of the group needs an op tfjs lacks: compile each alone to keep the others.
        for (const sig of group) {
          try {
            runtimes.set(sig.name, (await compileGroup(model, [sig], rewrite, shared))[0]!);
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
    const info = {
      format: model.format,
      tags: model.tags,
      signatures: Object.fromEntries([...runtimes].map(([n, rt]) => [n, rt.spec])),
      defaultSignature,
      vocabSize: model.modelJson?.vocabSize,
      oovId: model.modelJson?.oovId,
      backend,
      ...(shared.size === 0
        ? {}
        : { sharedHistory: Object.fromEntries([...shared].map(([n, rt]) => [n, rt.spec])) }),
      ...([...shared.values()].some((rt) => rt.singleUser)
        ? { singleUserFold: [...shared.values()].filter((rt) => rt.singleUser).map((rt) => rt.spec.name) }
        : {}),
    };
    return new TfjsModel(info, runtimes, unavailable, shared, resources);
  } catch (err) {
    const all = [...runtimes.values(), ...shared.values()];
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

/** The signature's fed tensors that are not Placeholders: freezing cuts the graph there. */
function cutKey(model: PreparedModel, sig: SourceSignature): string {
  const ops = new Map(model.graph.node.map((n) => [n.name, n.op]));
  const cut = Object.values(sig.inputs)
    .map((t) => t.name!)
    .filter((t) => ops.get(parseRef(t).node) !== 'Placeholder');
  return JSON.stringify(cut.sort());
}

/**
 * One frozen graph and GraphModel computing every signature of `group`; with the rewrites on, a CTR-shaped
 * variant (a second GraphModel) for each CTR signature whose history branch can be shared goes into `shared`.
 */
async function compileGroup(
  model: PreparedModel,
  group: readonly SourceSignature[],
  rewrite: boolean,
  shared: Map<string, SignatureRuntime>,
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
  const relaxed = relaxExampleShapes(frozen.graph, fed);
  const graph = unpinFedShapes(
    rewrite ? rewriteGraph(relaxed, { keepNodes, feedSegmentRows: true }) : relaxed,
    fed,
  );
  const names = group.map((s) => s.name).join(', ');
  const compiled = compileGraph(graph, `${model.source} (signature ${names})`);
  const runtimes = group.map((sig) => {
    const spec: SignatureSpec = {
      name: sig.name,
      methodName: sig.methodName,
      inputs: specs(sig.inputs, (t) => frozen.feeds.get(t)!),
      outputs: specs(sig.outputs, (t) => frozen.outputs.get(t)!),
    };
    return runtimeOf(spec, compiled, graph);
  });
  if (rewrite) {
    for (const rt of runtimes) {
      try {
        const variant = await sharedHistoryRuntime(rt.spec, relaxed, keepNodes, fed, `${model.source}`);
        if (variant) shared.set(rt.spec.name, variant);
      } catch (err) {
        // The per-row runtime still serves: a variant that cannot compile is only a missed speed-up.
        if (!isCtrError(err)) throw err;
      }
    }
  }
  return runtimes;
}

/** Name of a signature's CTR-shaped variant, as given to predict (ModelInfo.sharedHistory). */
export const sharedHistoryName = (signature: string): string => `${signature}@shared_history`;
const USER_INDEX_NODE = 'ctr_serve/user_index';

/** The CTR signature's (history, candidate → ctr) shared-history GraphModel, or undefined when it declines. */
async function sharedHistoryRuntime(
  spec: SignatureSpec,
  graph: GraphDef,
  keepNodes: readonly string[],
  fed: ReadonlySet<string>,
  source: string,
): Promise<SignatureRuntime | undefined> {
  const { history, candidate } = spec.inputs;
  if (!history || !candidate || !spec.outputs.ctr || Object.keys(spec.inputs).length !== 2) return undefined;
  const ref = parseRef(history.tensorName);
  if (ref.index !== 0) return undefined;
  const variant = rewriteSharedHistoryGraph(
    graph,
    { history: ref.node, userIndex: USER_INDEX_NODE },
    { keepNodes, feedSegmentRows: true },
  );
  if (!variant) return undefined;
  const userIndex: TensorSpec = { tensorName: `${USER_INDEX_NODE}:0`, dtype: 'DT_INT32', shape: [-1] };
  const variantSpec = {
    ...spec,
    name: sharedHistoryName(spec.name),
    inputs: { ...spec.inputs, user_index: userIndex },
  };
  const compile = (g: GraphDef) => {
    const unpinned = unpinFedShapes(g, fed);
    const what = `${source} (signature ${spec.name}, shared history)`;
    return runtimeOf(variantSpec, compileGraph(unpinned, what), unpinned);
  };
  return withSingleUserPath(compile(variant.graph), variant.graph, variant.frontier, compile);
}

/**
 * `graph` is the GraphDef `compiled` was made from: its fed segment-row Placeholders are bound to inputs, and
 * its table reads give the inputs' index guards (spec.indexRanges), so the guards hold on the graph that runs.
 */
function runtimeOf(spec: SignatureSpec, compiled: CompiledGraph, graph: GraphDef): SignatureRuntime {
  const tensorNames = (m: Readonly<Record<string, TensorSpec>>) =>
    Object.fromEntries(Object.entries(m).map(([a, t]) => [a, t.tensorName]));
  const aliasOf = new Map(
    Object.entries(spec.inputs).flatMap(([a, t]) => {
      const ref = parseRef(t.tensorName);
      return ref.index === 0 ? [[ref.node, a] as const] : [];
    }),
  );
  const segmentFeeds = segmentFeedsOf(graph).flatMap((sf) => {
    const alias = aliasOf.get(sf.of);
    return alias ? [{ placeholder: sf.placeholder, alias, axis: sf.axis }] : [];
  });
  // An input the outputs do not need was pruned by freezing: it is still checked, then not fed (as a Session
  // ignores feeds its fetches do not depend on).
  const present = new Set(graph.node.map((n) => n.name));
  const used = Object.fromEntries(
    Object.entries(spec.inputs).filter(([, t]) => present.has(parseRef(t.tensorName).node)),
  );
  const indexRanges = deriveIndexRanges(graph, aliasOf);
  return {
    spec: Object.keys(indexRanges).length === 0 ? spec : { ...spec, indexRanges },
    compiled,
    feeds: tensorNames(used),
    fetches: tensorNames(spec.outputs),
    segmentFeeds,
  };
}

/** Before the rewrites, fed Placeholders with a fully static shape (an example, not a contract: shapeIsContract)
 * get an unknown shape, so that no pass specialises the graph to it. */
function relaxExampleShapes(g: GraphDef, fed: ReadonlySet<string>): GraphDef {
  const node = g.node.map((n) => {
    const shape = n.attr.shape?.shape;
    if (n.op !== 'Placeholder' || !fed.has(n.name) || !shape || shape.unknownRank) return n;
    if (shapeIsContract(shape.dim.map((d) => d.size))) return n;
    return { ...n, attr: { ...n.attr, shape: { shape: { dim: [], unknownRank: true } } } };
  });
  return { ...g, node };
}

/**
 * After the rewrites, every fed Placeholder loses its shape: inputs were already checked against the signature
 * (shapeFitsSignature admits TF Serving's unit-dim-less rows, which tfjs's own check would refuse).
 */
function unpinFedShapes(g: GraphDef, fed: ReadonlySet<string>): GraphDef {
  const node = g.node.map((n) =>
    n.op === 'Placeholder' && fed.has(n.name)
      ? { ...n, attr: { ...n.attr, shape: { shape: { dim: [], unknownRank: true } } } }
      : n,
  );
  return { ...g, node };
}

function feedsOf(sig: SourceSignature): Feed[] {
  return Object.values(sig.inputs).flatMap((t) =>
    t.name ? [{ tensor: t.name, dtype: t.dtype, shape: t.tensorShape }] : [],
  );
}

function specs(
  infos: Readonly<Record<string, TensorInfo>>,
  frozenName: (t: string) => string,
): Record<string, TensorSpec> {
  return Object.fromEntries(
    Object.entries(infos).map(([alias, t]) => [
      alias,
      {
        tensorName: frozenName(t.name!),
        dtype: dtypeName(t.dtype) as TfDtype,
        shape: !t.tensorShape || t.tensorShape.unknownRank ? null : t.tensorShape.dim.map((d) => d.size),
      },
    ]),
  );
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

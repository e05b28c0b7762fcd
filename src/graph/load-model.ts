import { CtrError, isCtrError } from '../errors/registry.ts';
import { initBackend } from './backend.ts';
import { freezeGraph, type Feed, type FrozenGraph } from './freeze/freeze-graph.ts';
import { parseRef } from './freeze/tensor-ref.ts';
import type { LoadedModel, LoadOptions, SignatureSpec, TensorSpec, TfDtype } from './model.ts';
import { prepareModel, type PreparedModel, type SourceSignature } from './prepare-model.ts';
import type { GraphDef, TensorInfo } from './proto/types.ts';
import { rewriteGraph } from './rewrite/index.ts';
import { dtypeName } from './tensor/tensor-values.ts';
import { compileGraph } from './tfjs/graph-model.ts';
import { shapeIsContract, TfjsModel, type SignatureRuntime } from './tfjs/tfjs-model.ts';

export type FreezeOptions = {
  /** Output node names ("ctr") or tensor names ("ctr:0"); default: the signature's outputs. */
  readonly outputs?: readonly string[];
  /** SavedModel tag set; default ['serve']. */
  readonly tags?: readonly string[];
  /** Signature whose outputs (and feeds) to keep when `outputs` is not given; default 'serving_default'. */
  readonly signature?: string;
};

/**
 * Reads a frozen GraphDef or SavedModel at `path`, freezes each signature into a plain graph, applies the
 * load-time rewrites (unless `rewrite: false`), and compiles it for tfjs (contract in model.ts). A signature
 * whose ops tfjs lacks stays out of `info.signatures` and answers CTR_ERR_UNSUPPORTED_OP; if the default
 * signature is one of them, loading fails with that error, naming every missing op.
 */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const backend = await initBackend();
  const model = await prepareModel(path, opts.tags);
  const runtimes = new Map<string, SignatureRuntime>();
  const unavailable = new Map<string, CtrError>();
  try {
    for (const sig of Object.values(model.signatures)) {
      try {
        runtimes.set(sig.name, compileSignature(model, sig, opts.rewrite ?? true));
      } catch (err) {
        if (isCtrError(err) && err.code === 'CTR_ERR_UNSUPPORTED_OP') unavailable.set(sig.name, err);
        else throw err;
      }
    }
    const names = Object.keys(model.signatures);
    const defaultSignature = names.includes('serving_default') ? 'serving_default' : names.sort()[0];
    if (defaultSignature === undefined)
      throw new CtrError('CTR_ERR_SIGNATURE_NOT_FOUND', `${model.source} has no signatures`);
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
    };
    return new TfjsModel(info, runtimes, unavailable);
  } catch (err) {
    for (const rt of runtimes.values()) rt.compiled.model.dispose();
    throw err;
  }
}

function compileSignature(model: PreparedModel, sig: SourceSignature, rewrite: boolean): SignatureRuntime {
  for (const [alias, t] of [...Object.entries(sig.inputs), ...Object.entries(sig.outputs)]) {
    if (!t.name) {
      throw new CtrError(
        'CTR_ERR_UNSUPPORTED_OP',
        `signature ${sig.name}: ${alias} is a sparse or composite tensor`,
      );
    }
  }
  const frozen = freezeSignature(
    model,
    sig,
    Object.values(sig.outputs).map((t) => t.name!),
    true,
  );
  const keepNodes = [...frozen.feeds.values(), ...frozen.outputs.values()].map((t) => parseRef(t).node);
  const relaxed = relaxExampleShapes(
    frozen.graph,
    new Set([...frozen.feeds.values()].map((t) => parseRef(t).node)),
  );
  const graph: GraphDef = rewrite ? rewriteGraph(relaxed, { keepNodes }) : relaxed;
  const compiled = compileGraph(graph, `${model.source} (signature ${sig.name})`);
  const spec: SignatureSpec = {
    name: sig.name,
    methodName: sig.methodName,
    inputs: specs(sig.inputs, (t) => frozen.feeds.get(t)!),
    outputs: specs(sig.outputs, (t) => frozen.outputs.get(t)!),
  };
  const names = (m: Record<string, TensorSpec>) =>
    Object.fromEntries(Object.entries(m).map(([a, s]) => [a, s.tensorName]));
  return {
    spec,
    compiled,
    feeds: names(spec.inputs),
    fetches: names(spec.outputs),
  };
}

/** Fed Placeholders with a fully static shape get an unknown shape, so that tfjs does not enforce it (shapeIsContract). */
function relaxExampleShapes(g: GraphDef, fed: ReadonlySet<string>): GraphDef {
  const node = g.node.map((n) => {
    const shape = n.attr.shape?.shape;
    if (n.op !== 'Placeholder' || !fed.has(n.name) || !shape || shape.unknownRank) return n;
    if (shapeIsContract(shape.dim.map((d) => d.size))) return n;
    return { ...n, attr: { ...n.attr, shape: { shape: { dim: [], unknownRank: true } } } };
  });
  return { ...g, node };
}

function freezeSignature(
  model: PreparedModel,
  sig: SourceSignature,
  outputs: readonly string[],
  resolveOutputs: boolean,
): FrozenGraph {
  return freezeGraph(model.graph, {
    outputs,
    feeds: feedsOf(sig),
    checkpoint: model.checkpoint,
    source: model.source,
    checkpointSource: model.checkpointSource,
    resolveOutputs,
  });
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
    resolveOutputs: false,
  }).graph;
}

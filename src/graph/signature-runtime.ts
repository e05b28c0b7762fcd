import { parseRef } from './freeze/tensor-ref.ts';
import type { Feed } from './freeze/freeze-graph.ts';
import { deriveIndexRanges } from './guard/derive-index-ranges.ts';
import type { SignatureSpec, TensorSpec, TfDtype } from './model.ts';
import type { SourceSignature } from './prepare-model.ts';
import type { GraphDef, TensorInfo } from './proto/types.ts';
import { shapeIsContract } from './signature-shape.ts';
import { dtypeName } from './tensor/tensor-values.ts';
import type { CompiledGraph } from './tfjs/graph-model.ts';
import { segmentFeedsOf } from './tfjs/segment-feeds.ts';
import type { SignatureRuntime } from './tfjs/tfjs-model.ts';

/**
 * `graph` is the GraphDef `compiled` was made from: its fed segment-row Placeholders are bound to inputs, and
 * its table reads give the inputs' index guards (spec.indexRanges), so the guards hold on the graph that runs.
 */
export function signatureRuntime(
  spec: SignatureSpec,
  compiled: CompiledGraph,
  graph: GraphDef,
): SignatureRuntime {
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
export function relaxExampleShapes(g: GraphDef, fed: ReadonlySet<string>): GraphDef {
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
export function unpinFedShapes(g: GraphDef, fed: ReadonlySet<string>): GraphDef {
  const node = g.node.map((n) =>
    n.op === 'Placeholder' && fed.has(n.name)
      ? { ...n, attr: { ...n.attr, shape: { shape: { dim: [], unknownRank: true } } } }
      : n,
  );
  return { ...g, node };
}

export function feedsOf(sig: SourceSignature): Feed[] {
  return Object.values(sig.inputs).flatMap((t) =>
    t.name ? [{ tensor: t.name, dtype: t.dtype, shape: t.tensorShape }] : [],
  );
}

export function tensorSpecs(
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

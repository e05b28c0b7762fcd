import { isCtrError } from '../errors/registry.ts';
import type { SignatureSpec } from './model.ts';
import type { GraphDef } from './proto/types.ts';
import { signatureRuntime, unpinFedShapes } from './signature-runtime.ts';
import { compileGraph } from './tfjs/graph-model.ts';
import type { SignatureRuntime } from './tfjs/tfjs-model.ts';

/**
 * What a signature variant is given at load: the signature's spec as frozen, its frozen graph before the rewrites
 * (fed shapes relaxed), and `compile`, which turns a graph derived from it into a runtime the model runs under the
 * variant's `name` (`<signature>@<kind>`): fed shapes unpinned, index guards derived from that graph.
 */
export type VariantContext = {
  readonly spec: SignatureSpec;
  readonly name: string;
  readonly graph: GraphDef;
  /** Signature input and output nodes: rewrites must keep their names and values. */
  readonly keepNodes: readonly string[];
  /** For messages: the model's path and the signature. */
  readonly source: string;
  compile(spec: SignatureSpec, graph: GraphDef): SignatureRuntime;
};

/**
 * A load-time extra beside a signature: a second graph computing the signature's outputs from other inputs (the
 * CTR adapter's shared-history variant, src/ctr/shared-history-variant.ts), optionally with extra fetches for
 * one-row calls (`SignatureRuntime.oneRow`). graph/ knows nothing of what a variant means; `loadModel` calls
 * `build` for every signature when the rewrites are on (LoadModelOptions.variants) and lists what it returns in
 * `ModelInfo.variants[kind]`. `build` returns undefined when the signature does not fit; a CtrError it throws
 * skips the variant (a missed speed-up: the signature still serves); any other error fails the load.
 */
export type SignatureVariant = {
  /** Key in ModelInfo.variants and suffix of the variant's name. */
  readonly kind: string;
  build(ctx: VariantContext): Promise<SignatureRuntime | undefined>;
};

/** `<signature>@<kind>`: the name a variant is called by, like a signature (predict, predictHost). */
export const variantName = (signature: string, kind: string): string => `${signature}@${kind}`;

/** Builds every variant of `variants` for each runtime of `runtimes`; the results, by kind and signature. */
export async function buildVariants(
  variants: readonly SignatureVariant[],
  runtimes: readonly SignatureRuntime[],
  base: {
    readonly graph: GraphDef;
    readonly keepNodes: readonly string[];
    readonly fed: ReadonlySet<string>;
    readonly direct?: boolean;
  },
  source: string,
): Promise<Map<string, Map<string, SignatureRuntime>>> {
  const built = new Map<string, Map<string, SignatureRuntime>>();
  for (const variant of variants) {
    for (const rt of runtimes) {
      const name = variantName(rt.spec.name, variant.kind);
      const what = `${source} (signature ${rt.spec.name}, variant ${variant.kind})`;
      const compile = (spec: SignatureSpec, g: GraphDef) => {
        const unpinned = unpinFedShapes(g, base.fed);
        return signatureRuntime(
          spec,
          compileGraph(unpinned, what, base.fed, { direct: base.direct }),
          unpinned,
        );
      };
      try {
        const ctx = {
          spec: rt.spec,
          name,
          graph: base.graph,
          keepNodes: base.keepNodes,
          source: what,
          compile,
        };
        const runtime = await variant.build(ctx);
        if (!runtime) continue;
        if (!built.has(variant.kind)) built.set(variant.kind, new Map());
        built.get(variant.kind)!.set(rt.spec.name, runtime);
      } catch (err) {
        // The signature's own runtime still serves: a variant that cannot compile is only a missed speed-up.
        if (!isCtrError(err)) throw err;
      }
    }
  }
  return built;
}

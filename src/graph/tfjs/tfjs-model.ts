import * as tf from '@tensorflow/tfjs-core';
import { CtrError, isCtrError } from '../../errors/registry.ts';
import { checkIndexRanges, oovOf } from '../check-index-ranges.ts';
import type { ResourceScope } from '../op/resources.ts';
import type { HostTensor, LoadedModel, ModelInfo, SignatureSpec, TensorSpec } from '../model.ts';
import { shapeFitsSignature } from '../signature-shape.ts';
import { freeTensorsOnFailure } from './async-tensor-scope.ts';
import { DirectDecline } from './direct-ops.ts';
import type { CompiledGraph } from './graph-model.ts';
import { hostToTensor, tensorToHost, tfjsDtypeOf } from './host-tensors.ts';
import { SegmentRowsCache } from './segment-feeds.ts';

/** One runnable signature: its spec, the GraphModel that computes it, and alias → tensor names in that graph. */
export type SignatureRuntime = {
  readonly spec: SignatureSpec;
  readonly compiled: CompiledGraph;
  /** Input alias → fed tensor; inputs the outputs do not need (pruned when freezing) are absent. */
  readonly feeds: Readonly<Record<string, string>>;
  readonly fetches: Readonly<Record<string, string>>;
  /** Segment-row Placeholders computed from the input `alias` on every call (segment-feeds.ts). */
  readonly segmentFeeds?: readonly {
    readonly placeholder: string;
    readonly alias: string;
    readonly axis: number;
  }[];
  /**
   * Fetches to use instead of `fetches` when input `alias` has one row (a variant's extra fetches, e.g. the CTR
   * adapter's one-user fold). They compute the same values in the same graph; only the call's row count decides.
   */
  readonly oneRow?: { readonly alias: string; readonly fetches: Readonly<Record<string, string>> };
};

/**
 * tfjs kernels' index errors (gather, sparse segment, scatter), tfjs-converter's TensorArray / TensorList reads
 * outside the list, and the wasm trap of an unchecked read.
 */
const KERNEL_INDEX_ERROR =
  /out of range|is not in \[|out of bounds|memory access out of bounds|indices\[|Tried to read from index|Trying to access element/i;

/**
 * Runs `rt`'s graph on inputs keyed by alias (already checked) and returns the tensors `names`, in order; the
 * derived segment-row feeds are made and disposed here. Failures inside tfjs become CTR_ERR_EXECUTION.
 */
export async function executeRuntime(
  rt: SignatureRuntime,
  inputs: Readonly<Record<string, tf.Tensor>>,
  names: readonly string[],
  segmentRows: SegmentRowsCache,
): Promise<tf.Tensor[]> {
  const feed: tf.NamedTensorMap = {};
  for (const [alias, t] of Object.entries(inputs)) {
    const name = rt.feeds[alias];
    if (name !== undefined) feed[name] = t;
  }
  const derived = (rt.segmentFeeds ?? []).flatMap((sf) => {
    const ids = inputs[sf.alias];
    return ids ? [[sf.placeholder, segmentRows.tensorFor(ids, sf.axis)] as const] : [];
  });
  for (const [name, t] of derived) feed[name] = t;
  try {
    const direct = runDirect(rt, feed, names);
    if (direct) return direct;
    // execute runs in a tidy (a failing kernel leaves nothing behind); executeAsync does not (async-tensor-scope.ts).
    const out = rt.compiled.needsAsync
      ? await freeTensorsOnFailure(() => rt.compiled.model.executeAsync(feed, [...names]))
      : rt.compiled.model.execute(feed, [...names]);
    return Array.isArray(out) ? out : [out];
  } catch (err) {
    if (isCtrError(err)) throw err;
    const message = (err as Error)?.message ?? String(err);
    // A position the guards could not bound (a table of dynamic size): the kernel's own check, or the wasm
    // trap of a read outside its memory, is still the client's bad index (TensorFlow: INVALID_ARGUMENT).
    const code = KERNEL_INDEX_ERROR.test(message) ? 'CTR_ERR_INDEX_OUT_OF_RANGE' : 'CTR_ERR_EXECUTION';
    throw new CtrError(code, `signature ${rt.spec.name} failed: ${message}`, { cause: err });
  } finally {
    tf.dispose(derived.map(([, t]) => t));
  }
}

/** The direct executor's outputs (direct-executor.ts), or undefined when it does not cover this call. */
function runDirect(
  rt: SignatureRuntime,
  feed: tf.NamedTensorMap,
  names: readonly string[],
): tf.Tensor[] | undefined {
  const plan = rt.compiled.direct?.plan(Object.keys(feed), names);
  try {
    return plan?.run(feed);
  } catch (err) {
    if (err instanceof DirectDecline) return undefined;
    throw err;
  }
}

/**
 * LoadedModel on tfjs GraphModels (the contract is in ../model.ts). Several signatures may share one GraphModel
 * (and its weights). Signatures that cannot run here (ops tfjs lacks) stay listed in `unavailable` and answer
 * CTR_ERR_UNSUPPORTED_OP when asked for. Inputs are checked before tfjs sees them (CTR_ERR_INPUT_MISMATCH); a
 * failure inside tfjs becomes CTR_ERR_EXECUTION. dispose() frees every GraphModel's weights once; predict after
 * dispose answers CTR_ERR_EXECUTION; the version's resources (lookup tables: ../op/resources.ts) go with it.
 * Variants (signature-variant.ts) run under their own spec's name
 * (ModelInfo.variants) and are not listed among the signatures.
 */
export class TfjsModel implements LoadedModel {
  readonly info: ModelInfo;
  readonly #runtimes: ReadonlyMap<string, SignatureRuntime>;
  readonly #unavailable: ReadonlyMap<string, CtrError>;
  readonly #variants: ReadonlyMap<string, SignatureRuntime>;
  readonly #segmentRows = new SegmentRowsCache();
  readonly #resources: ResourceScope | undefined;
  #disposed = false;

  constructor(
    info: ModelInfo,
    runtimes: ReadonlyMap<string, SignatureRuntime>,
    unavailable: ReadonlyMap<string, CtrError>,
    variants: Iterable<SignatureRuntime> = [],
    resources?: ResourceScope,
  ) {
    this.info = info;
    this.#resources = resources;
    this.#runtimes = runtimes;
    this.#unavailable = unavailable;
    this.#variants = new Map([...variants].map((rt) => [rt.spec.name, rt]));
  }

  #runtime(signature: string | undefined): SignatureRuntime {
    const name = signature ?? this.info.defaultSignature;
    const rt = this.#runtimes.get(name) ?? this.#variants.get(name);
    if (rt) return rt;
    const why = this.#unavailable.get(name);
    if (why)
      throw new CtrError(why.code, `signature ${name} cannot run here: ${why.message}`, { cause: why });
    throw new CtrError(
      'CTR_ERR_SIGNATURE_NOT_FOUND',
      `no signature ${name}; the model has ${Object.keys(this.info.signatures).join(', ') || 'none'}`,
    );
  }

  async predict(
    inputs: Readonly<Record<string, tf.Tensor>>,
    signature?: string,
  ): Promise<Record<string, tf.Tensor>> {
    const rt = this.#runtime(signature);
    const guarded: Record<string, tf.Tensor> = { ...inputs };
    const made: tf.Tensor[] = [];
    try {
      // Every guarded input, whatever its dtype (a float input cast to indices is guarded too): the gathers the
      // guards prove skip their own check (../guard/mark-proven-gathers.ts).
      for (const [alias, range] of Object.entries(rt.spec.indexRanges ?? {})) {
        const t = inputs[alias];
        if (!t || t.dtype === 'string') continue;
        const values = t.dataSync() as Int32Array | Float32Array | Uint8Array;
        const host = { dtype: 'DT_INT32', shape: t.shape, values } as HostTensor;
        const checked = checkIndexRanges({ [alias]: range }, { [alias]: host }, oovOf(this.info))[alias]!;
        if (checked !== host)
          made.push((guarded[alias] = tf.tensor(checked.values as never, t.shape, t.dtype)));
      }
      return await this.#predict(rt, guarded);
    } finally {
      tf.dispose(made);
    }
  }

  /** predict after the index guards: `inputs` are checked against the spec, then run. */
  async #predict(
    rt: SignatureRuntime,
    inputs: Readonly<Record<string, tf.Tensor>>,
  ): Promise<Record<string, tf.Tensor>> {
    if (this.#disposed) throw new CtrError('CTR_ERR_EXECUTION', 'the model has been disposed');
    for (const [alias, spec] of Object.entries(rt.spec.inputs)) {
      const t = inputs[alias];
      if (!t)
        throw new CtrError('CTR_ERR_INPUT_MISMATCH', `input ${alias} is missing (signature ${rt.spec.name})`);
      checkInput(alias, t, spec);
    }
    for (const alias of Object.keys(inputs)) {
      if (!(alias in rt.spec.inputs)) {
        throw new CtrError(
          'CTR_ERR_INPUT_MISMATCH',
          `unknown input ${alias}; signature ${rt.spec.name} takes ${Object.keys(rt.spec.inputs).join(', ')}`,
        );
      }
    }
    const single = rt.oneRow;
    const fetches = single && inputs[single.alias]?.shape[0] === 1 ? single.fetches : rt.fetches;
    const aliases = Object.keys(fetches);
    const names = [...new Set(aliases.map((a) => fetches[a]!))];
    const results = await executeRuntime(rt, inputs, names, this.#segmentRows);
    const given = new Set(Object.values(inputs));
    const byName = new Map(names.map((n, i) => [n, results[i]]));
    const outputs: Record<string, tf.Tensor> = {};
    const handedOut = new Set<tf.Tensor>();
    for (const alias of aliases) {
      const t = byName.get(fetches[alias]!)!;
      // The caller owns every output: never hand back its own input, nor one tensor twice.
      outputs[alias] = given.has(t) || handedOut.has(t) ? t.clone() : t;
      handedOut.add(outputs[alias]);
    }
    return outputs;
  }

  async predictHost(
    inputs: Readonly<Record<string, HostTensor>>,
    signature?: string,
  ): Promise<Record<string, HostTensor>> {
    const rt = this.#runtime(signature);
    const tensors: Record<string, tf.Tensor> = {};
    let outputs: Record<string, tf.Tensor> = {};
    try {
      const guarded = checkIndexRanges(rt.spec.indexRanges, inputs, oovOf(this.info));
      for (const [alias, h] of Object.entries(guarded)) {
        const spec = rt.spec.inputs[alias];
        if (!spec) {
          throw new CtrError(
            'CTR_ERR_INPUT_MISMATCH',
            `unknown input ${alias}; signature ${rt.spec.name} takes ${Object.keys(rt.spec.inputs).join(', ')}`,
          );
        }
        tensors[alias] = hostToTensor(alias, h, spec);
      }
      outputs = await this.#predict(rt, tensors);
      const host: Record<string, HostTensor> = {};
      for (const [alias, t] of Object.entries(outputs))
        host[alias] = await tensorToHost(t, rt.spec.outputs[alias].dtype);
      return host;
    } finally {
      tf.dispose(Object.values(tensors));
      tf.dispose(Object.values(outputs));
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Signatures may share one GraphModel: free each once.
    const all = [...this.#runtimes.values(), ...this.#variants.values()];
    for (const m of new Set(all.map((rt) => rt.compiled.model))) m.dispose();
    this.#resources?.dispose();
  }
}

function checkInput(alias: string, t: tf.Tensor, spec: TensorSpec): void {
  const want = tfjsDtypeOf(spec.dtype);
  if (t.dtype !== want) {
    throw new CtrError(
      'CTR_ERR_INPUT_MISMATCH',
      `input ${alias} is ${t.dtype}, the signature wants ${spec.dtype} (${want})`,
    );
  }
  if (!shapeFitsSignature(spec.shape, t.shape)) {
    const shape = spec.shape!;
    throw new CtrError(
      'CTR_ERR_INPUT_MISMATCH',
      `input ${alias} has shape [${t.shape.join(',')}], the signature wants [${shape.map((d) => (d < 0 ? '?' : d)).join(',')}]`,
    );
  }
}

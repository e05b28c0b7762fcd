import type * as tf from '@tensorflow/tfjs-core';

/**
 * The contract between graph/ (TensorFlow formats → runnable model) and its users (serving, CLI, training export
 * checks, benchmarks).
 *
 * Lifecycle: `loadModel(path)` (src/graph/load-model.ts) reads a frozen GraphDef file or a SavedModel directory,
 * freezes it, checks that every op can run here (CTR_ERR_UNSUPPORTED_OP lists them all), and returns a
 * LoadedModel. It is immutable and safe to call concurrently; `dispose()` frees its weights once, after the last
 * call has finished (serving's manager waits for in-flight requests before it disposes).
 *
 * Tensors: `predict` borrows its inputs (the caller keeps and disposes them) and returns new output tensors that
 * the caller owns and must dispose. Intermediate tensors are disposed by predict. `predictHost` takes and returns
 * host arrays, owns no tensors on either side, and is what HTTP and the CLI use.
 *
 * int64: tfjs has no int64 tensors. int64 inputs are given as JS numbers or bigints, range-checked into int32
 * (CTR_ERR_INT64_RANGE); int64 outputs come back as integers with dtype 'int64' in HostTensor.
 *
 * Failures: CTR_ERR_SIGNATURE_NOT_FOUND, CTR_ERR_INPUT_MISMATCH (missing/unknown input, wrong rank, dim or dtype),
 * CTR_ERR_INT64_RANGE, CTR_ERR_EXECUTION (wraps a tfjs failure with its cause).
 */

/** TensorFlow dtype names as TF Serving's metadata prints them. */
export type TfDtype =
  | 'DT_FLOAT'
  | 'DT_DOUBLE'
  | 'DT_INT32'
  | 'DT_INT64'
  | 'DT_BOOL'
  | 'DT_STRING'
  | 'DT_UINT8'
  | 'DT_INT8'
  | 'DT_INT16'
  | 'DT_HALF';

export type TensorSpec = {
  /** Tensor name in the graph the model runs ("x:0"). */
  readonly tensorName: string;
  readonly dtype: TfDtype;
  /** null: unknown rank; -1 in a dim: unknown size. */
  readonly shape: readonly number[] | null;
};

/**
 * An index guard (src/graph/guard/derive-index-ranges.ts): the input's values index the `limit` rows of a
 * table read by `op` node `node`, directly or through casts/reshapes/slices, in the graph that runs.
 */
export type IndexRange = { readonly limit: number; readonly op: string; readonly node: string };

export type SignatureSpec = {
  readonly name: string;
  /** "tensorflow/serving/predict", ".../classify", ".../regress"; frozen graphs report predict. */
  readonly methodName: string;
  /** Keyed by the signature's input/output alias ("x", "ctr"). */
  readonly inputs: Readonly<Record<string, TensorSpec>>;
  readonly outputs: Readonly<Record<string, TensorSpec>>;
  /** Index guards by input alias: values must lie in [0, limit) (CTR_ERR_INDEX_OUT_OF_RANGE). */
  readonly indexRanges?: Readonly<Record<string, IndexRange>>;
};

export type ModelFormat = 'frozen_graph' | 'saved_model';

/**
 * A host-side tensor: row-major values. int64 values are numbers when safe, bigint otherwise. DT_STRING values
 * are bytes (Uint8Array, as TensorFlow's strings are: `{"b64"}` inputs and serialized tf.Examples stay raw);
 * JS strings are also accepted as input and fed as their UTF-8 bytes.
 */
export type HostTensor = {
  readonly dtype: TfDtype;
  readonly shape: readonly number[];
  readonly values:
    | Float32Array
    | Float64Array
    | Int32Array
    | Uint8Array
    | (number | bigint)[]
    | boolean[]
    | string[]
    | Uint8Array[];
};

export type ModelInfo = {
  readonly format: ModelFormat;
  /** Tag set of the chosen MetaGraphDef (SavedModel only). */
  readonly tags: readonly string[];
  readonly signatures: Readonly<Record<string, SignatureSpec>>;
  readonly defaultSignature: string;
  /** Optional CTR metadata from model.json (docs/api.md): ids ≥ vocabSize map to oovId when set, else 400. */
  readonly vocabSize?: number;
  readonly oovId?: number;
  /** Backend that runs the model: 'tensorflow' | 'wasm' | 'cpu'. */
  readonly backend: string;
  /**
   * Variants built at load beside the signatures (src/graph/signature-variant.ts; the CTR adapter's
   * shared-history variant is `variants.shared_history`, src/ctr/shared-history-variant.ts), by kind and then by
   * the signature they compute. A variant's `name` is passed to predict/predictHost like a signature's; it is not
   * listed among `signatures`. Absent when none was built.
   */
  readonly variants?: Readonly<Record<string, Readonly<Record<string, SignatureSpec>>>>;
  /**
   * Names of the variants that, called with one row of one input (one user's history for the CTR adapter's
   * fold, src/ctr/single-user-fold.ts), fetch other tensors of the same graph: same values up to float32
   * rounding, computed for that one row once.
   */
  readonly oneRowPaths?: readonly string[];
};

/**
 * Where predictHost's outputs may carry how long the model itself ran (ms), when that differs from the caller's
 * wall time: calls that queue in the model thread (src/serving/model-thread.ts) behind one another. A symbol
 * key, so iterating or serialising the outputs never sees it. The inference latency metric reports it.
 */
export const RUN_MS: unique symbol = Symbol('ctr-serve.runMs');

export interface LoadedModel {
  readonly info: ModelInfo;
  predict(
    inputs: Readonly<Record<string, tf.Tensor>>,
    signature?: string,
  ): Promise<Record<string, tf.Tensor>>;
  predictHost(
    inputs: Readonly<Record<string, HostTensor>>,
    signature?: string,
  ): Promise<Record<string, HostTensor>>;
  dispose(): void;
}

export type LoadOptions = {
  /** SavedModel tag set; default ['serve']. */
  readonly tags?: readonly string[];
  /** Apply load-time speed rewrites (graph/rewrite); default true. Off for A/B checks. */
  readonly rewrite?: boolean;
  /** Run synchronous graphs on the direct executor where it covers them (tfjs/direct-executor.ts); default true. */
  readonly direct?: boolean;
  /**
   * Node names ("ctr") or tensor names ("ctr:0") that replace the outputs of `outputs.signature` (default: the
   * default signature), each under the name as given; CTR_ERR_OUTPUT_NOT_FOUND when the graph has no such node.
   */
  readonly outputs?: { readonly names: readonly string[]; readonly signature?: string };
};

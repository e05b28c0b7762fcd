import { CtrError } from '../errors/registry.ts';
import type { HostTensor } from '../graph/model.ts';
import { encodeExample, type ExampleFeatures, type Feature } from '../graph/tf-example.ts';
import { classifyResults, regressResults, runExamples, type ExampleMethod } from '../api/classify-regress.ts';
import type { ServableManager } from '../serving/manager.ts';
import type { PredictionService } from '../serving/prediction-service.ts';

/**
 * TF Serving's gRPC Classify, Regress and MultiInference (tensorflow_serving/apis/classification.proto,
 * regression.proto, inference.proto) over the same runner as REST's `:classify` / `:regress`
 * (src/api/classify-regress.ts): the request's `Input` (an ExampleList, or an ExampleListWithContext whose context
 * is prepended to every example as TF Serving's InputToSerializedExampleTensor does) becomes serialized
 * tf.Examples for the signature's "inputs". MultiInference runs each task on the same examples, as
 * servables/tensorflow/multi_inference.cc requires: one model and version for all tasks, each signature once.
 */
export type ExampleServices = { readonly manager: ServableManager; readonly service: PredictionService };

type WireFeature = {
  bytes_list?: { value?: Uint8Array[] };
  float_list?: { value?: number[] };
  int64_list?: { value?: (string | number)[] };
};
type WireExample = { features?: { feature?: Record<string, WireFeature> } };
type WireInput = {
  example_list?: { examples?: WireExample[] };
  example_list_with_context?: { examples?: WireExample[]; context?: WireExample };
};
type WireSpec = { name?: string; version?: { value?: string | number }; signature_name?: string };

const METHODS: Record<string, ExampleMethod> = {
  'tensorflow/serving/classify': 'classify',
  'tensorflow/serving/regress': 'regress',
};

/** One Classify or Regress call: the response's model_spec and result. */
export async function runExampleCall(
  deps: ExampleServices,
  method: ExampleMethod,
  spec: { name: string; version?: number; signatureName?: string },
  input: WireInput | undefined,
) {
  const examples = serializedExamples(input);
  const { id, signatureName, outputs } = await runExamples(deps.manager, deps.service, method, {
    model: spec.name,
    version: spec.version,
    signatureName: spec.signatureName,
    examples,
  });
  return {
    model_spec: { name: id.name, version: { value: String(id.version) }, signature_name: signatureName },
    result: resultOf(method, outputs, examples.length),
  };
}

export async function runMultiInference(
  deps: ExampleServices,
  request: { tasks?: { model_spec?: WireSpec; method_name?: string }[]; input?: WireInput },
  specOf: (spec: WireSpec | undefined) => { name: string; version?: number; signatureName?: string },
) {
  const tasks = request.tasks ?? [];
  if (tasks.length === 0) throw bad('Found no tasks in the MultiInferenceRequest');
  const specs = tasks.map((t) => specOf(t.model_spec));
  const first = specs[0]!;
  const signatures = new Set<string>();
  for (const [i, s] of specs.entries()) {
    if (s.name !== first.name || s.version !== first.version) {
      throw bad('Input request contains tasks with different model specs (name and version must agree)');
    }
    const signature = s.signatureName ?? 'serving_default';
    if (signatures.has(signature)) throw bad(`Duplicate evaluation of signature: ${signature}`);
    signatures.add(signature);
    if (!METHODS[tasks[i]!.method_name ?? '']) {
      throw bad(`Unsupported signature method_name: ${tasks[i]!.method_name}`);
    }
  }
  const results = [];
  for (const [i, s] of specs.entries()) {
    const method = METHODS[tasks[i]!.method_name!]!;
    const { model_spec, result } = await runExampleCall(deps, method, s, request.input);
    results.push({
      model_spec,
      [method === 'classify' ? 'classification_result' : 'regression_result']: result,
    });
  }
  return { results };
}

function resultOf(method: ExampleMethod, outputs: Record<string, HostTensor>, n: number) {
  if (method === 'regress') return { regressions: regressResults(outputs, n).map((value) => ({ value })) };
  const utf8 = new TextDecoder();
  return {
    classifications: classifyResults(outputs, n).map((row) => ({
      classes: row.map(({ label, score }) => ({
        label: label instanceof Uint8Array ? utf8.decode(label) : String(label),
        score,
      })),
    })),
  };
}

function serializedExamples(input: WireInput | undefined): Uint8Array[] {
  const withContext = input?.example_list_with_context;
  const list = input?.example_list?.examples ?? withContext?.examples ?? [];
  if (list.length === 0) throw bad('Input is empty');
  const prefix = withContext?.context ? encodeExample(featuresOf(withContext.context)) : undefined;
  return list.map((e) => {
    const bytes = encodeExample(featuresOf(e));
    if (!prefix) return bytes;
    const both = new Uint8Array(prefix.length + bytes.length);
    both.set(prefix);
    both.set(bytes, prefix.length);
    return both;
  });
}

function featuresOf(example: WireExample): ExampleFeatures {
  const out = new Map<string, Feature>();
  for (const [name, f] of Object.entries(example.features?.feature ?? {})) {
    if (f.bytes_list) out.set(name, { kind: 'bytes_list', value: f.bytes_list.value ?? [] });
    else if (f.float_list)
      out.set(name, { kind: 'float_list', value: Float32Array.from(f.float_list.value ?? []) });
    else if (f.int64_list) {
      out.set(name, {
        kind: 'int64_list',
        value: BigInt64Array.from(f.int64_list.value ?? [], (v) => BigInt(v)),
      });
    } else out.set(name, { kind: 'none' });
  }
  return out;
}

function bad(message: string): CtrError {
  return new CtrError('CTR_ERR_BAD_REQUEST', message);
}

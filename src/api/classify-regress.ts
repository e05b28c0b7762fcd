import { CtrError } from '../errors/registry.ts';
import type { HostTensor, SignatureSpec } from '../graph/model.ts';
import type { ServableManager } from '../serving/manager.ts';
import type { PredictionService } from '../serving/prediction-service.ts';
import type { ServableId } from '../serving/servable.ts';

/**
 * TF Serving's classify and regress methods over a signature (tensorflow_serving/servables/tensorflow/
 * classifier.cc and regressor.cc): the signature's one input "inputs" takes the serialized tf.Examples; a
 * classifier answers "classes" (string) and/or "scores" (float), each [batch, num_classes], a regressor
 * "outputs" (float) [batch] or [batch, 1]. As TF Serving by default (`--enable_signature_method_name_check`
 * off), a signature qualifies by these inputs and outputs, whatever its method_name. Both transports share this
 * module (REST: src/http/routes/tf-serving-examples.ts, replies written by src/http/tf-serving-codec.ts; gRPC:
 * src/grpc/examples-grpc.ts); a label without a classes output is "", a score without scores 0.
 * Signature failures: CTR_ERR_SIGNATURE_METHOD.
 */
export type ExampleMethod = 'classify' | 'regress';

/** The signature's input alias that takes the serialized Examples; throws when it cannot serve `method`. */
export function checkExampleSignature(signature: SignatureSpec, method: ExampleMethod): string {
  const fail = (why: string): never => {
    throw new CtrError('CTR_ERR_SIGNATURE_METHOD', `signature "${signature.name}" cannot ${method}: ${why}`);
  };
  const inputs = Object.keys(signature.inputs);
  if (inputs.length !== 1) fail('Expected one input Tensor.');
  const input = signature.inputs.inputs;
  if (!input) fail(`No ${method === 'classify' ? 'classification' : 'regression'} inputs found ("inputs")`);
  if (input.dtype !== 'DT_STRING') fail(`its input "inputs" is ${input.dtype}, not DT_STRING`);
  const outputs = signature.outputs;
  if (method === 'regress') {
    if (Object.keys(outputs).length !== 1) fail('Expected one output Tensor.');
    if (!outputs.outputs) fail('No regression outputs found ("outputs")');
    if (outputs.outputs.dtype !== 'DT_FLOAT')
      fail(`Expected output Tensor of DT_FLOAT. Got: ${outputs.outputs.dtype}`);
    return 'inputs';
  }
  const n = Object.keys(outputs).length;
  if (n !== 1 && n !== 2) fail(`Expected one or two output Tensors, found ${n}`);
  if (!outputs.classes && !outputs.scores) {
    fail('Expected classification signature outputs to contain at least one of "classes" or "scores"');
  }
  if (outputs.classes && outputs.classes.dtype !== 'DT_STRING') {
    fail(`Expected classes Tensor of DT_STRING. Got: ${outputs.classes.dtype}`);
  }
  if (outputs.scores && outputs.scores.dtype !== 'DT_FLOAT') {
    fail(`Expected scores Tensor of DT_FLOAT. Got: ${outputs.scores.dtype}`);
  }
  return 'inputs';
}

/** One class of one example: its label (bytes, or "" without a classes output) and score (0 without scores). */
export type ClassResult = { readonly label: HostTensor['values'][number] | ''; readonly score: number };

/**
 * The classes of each of `examples` Examples, checked as TF Serving's classifier.cc checks the outputs
 * (shapes [batch, num_classes], classes and scores agreeing in dim 1).
 */
export function classifyResults(
  outputs: Readonly<Record<string, HostTensor>>,
  examples: number,
): ClassResult[][] {
  const { classes, scores } = outputs;
  for (const [name, t] of [
    ['classes', classes],
    ['scores', scores],
  ] as const) {
    if (!t) continue;
    if (t.shape.length !== 2) fail(`Expected Tensor shape: [batch_size num_classes] but got [${t.shape}]`);
    if (t.shape[0] !== examples)
      fail(`Expected ${name} output batch size of ${examples}. Got: ${t.shape[0]}`);
  }
  if (classes && scores && classes.shape[1] !== scores.shape[1]) {
    fail(
      `Tensors class and score should match in dim_size(1). Got ${classes.shape[1]} vs. ${scores.shape[1]}`,
    );
  }
  const numClasses = (classes ?? scores)?.shape[1] ?? 0;
  return Array.from({ length: examples }, (_, i) =>
    Array.from({ length: numClasses }, (_, c) => {
      const at = i * numClasses + c;
      return { label: classes ? classes.values[at]! : '', score: scores ? Number(scores.values[at]) : 0 };
    }),
  );
}

/** The value of each of `examples` Examples, checked as TF Serving's regressor.cc checks the output. */
export function regressResults(outputs: Readonly<Record<string, HostTensor>>, examples: number): number[] {
  const t = outputs.outputs;
  if (!t) return fail('Could not find output tensor "outputs"');
  if (!(t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1))) {
    fail(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [${t.shape}]`);
  }
  if (t.shape[0] !== examples) {
    fail(`Input batch size did not match output batch size: ${examples} vs. ${t.shape[0]}`);
  }
  return Array.from({ length: examples }, (_, i) => Number(t.values[i]));
}

export type ExamplesRun = {
  readonly model: string;
  readonly version?: number;
  readonly signatureName?: string;
  /** Serialized tf.Examples. */
  readonly examples: readonly Uint8Array[];
};

/**
 * Runs serialized Examples through a classify or regress signature with the prediction service (batching,
 * admission, deadlines, metrics), as TF Serving's REST and gRPC Classify/Regress do. Returns the servable's id,
 * the signature that ran and its outputs. Failures: the manager's and the service's, CTR_ERR_SIGNATURE_NOT_FOUND,
 * CTR_ERR_SIGNATURE_METHOD.
 */
export async function runExamples(
  manager: ServableManager,
  service: PredictionService,
  method: ExampleMethod,
  run: ExamplesRun,
): Promise<{ id: ServableId; signatureName: string; outputs: Record<string, HostTensor> }> {
  // Holding the handle pins the version whose signature was checked until its prediction is done.
  const handle = manager.acquire(run.model, run.version);
  try {
    const { id, model } = handle.servable;
    const signatureName = run.signatureName ?? model.info.defaultSignature;
    const signature = model.info.signatures[signatureName];
    if (!signature) {
      throw new CtrError(
        'CTR_ERR_SIGNATURE_NOT_FOUND',
        `No signature was found with the name: ${signatureName}`,
      );
    }
    const input = checkExampleSignature(signature, method);
    const result = await service.predict({
      model: id.name,
      version: id.version,
      signatureName,
      inputs: { [input]: { dtype: 'DT_STRING', shape: [run.examples.length], values: [...run.examples] } },
    });
    return { id, signatureName, outputs: result.outputs };
  } finally {
    handle.release();
  }
}

function fail(message: string): never {
  throw new CtrError('CTR_ERR_SIGNATURE_METHOD', message);
}

import { readFileSync } from 'node:fs';
import { CtrError } from '../errors/registry.ts';
import type { HostTensor, SignatureSpec, TfDtype } from '../graph/model.ts';
import type { ServableManager } from '../serving/manager.ts';
import type { PredictionService } from '../serving/prediction-service.ts';

/**
 * KServe V2 / Open Inference Protocol, the part both transports share (REST: src/http/routes/kserve-v2.ts;
 * gRPC: src/grpc/kserve-grpc.ts): datatypes, server and model metadata, readiness, and inference through the
 * same PredictionService (batcher, admission, metrics) as TF Serving's `:predict`. Spec:
 * github.com/kserve/open-inference-protocol, specification/protocol/inference_rest.md and inference_grpc.md.
 * A model's V2 inputs and outputs are its default signature's (`parameters.signature_name` picks another, a
 * ctr-serve extension). Each transport decodes its tensors to HostTensors and encodes the result.
 */
export const V2_DATATYPES = {
  BOOL: 'DT_BOOL',
  UINT8: 'DT_UINT8',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  FP16: 'DT_HALF',
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  BYTES: 'DT_STRING',
} as const satisfies Record<string, TfDtype>;
export type V2Datatype = keyof typeof V2_DATATYPES;

const SPEC_DATATYPES = ['UINT16', 'UINT32', 'UINT64', 'BF16'];

export function v2DatatypeOf(dtype: TfDtype): V2Datatype {
  return (Object.keys(V2_DATATYPES) as V2Datatype[]).find((k) => V2_DATATYPES[k] === dtype)!;
}

/** The TfDtype of a request's `datatype`; CTR_ERR_UNSUPPORTED_DTYPE for the spec's others, else BAD_REQUEST. */
export function tfDtypeOfV2(datatype: unknown, where: string): TfDtype {
  if (typeof datatype === 'string' && datatype in V2_DATATYPES) return V2_DATATYPES[datatype as V2Datatype];
  if (typeof datatype === 'string' && SPEC_DATATYPES.includes(datatype)) {
    throw new CtrError('CTR_ERR_UNSUPPORTED_DTYPE', `${where}: datatype ${datatype} is not supported here`);
  }
  throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}: unknown datatype ${JSON.stringify(datatype)}`);
}

/** A model version from a URL or a request field; '' and undefined mean "the latest". */
export function parseV2Version(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `model version "${text}" is not a positive integer`);
  }
  return Number(text);
}

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function v2ServerMetadata() {
  return { name: 'ctr-serve', version: PACKAGE_VERSION, extensions: [] as string[] };
}

export type V2TensorMetadata = { name: string; datatype: V2Datatype; shape: number[] };

/** `GET /v2/models/{m}[/versions/{v}]` and ModelMetadata: the served version's default signature. */
export function v2ModelMetadata(manager: ServableManager, name: string, version?: number) {
  const handle = manager.acquire(name, version);
  try {
    const { id, model } = handle.servable;
    const signature = model.info.signatures[model.info.defaultSignature]!;
    const tensors = (specs: SignatureSpec['inputs']): V2TensorMetadata[] =>
      Object.entries(specs).map(([alias, spec]) => ({
        name: alias,
        datatype: v2DatatypeOf(spec.dtype),
        shape: spec.shape === null ? [-1] : [...spec.shape],
      }));
    const versions = manager
      .status(name)
      .filter((s) => s.state === 'AVAILABLE')
      .map((s) => String(s.version));
    return {
      name: id.name,
      versions: version === undefined ? versions : [String(id.version)],
      platform: model.info.format === 'saved_model' ? 'tensorflow_savedmodel' : 'tensorflow_graphdef',
      inputs: tensors(signature.inputs),
      outputs: tensors(signature.outputs),
    };
  } finally {
    handle.release();
  }
}

/** Model readiness: true when the model (at `version`) has an AVAILABLE version; unknown names fail NOT_FOUND. */
export function v2ModelReady(manager: ServableManager, name: string, version?: number): boolean {
  return manager.status(name, version).some((s) => s.state === 'AVAILABLE');
}

export type V2InferInput = { readonly name: string; readonly tensor: HostTensor };

export type V2InferRequest = {
  readonly model: string;
  readonly version?: number;
  readonly id?: string;
  readonly signatureName?: string;
  readonly inputs: readonly V2InferInput[];
  /** Output names asked for, in order; default every output of the signature, by name. */
  readonly outputs?: readonly string[];
};

export type V2InferOutput = {
  readonly name: string;
  readonly datatype: V2Datatype;
  readonly tensor: HostTensor;
};

export type V2InferResult = {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id?: string;
  readonly outputs: V2InferOutput[];
};

export async function runV2Infer(service: PredictionService, req: V2InferRequest): Promise<V2InferResult> {
  const inputs: Record<string, HostTensor> = {};
  for (const input of req.inputs) {
    if (input.name in inputs) {
      throw new CtrError('CTR_ERR_BAD_REQUEST', `input "${input.name}" is given more than once`);
    }
    inputs[input.name] = input.tensor;
  }
  const result = await service.predict({
    model: req.model,
    version: req.version,
    signatureName: req.signatureName,
    inputs,
  });
  const names = req.outputs ?? Object.keys(result.outputs).sort();
  const outputs = names.map((name) => {
    const tensor = result.outputs[name];
    if (!tensor) {
      throw new CtrError(
        'CTR_ERR_OUTPUT_NOT_FOUND',
        `output "${name}" is not in signature "${result.signature.name}" (outputs: ${Object.keys(result.outputs).join(', ')})`,
      );
    }
    return { name, datatype: v2DatatypeOf(tensor.dtype), tensor };
  });
  return {
    modelName: result.id.name,
    modelVersion: String(result.id.version),
    ...(req.id === undefined ? {} : { id: req.id }),
    outputs,
  };
}

/** A decoded tensor given the request's explicit shape: the element counts must agree. */
export function withV2Shape(tensor: HostTensor, shape: unknown, where: string): HostTensor {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}: "shape" must be a list of integers >= 0`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (count !== tensor.values.length) {
    throw new CtrError(
      'CTR_ERR_BAD_REQUEST',
      `${where}: shape [${shape.join(',')}] needs ${count} values, the data has ${tensor.values.length}`,
    );
  }
  return { dtype: tensor.dtype, shape: shape as number[], values: tensor.values };
}

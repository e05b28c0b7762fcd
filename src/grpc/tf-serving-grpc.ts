import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { signatureDefMap } from '../api/model-metadata.ts';
import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { HostTensor } from '../graph/model.ts';
import type { ServableManager } from '../serving/manager.ts';
import type { PredictionService } from '../serving/prediction-service.ts';
import { runExampleCall, runMultiInference } from './examples-grpc.ts';
import { handleReloadConfig, type ApplyModelConfig } from './handle-reload-config.ts';
import { refuseWhenOverloaded, unaryService, type UnaryDeps } from './unary.ts';
import { hostFromWire, hostToWire, type WireTensor } from './wire-tensor.ts';

/**
 * TF Serving's gRPC services (tensorflow_serving/apis/prediction_service.proto, model_service.proto) over the
 * same manager and PredictionService as the REST API: Predict runs through the batcher with its admission control
 * and metrics exactly as `:predict` does. Semantics follow TF Serving's servables/tensorflow/predict_util.cc and
 * model_servers/get_model_status_impl.cc: an empty signature_name is the default signature, `output_filter` keeps
 * the named outputs, the response's model_spec names the version that ran. Classify, Regress and MultiInference
 * take tf.Examples (src/grpc/examples-grpc.ts, the runner of REST's :classify/:regress);
 * HandleReloadConfigRequest replaces the served models (src/grpc/handle-reload-config.ts).
 */
export type TfServingGrpcDeps = UnaryDeps & {
  readonly config: ServingConfig;
  readonly manager: ServableManager;
  readonly service: PredictionService;
  /** HandleReloadConfigRequest's effect (AppContext.applyModelConfig); absent with --workers > 1. */
  readonly applyModelConfig?: ApplyModelConfig;
};

type ModelSpec = {
  name?: string;
  version?: { value?: string | number };
  version_label?: string;
  signature_name?: string;
};

export function predictionServiceImpl(deps: TfServingGrpcDeps): UntypedServiceImplementation {
  const modelOf = specResolver(deps.manager);
  type ExampleRequest = { model_spec?: ModelSpec; input?: Parameters<typeof runExampleCall>[3] };
  return unaryService('tensorflow.serving.PredictionService', deps, {
    Predict: (request) => {
      refuseWhenOverloaded(deps.service, request.model_spec?.name);
      return predict(deps, modelOf(request.model_spec), request);
    },
    GetModelMetadata: async (request) => getModelMetadata(deps, modelOf(request.model_spec), request),
    Classify: (r: ExampleRequest) => {
      refuseWhenOverloaded(deps.service, r.model_spec?.name);
      return runExampleCall(deps, 'classify', modelOf(r.model_spec), r.input);
    },
    Regress: (r: ExampleRequest) => {
      refuseWhenOverloaded(deps.service, r.model_spec?.name);
      return runExampleCall(deps, 'regress', modelOf(r.model_spec), r.input);
    },
    MultiInference: (r) => runMultiInference(deps, r, modelOf),
  });
}

export function modelServiceImpl(deps: TfServingGrpcDeps): UntypedServiceImplementation {
  const modelOf = specResolver(deps.manager);
  return unaryService('tensorflow.serving.ModelService', deps, {
    GetModelStatus: async (request: { model_spec?: ModelSpec }) => {
      const { name, version } = modelOf(request.model_spec);
      const statuses = deps.manager.status(name, version);
      if (statuses.length === 0) {
        throw new CtrError('CTR_ERR_MODEL_NOT_FOUND', `Could not find any versions of model ${name}`);
      }
      return {
        model_version_status: statuses.map((s) => ({
          version: String(s.version),
          state: s.state,
          status: { error_code: s.errorCode, error_message: s.errorMessage },
        })),
      };
    },
    HandleReloadConfigRequest: (request) => handleReloadConfig(deps.applyModelConfig, request),
  });
}

type Spec = { name: string; version?: number; signatureName?: string };

async function predict(
  deps: TfServingGrpcDeps,
  { name, version, signatureName }: Spec,
  request: { inputs?: Record<string, WireTensor>; output_filter?: string[] },
) {
  const inputs: Record<string, HostTensor> = {};
  for (const [alias, tensor] of Object.entries(request.inputs ?? {})) {
    inputs[alias] = hostFromWire(tensor, `input "${alias}"`);
  }
  const result = await deps.service.predict({ model: name, version, signatureName, inputs });
  const filter = request.output_filter ?? [];
  for (const alias of filter) {
    if (!(alias in result.outputs)) {
      throw new CtrError(
        'CTR_ERR_OUTPUT_NOT_FOUND',
        `output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${Object.keys(result.outputs).join(',')}}.`,
      );
    }
  }
  const asContent = deps.config.grpc.tensorContent;
  const outputs: Record<string, WireTensor> = {};
  for (const [alias, tensor] of Object.entries(result.outputs)) {
    if (filter.length === 0 || filter.includes(alias)) outputs[alias] = hostToWire(tensor, asContent);
  }
  return {
    model_spec: {
      name: result.id.name,
      version: { value: String(result.id.version) },
      signature_name: result.signature.name,
    },
    outputs,
  };
}

function getModelMetadata(
  deps: TfServingGrpcDeps,
  { name, version }: Spec,
  request: { metadata_field?: string[] },
) {
  const fields = request.metadata_field ?? [];
  if (fields.length === 0) {
    throw new CtrError(
      'CTR_ERR_BAD_REQUEST',
      'GetModelMetadataRequest must specify at least one metadata_field',
    );
  }
  for (const field of fields) {
    if (field !== 'signature_def') {
      throw new CtrError('CTR_ERR_BAD_REQUEST', `Metadata field ${field} is not supported`);
    }
  }
  const handle = deps.manager.acquire(name, version);
  try {
    const { id, model } = handle.servable;
    return {
      model_spec: { name: id.name, version: { value: String(id.version) }, signature_name: '' },
      // An Any: protobufjs packs an object with "@type" as that message (signatureDefMap sets it).
      metadata: { signature_def: signatureDefMap(model.info) },
    };
  } finally {
    handle.release();
  }
}

/**
 * The model, version and signature a ModelSpec names, by TF Serving's rules: a version number or a version label
 * (resolved by the manager, CTR_ERR_UNKNOWN_VERSION_LABEL when unknown), else the latest.
 */
function specResolver(manager: ServableManager) {
  return (spec: ModelSpec | undefined): { name: string; version?: number; signatureName?: string } => {
    if (!spec?.name) throw new CtrError('CTR_ERR_BAD_REQUEST', 'Missing ModelSpec');
    let version: number | undefined;
    if (spec.version_label !== undefined && spec.version_label !== '') {
      version = manager.resolveLabel(spec.name, spec.version_label);
    } else if (spec.version?.value !== undefined) {
      version = Number(spec.version.value);
      if (!Number.isSafeInteger(version) || version < 1) {
        throw new CtrError('CTR_ERR_BAD_REQUEST', `version ${spec.version.value} is not a positive integer`);
      }
    }
    // TF Serving reads an empty signature_name as "serving_default"; the model's default signature is that one
    // when it has it (src/graph/model.ts ModelInfo.defaultSignature), and a frozen graph's only signature otherwise.
    return { name: spec.name, version, signatureName: spec.signature_name || undefined };
  };
}

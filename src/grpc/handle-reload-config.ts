import { modelsOfMessage, type ModelConfig } from '../config/model-config-file.ts';
import { CtrError } from '../errors/registry.ts';

/** Serves the given models instead of the configured ones (AppContext.applyModelConfig). */
export type ApplyModelConfig = (models: readonly ModelConfig[]) => Promise<void>;

type Decoded = Record<string, unknown>;

/**
 * ModelService/HandleReloadConfigRequest as TF Serving's model_servers/model_service_impl.cc answers it: only a
 * ModelServerConfig holding a model_config_list is taken (anything else is INVALID_ARGUMENT with TF Serving's
 * message); its models replace the served ones through the path a `--model_config_file` poll takes
 * (ServerCore::ReloadConfig; src/serving/model-config-reloader.ts), and the answer is `status` OK once every
 * listed model has tried to load. Failures arrive as the call's gRPC status, as ToGRPCStatus makes them: a bad
 * config INVALID_ARGUMENT (nothing changed), models that did not become available UNKNOWN
 * (CTR_ERR_MODELS_NOT_AVAILABLE; the config stays applied, as in TF Serving). `metric_names` is not read.
 *
 * With --workers > 1 each worker has its own models, and a call reaches one worker: `apply` is then absent and
 * the method answers UNIMPLEMENTED naming the config file reload instead.
 */
export async function handleReloadConfig(
  apply: ApplyModelConfig | undefined,
  request: { config?: Decoded },
): Promise<{ status: { error_code: string; error_message: string } }> {
  if (!apply) {
    throw new CtrError(
      'CTR_ERR_ROUTE_NOT_FOUND',
      'HandleReloadConfigRequest is not served with --workers > 1 (each worker loads its own models); ' +
        'change --model_config_file and let every worker poll it (--model_config_file_poll_wait_seconds)',
    );
  }
  const config = request.config;
  if (!config?.model_config_list) {
    throw new CtrError(
      'CTR_ERR_INVALID_CONFIG',
      'ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported',
    );
  }
  await apply(modelsOfMessage(withoutOneofNames(config), 'ReloadConfigRequest.config'));
  return { status: { error_code: 'OK', error_message: '' } };
}

/**
 * The message without the names @grpc/proto-loader's `oneofs: true` adds beside a oneof's member (src/grpc/
 * protos.ts): ModelServerConfig's `config` and each ServableVersionPolicy's `policy_choice`.
 */
function withoutOneofNames(config: Decoded): Decoded {
  const list = config.model_config_list as { config?: unknown };
  const models = Array.isArray(list.config) ? list.config : [];
  return {
    model_config_list: {
      config: models.map((entry: Decoded) => {
        const policy = entry.model_version_policy as Decoded | undefined;
        if (!policy) return entry;
        const { policy_choice: _, ...chosen } = policy;
        return { ...entry, model_version_policy: chosen };
      }),
    },
  };
}

import { parse as parseYaml } from 'yaml';
import { CtrError } from '../errors/registry.ts';
import { parseTextProto } from './text-proto.ts';

/** Which versions under `<basePath>/<version>/` are served (TF Serving's model_version_policy). */
export type VersionPolicy =
  | { readonly kind: 'latest'; readonly numVersions: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'specific'; readonly versions: readonly number[] };

export type ModelConfig = {
  readonly name: string;
  /** Directory holding one subdirectory per version (positive integers, zero padding allowed). */
  readonly basePath: string;
  readonly versionPolicy: VersionPolicy;
  /** TF Serving's version_labels: label → version (`/v1/models/{name}/labels/{label}`). */
  readonly versionLabels?: Readonly<Record<string, number>>;
  /** Teacher scored after the reply on a sample of this model's CTR traffic. */
  readonly shadowModel?: string;
  /** Fraction in [0, 1] of this model's CTR requests replayed on its shadow; default: the global rate. */
  readonly shadowSampleRate?: number;
};

export type ModelConfigFile = { models: ModelConfig[]; defaultModel?: string };

type Bad = (msg: string) => never;

/**
 * TF Serving's ModelServerConfig (`--model_config_file`), in the text-proto form TF Serving reads
 * (`model_config_list { config { name: "a" base_path: "/models/a" model_version_policy { all {} } } }`, parsed by
 * text-proto.ts against the real message), or as JSON/YAML: proto3 JSON (`{"model_config_list": {"config": [...]}}`)
 * or ctr-serve's shorter `{"model_config_list": [...]}`, where each model may also carry ctr-serve's
 * `shadow_model` and `shadow_sample_rate`, and the top `default_model`. Per model: name, base_path,
 * model_platform ("tensorflow"), model_version_policy (latest {num_versions} | all | specific {versions}),
 * version_labels; logging_config is accepted and not used. custom_model_config is refused.
 */
export function parseModelConfigFile(text: string, path: string): ModelConfigFile {
  const bad: Bad = (msg) => {
    throw new CtrError('CTR_ERR_INVALID_CONFIG', `${path}: ${msg}`);
  };
  let doc: unknown;
  let textProto = false;
  try {
    doc = parseTextProto('tensorflow.serving.ModelServerConfig', text, path);
    textProto = true;
  } catch (textError) {
    try {
      doc = parseYaml(text); // YAML is a superset of JSON
    } catch {
      throw textError;
    }
    if (!isRecord(doc)) throw textError;
  }
  return configOf(doc, textProto, bad);
}

/**
 * The models of a ModelServerConfig message already decoded, e.g. the `config` of ModelService's
 * HandleReloadConfigRequest: read as a text-proto file's (TF Serving's fields only), int64 as numbers or decimal
 * strings; failures are CTR_ERR_INVALID_CONFIG prefixed with `where`.
 */
export function modelsOfMessage(message: Record<string, unknown>, where: string): ModelConfig[] {
  return configOf(message, true, (msg) => {
    throw new CtrError('CTR_ERR_INVALID_CONFIG', `${where}: ${msg}`);
  }).models;
}

function configOf(doc: unknown, textProto: boolean, bad: Bad): ModelConfigFile {
  if (!isRecord(doc)) return bad('expected an object with "model_config_list"');
  if (doc.custom_model_config !== undefined)
    bad('custom_model_config is not supported; use model_config_list');
  checkKeys(doc, textProto ? ['model_config_list'] : ['model_config_list', 'default_model'], '', bad);
  let list = doc.model_config_list;
  if (isRecord(list)) {
    checkKeys(list, ['config'], 'model_config_list', bad);
    list = list.config;
  }
  if (!Array.isArray(list) || list.length === 0)
    return bad('"model_config_list" must list at least one model');
  const models = list.map((entry, i) => parseModel(entry, `model_config_list[${i}]`, textProto, bad));
  const defaultModel = doc.default_model;
  if (defaultModel !== undefined && (typeof defaultModel !== 'string' || defaultModel === '')) {
    bad('"default_model" must be a model name');
  }
  return defaultModel === undefined ? { models } : { models, defaultModel: defaultModel as string };
}

const MODEL_KEYS = [
  'name',
  'base_path',
  'model_platform',
  'model_type',
  'model_version_policy',
  'version_labels',
  'logging_config',
];

function parseModel(entry: unknown, where: string, textProto: boolean, bad: Bad): ModelConfig {
  if (!isRecord(entry)) return bad(`${where} must be an object`);
  checkKeys(
    entry,
    textProto ? MODEL_KEYS : [...MODEL_KEYS, 'shadow_model', 'shadow_sample_rate'],
    where,
    bad,
  );
  const { name, base_path: basePath, model_platform: platform } = entry;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    bad(`${where}.name must be a name of letters, digits, '.', '_' or '-'`);
  }
  if (typeof basePath !== 'string' || basePath === '') bad(`${where}.base_path must be a directory`);
  if (platform !== undefined && platform !== '' && platform !== 'tensorflow') {
    bad(`${where}.model_platform must be "tensorflow"`);
  }
  const model: { -readonly [K in keyof ModelConfig]: ModelConfig[K] } = {
    name: name as string,
    basePath: basePath as string,
    versionPolicy: parsePolicy(entry.model_version_policy, `${where}.model_version_policy`, bad),
  };
  if (entry.version_labels !== undefined) {
    model.versionLabels = parseLabels(entry.version_labels, `${where}.version_labels`, bad);
  }
  if (entry.shadow_model !== undefined) {
    if (typeof entry.shadow_model !== 'string' || entry.shadow_model === '') {
      bad(`${where}.shadow_model must be a model name`);
    }
    model.shadowModel = entry.shadow_model as string;
  }
  if (entry.shadow_sample_rate !== undefined) {
    const r = entry.shadow_sample_rate;
    if (typeof r !== 'number' || !(r >= 0 && r <= 1)) bad(`${where}.shadow_sample_rate must be in [0, 1]`);
    model.shadowSampleRate = r as number;
  }
  return model;
}

function parsePolicy(policy: unknown, where: string, bad: Bad): VersionPolicy {
  if (policy === undefined || (isRecord(policy) && Object.keys(policy).length === 0)) {
    return { kind: 'latest', numVersions: 1 };
  }
  if (!isRecord(policy) || Object.keys(policy).length !== 1) {
    return bad(`${where} must have exactly one of "latest", "all", "specific"`);
  }
  const [kind, body] = Object.entries(policy)[0]!;
  if (kind === 'all') return { kind: 'all' };
  if (kind === 'latest') {
    // proto3: num_versions 0 (unset) means TF Serving's default of 1.
    const n = isRecord(body) ? body.num_versions || 1 : 1;
    if (!isPositiveInt(n)) bad(`${where}.latest.num_versions must be a positive integer`);
    return { kind: 'latest', numVersions: n as number };
  }
  if (kind === 'specific') {
    const versions = isRecord(body) ? body.versions : undefined;
    if (!Array.isArray(versions) || versions.length === 0) {
      return bad(`${where}.specific.versions must be a non-empty list`);
    }
    const nums = versions.map(int64);
    if (!nums.every(isPositiveInt)) bad(`${where}.specific.versions must be positive integers`);
    return { kind: 'specific', versions: [...new Set(nums as number[])].sort((a, b) => a - b) };
  }
  return bad(`${where} has unknown policy "${kind}"`);
}

function parseLabels(labels: unknown, where: string, bad: Bad): Record<string, number> {
  if (!isRecord(labels)) return bad(`${where} must map labels to versions`);
  const out: Record<string, number> = {};
  for (const [label, version] of Object.entries(labels)) {
    const v = int64(version);
    if (label === '' || !isPositiveInt(v)) bad(`${where}.${label} must be a positive version number`);
    out[label] = v as number;
  }
  return out;
}

/** proto3 JSON writes int64 as strings ("versions": ["1"]); both forms are read. */
function int64(v: unknown): unknown {
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], where: string, bad: Bad): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) bad(`unknown key "${where ? `${where}.` : ''}${key}"`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

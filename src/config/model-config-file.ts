import { parse as parseYaml } from 'yaml';
import { CtrError } from '../errors/registry.ts';

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
  /** Teacher scored after the reply on a sample of this model's CTR traffic. */
  readonly shadowModel?: string;
  /** Fraction in [0, 1] of this model's CTR requests replayed on its shadow; default: the global rate. */
  readonly shadowSampleRate?: number;
};

/**
 * TF Serving's ModelServerConfig (`--model_config_file`) as JSON or YAML:
 * `{"model_config_list": [{"name", "base_path", "model_version_policy": {"latest": {"num_versions"}} | {"all": {}}
 * | {"specific": {"versions": [...]}}}]}`, plus ctr-serve's optional `shadow_model` and `shadow_sample_rate` per
 * model and `default_model` at the top. TF Serving's text-proto form is not read (CTR_ERR_INVALID_CONFIG says so).
 */
export function parseModelConfigFile(
  text: string,
  path: string,
): { models: ModelConfig[]; defaultModel?: string } {
  const bad = (msg: string): never => {
    throw new CtrError('CTR_ERR_INVALID_CONFIG', `${path}: ${msg}`);
  };
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (cause) {
    throw new CtrError(
      'CTR_ERR_INVALID_CONFIG',
      `${path}: not JSON or YAML (TF Serving's text proto is not read; write it as JSON)`,
      { cause },
    );
  }
  if (!isRecord(doc)) return bad('expected an object with "model_config_list"');
  checkKeys(doc, ['model_config_list', 'default_model'], '', bad);
  const list = doc.model_config_list;
  if (!Array.isArray(list) || list.length === 0) return bad('"model_config_list" must be a non-empty list');
  const models = list.map((entry, i) => parseModel(entry, `model_config_list[${i}]`, bad));
  const defaultModel = doc.default_model;
  if (defaultModel !== undefined && (typeof defaultModel !== 'string' || defaultModel === '')) {
    bad('"default_model" must be a model name');
  }
  return defaultModel === undefined ? { models } : { models, defaultModel: defaultModel as string };
}

function parseModel(entry: unknown, where: string, bad: (msg: string) => never): ModelConfig {
  if (!isRecord(entry)) return bad(`${where} must be an object`);
  checkKeys(
    entry,
    ['name', 'base_path', 'model_platform', 'model_version_policy', 'shadow_model', 'shadow_sample_rate'],
    where,
    bad,
  );
  const { name, base_path: basePath, model_platform: platform } = entry;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    bad(`${where}.name must be a name of letters, digits, '.', '_' or '-'`);
  }
  if (typeof basePath !== 'string' || basePath === '') bad(`${where}.base_path must be a directory`);
  if (platform !== undefined && platform !== 'tensorflow') {
    bad(`${where}.model_platform must be "tensorflow"`);
  }
  const model: { -readonly [K in keyof ModelConfig]: ModelConfig[K] } = {
    name: name as string,
    basePath: basePath as string,
    versionPolicy: parsePolicy(entry.model_version_policy, `${where}.model_version_policy`, bad),
  };
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

function parsePolicy(policy: unknown, where: string, bad: (msg: string) => never): VersionPolicy {
  if (policy === undefined) return { kind: 'latest', numVersions: 1 };
  if (!isRecord(policy) || Object.keys(policy).length !== 1) {
    return bad(`${where} must have exactly one of "latest", "all", "specific"`);
  }
  const [kind, body] = Object.entries(policy)[0]!;
  if (kind === 'all') return { kind: 'all' };
  if (kind === 'latest') {
    const n = isRecord(body) ? (body.num_versions ?? 1) : 1;
    if (!isPositiveInt(n)) bad(`${where}.latest.num_versions must be a positive integer`);
    return { kind: 'latest', numVersions: n as number };
  }
  if (kind === 'specific') {
    const versions = isRecord(body) ? body.versions : undefined;
    if (!Array.isArray(versions) || versions.length === 0) {
      return bad(`${where}.specific.versions must be a non-empty list`);
    }
    // proto3 JSON writes int64 as strings ("versions": ["1"]); accept both.
    const nums = versions.map((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v));
    if (!nums.every(isPositiveInt)) bad(`${where}.specific.versions must be positive integers`);
    return { kind: 'specific', versions: [...new Set(nums as number[])].sort((a, b) => a - b) };
  }
  return bad(`${where} has unknown policy "${kind}"`);
}

function checkKeys(
  obj: Record<string, unknown>,
  allowed: string[],
  where: string,
  bad: (msg: string) => never,
): void {
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

import type { ModelConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';

/**
 * TF Serving's version labels (model_server_config.proto `version_labels`, served at
 * `/v1/models/{name}/labels/{label}`): per model, label → version. Updated all at once from the model configs as
 * ServerCore::UpdateModelVersionLabelMap does (tensorflow_serving/model_servers/server_core.cc): a label may
 * only name a version that is AVAILABLE, unless `allowUnavailable` (TF Serving's
 * --allow_version_labels_for_unavailable_models) and the label is new or keeps its version, so that moving a
 * label never points it at a version still loading. A refused update changes nothing.
 */
export class VersionLabels {
  #labels = new Map<string, ReadonlyMap<string, number>>();

  /** Fails with CTR_ERR_INVALID_CONFIG (TF Serving's FailedPrecondition message), leaving the labels as they were. */
  update(
    models: readonly ModelConfig[],
    isAvailable: (model: string, version: number) => boolean,
    allowUnavailable: boolean,
  ): void {
    const next = new Map<string, ReadonlyMap<string, number>>();
    for (const m of models) {
      const labels = new Map<string, number>();
      for (const [label, version] of Object.entries(m.versionLabels ?? {})) {
        const existing = this.#labels.get(m.name)?.get(label);
        const allowed = allowUnavailable && (existing === undefined || existing === version);
        if (!allowed && !isAvailable(m.name, version)) {
          throw new CtrError(
            'CTR_ERR_INVALID_CONFIG',
            `Request to assign label to version ${version} of model ${m.name}, which is not currently available for inference`,
          );
        }
        labels.set(label, version);
      }
      if (labels.size > 0) next.set(m.name, labels);
    }
    this.#labels = next;
  }

  /** The version `label` names (ServerCore::GetModelVersionForLabel); CTR_ERR_UNKNOWN_VERSION_LABEL when none. */
  resolve(model: string, label: string): number {
    const version = this.#labels.get(model)?.get(label);
    if (version === undefined) {
      throw new CtrError('CTR_ERR_UNKNOWN_VERSION_LABEL', `Unrecognized servable version label: ${label}`);
    }
    return version;
  }

  /** label → version of one model, for status and tests. */
  of(model: string): Record<string, number> {
    return Object.fromEntries(this.#labels.get(model) ?? []);
  }
}

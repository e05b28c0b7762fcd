import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { CtrBatch, CtrUserRequest } from '../features/ctr-batch.ts';
import type { HostTensor, SignatureSpec } from '../graph/model.ts';
import type { ServableManager } from './manager.ts';
import type { ServableId } from './servable.ts';
import type { ServingMetrics } from './serving-metrics.ts';

/**
 * Runs predictions on the manager's servables: acquire → batcher → release, with metrics. Both calls take and
 * return host arrays only (no tensors cross this boundary).
 *
 * Failures: those of ServableManager.acquire, CTR_ERR_SIGNATURE_NOT_FOUND, CTR_ERR_INPUT_MISMATCH,
 * CTR_ERR_QUEUE_FULL (shed at once), CTR_ERR_TIMEOUT, CTR_ERR_EXECUTION; predictCtr adds the CTR validation codes
 * of src/features/ctr-batch.ts and CTR_ERR_NOT_CTR_MODEL.
 */

export type PredictRequest = {
  readonly model: string;
  readonly version?: number;
  readonly signatureName?: string;
  readonly inputs: Readonly<Record<string, HostTensor>>;
};

export type PredictResult = {
  readonly id: ServableId;
  readonly outputs: Record<string, HostTensor>;
  readonly signature: SignatureSpec;
};

export type CtrPredictRequest = {
  readonly model?: string;
  readonly version?: number;
  /** Raw user rows (validated here: ids, emptiness, limits). */
  readonly requests: readonly CtrUserRequest[];
  readonly topK?: number;
  /** Adds each candidate's logit to its result when the model has a `logit` output. */
  readonly explain?: boolean;
};

export type CtrResult = {
  readonly id?: string;
  readonly scores: number[];
  readonly top?: number[];
  readonly logits?: number[];
};

export type CtrPredictResult = {
  readonly id: ServableId;
  readonly results: CtrResult[];
  readonly batch: CtrBatch;
  /** All rows' probabilities, batch order (what onCtrScored receives). */
  readonly scores: Float32Array;
};

export type CtrScoredEvent = {
  readonly id: ServableId;
  readonly batch: CtrBatch;
  readonly scores: Float32Array;
  readonly requests: readonly CtrUserRequest[];
};

export class PredictionService {
  /** Called by the HTTP layer after a CTR reply is sent (the shadow scorer plugs in here); must not throw. */
  onCtrScored?: (event: CtrScoredEvent) => void;

  constructor(manager: ServableManager, config: ServingConfig, deps: { metrics?: ServingMetrics } = {}) {
    void manager;
    void config;
    void deps;
  }

  predict(req: PredictRequest): Promise<PredictResult> {
    return Promise.reject(new CtrError('CTR_ERR_MODEL_UNAVAILABLE', `${req.model}: being written`));
  }

  predictCtr(req: CtrPredictRequest): Promise<CtrPredictResult> {
    return Promise.reject(new CtrError('CTR_ERR_MODEL_UNAVAILABLE', `${String(req.model)}: being written`));
  }

  /** Stops taking requests (CTR_ERR_SHUTTING_DOWN) and waits for queued batches to finish. */
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

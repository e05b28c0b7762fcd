import type { ModelInfo } from '../graph/model.ts';
import type { ServableId } from './servable.ts';

/**
 * What serving reports to metrics, without knowing Prometheus: the HTTP side implements it with prom-client in
 * src/metrics/ (ctr_* names of docs/metrics.md) and passes it to ServableManager and PredictionService. Every method
 * is called on the request path or a load and must be cheap and never throw.
 */
export interface ServingMetrics {
  /** One model call: `batchRows` rows (dim 0) merged from one or more requests (ctr_predictions_total,
   * ctr_inference_duration_seconds, ctr_batch_size). */
  observeInference(id: ServableId, seconds: number, batchRows: number): void;
  /** Time a request spent queued before its batch started (ctr_batch_queue_wait_seconds). */
  observeQueueWait(seconds: number): void;
  /** A request refused without running (ctr_requests_shed_total{reason}). */
  countShed(reason: ShedReason): void;
  /** A version load attempt, from read to verified (ctr_model_load_total, ctr_model_load_duration_seconds). */
  countLoad(model: string, outcome: LoadOutcome, seconds: number): void;
  /** A version became AVAILABLE (ctr_model_info = 1). */
  setModelInfo(id: ServableId, info: Pick<ModelInfo, 'format' | 'backend'>): void;
  /** A version was unloaded (its ctr_model_info series is removed). */
  removeModelInfo(id: ServableId): void;
}

export type ShedReason = 'queue_full' | 'timeout' | 'shutting_down';
export type LoadOutcome = 'success' | 'failure';

export const noopServingMetrics: ServingMetrics = Object.freeze({
  observeInference() {},
  observeQueueWait() {},
  countShed() {},
  countLoad() {},
  setModelInfo() {},
  removeModelInfo() {},
});

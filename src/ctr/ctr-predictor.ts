import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { HostTensor, SignatureSpec } from '../graph/model.ts';
import { rowTask } from '../serving/batch-task.ts';
import type { PredictionService } from '../serving/prediction-service.ts';
import type { ServableId } from '../serving/servable.ts';
import {
  buildCtrBatch,
  ctrBatchInputs,
  ctrHistoryLength,
  ctrSharedHistoryInputs,
  topK,
  type CtrBatch,
  type CtrUserRequest,
} from './ctr-batch.ts';
import { checkTopK, validateCtrRequests, type CtrLimits } from './ctr-request.ts';
import { sharedHistoryTask } from './shared-history-task.ts';
import { sharedHistorySpec } from './shared-history-variant.ts';

/**
 * `/v1/ctr:predict` on the serving core: validates the user rows (ctr-request.ts), builds the CtrBatch
 * (ctr-batch.ts), runs it through the PredictionService's batcher — each user's history once on the model's
 * shared-history variant when it has one (src/ctr/shared-history-variant.ts), else row by row — and assembles per-user
 * results. Host arrays only. `onCtrScored` receives each scored batch after its reply was sent (the shadow scorer
 * plugs in there) and must not throw.
 *
 * Failures: those of PredictionService.withServable/runTask, the validation codes of ctr-request.ts,
 * CTR_ERR_NOT_CTR_MODEL, CTR_ERR_EXECUTION for a mis-shaped output.
 */
export type CtrPredictRequest = {
  readonly model?: string;
  readonly version?: number;
  /** Raw user rows as parsed from JSON (validated here: ids, emptiness, limits). */
  readonly requests: readonly CtrUserRequest[] | unknown;
  readonly topK?: number;
  /** Adds each candidate's logit to its result when the model has a `logit` output. */
  readonly explain?: boolean;
};

/** One user's results; `scores` and `logits` are views of the batch's outputs (no copy per request). */
export type CtrResult = {
  readonly id?: string;
  readonly scores: Float32Array;
  readonly top?: number[];
  readonly logits?: Float32Array;
};

export type CtrScoredEvent = {
  readonly id: ServableId;
  readonly batch: CtrBatch;
  /** All rows' probabilities, batch order. */
  readonly scores: Float32Array;
  /** The validated requests (ids mapped to oov_id where the model says so). */
  readonly requests: readonly CtrUserRequest[];
};

export type CtrPredictResult = CtrScoredEvent & { readonly results: CtrResult[] };

export type CtrPredictorConfig = Pick<
  ServingConfig,
  'maxUsersPerRequest' | 'maxCandidatesPerRequest' | 'shareHistory'
>;

export class CtrPredictor {
  /** Called by the HTTP layer after a CTR reply is sent (the shadow scorer plugs in here); must not throw. */
  onCtrScored?: (event: CtrScoredEvent) => void;
  readonly #service: PredictionService;
  readonly #config: CtrPredictorConfig;
  readonly #limits: CtrLimits;

  constructor(service: PredictionService, config: CtrPredictorConfig) {
    this.#service = service;
    this.#config = config;
    this.#limits = { maxUsers: config.maxUsersPerRequest, maxCandidates: config.maxCandidatesPerRequest };
  }

  /** CTR_ERR_QUEUE_FULL when `model` (default: the default model) would refuse any request now, else undefined. */
  admissionRefusal(model?: string): CtrError | undefined {
    return this.#service.admissionRefusal(model ?? this.#service.defaultModel);
  }

  async predictCtr(req: CtrPredictRequest): Promise<CtrPredictResult> {
    checkTopK(req.topK);
    const model = req.model ?? this.#service.defaultModel;
    return this.#service.withServable(
      model,
      req.version,
      async (servable) => {
        const info = servable.model.info;
        const signatureName = ctrSignatureName(info.signatures, info.defaultSignature);
        const signature = info.signatures[signatureName]!;
        const ranges = signature.indexRanges;
        const vocab = { ...info, idRanges: { history: ranges?.history, candidate: ranges?.candidate } };
        const requests = validateCtrRequests(req.requests, vocab, this.#limits);
        let historyLength = ctrHistoryLength(signature);
        if (historyLength < 0) historyLength = Math.max(1, ...requests.map((r) => r.history.length));
        const batch = buildCtrBatch(requests, historyLength);
        const dtypes = {
          history: signature.inputs.history!.dtype,
          candidate: signature.inputs.candidate!.dtype,
        };
        // Each user's history once when the graph allows it; the CtrBatch keeps the per-row history for the
        // shadow replay.
        const variant = this.#config.shareHistory ? sharedHistorySpec(info, signatureName) : undefined;
        const task = variant
          ? sharedHistoryTask(variant.name, ctrSharedHistoryInputs(batch, dtypes))
          : rowTask(signature, signatureName, ctrBatchInputs(batch, dtypes));
        const outputs = await this.#service.runTask(servable, task);
        const scores = toFloat32(outputs.ctr!, batch.rows, 'ctr');
        const logits =
          req.explain && outputs.logit ? toFloat32(outputs.logit, batch.rows, 'logit') : undefined;
        const results = requests.map((user, u): CtrResult => {
          const start = batch.offsets[u]!;
          const end = batch.offsets[u + 1]!;
          const userScores = scores.subarray(start, end);
          return {
            ...(user.id === undefined ? {} : { id: user.id }),
            scores: userScores,
            ...(req.topK === undefined ? {} : { top: topK(userScores, req.topK) }),
            ...(logits ? { logits: logits.subarray(start, end) } : {}),
          };
        });
        return { id: servable.id, results, batch, scores, requests };
      },
      { refuseWhenOverloaded: true },
    );
  }
}

/** The default signature when it is CTR-shaped, else the first one that is (CTR_ERR_NOT_CTR_MODEL if none). */
function ctrSignatureName(signatures: Readonly<Record<string, SignatureSpec>>, defaultName: string): string {
  const names = [defaultName, ...Object.keys(signatures).filter((n) => n !== defaultName)];
  let firstError: unknown;
  for (const name of names) {
    const signature = signatures[name];
    if (!signature) continue;
    try {
      ctrHistoryLength(signature);
      return name;
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError ?? new CtrError('CTR_ERR_NOT_CTR_MODEL', 'the model has no signatures');
}

function toFloat32(t: HostTensor, rows: number, name: string): Float32Array {
  if (t.values.length !== rows) {
    throw new CtrError(
      'CTR_ERR_EXECUTION',
      `output "${name}" has ${t.values.length} values for ${rows} rows`,
    );
  }
  return t.values instanceof Float32Array ? t.values : Float32Array.from(t.values as ArrayLike<number>);
}

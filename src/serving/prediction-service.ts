import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import {
  buildCtrBatch,
  ctrBatchInputs,
  ctrHistoryLength,
  ctrSharedHistoryInputs,
  topK,
  validateCtrRequests,
  type CtrBatch,
  type CtrUserRequest,
} from '../features/ctr-batch.ts';
import { checkIndexRanges } from '../graph/guard/check-index-ranges.ts';
import type { HostTensor, SignatureSpec } from '../graph/model.ts';
import { oovOf, shapeFitsSignature } from '../graph/tfjs/tfjs-model.ts';
import { Batcher } from './batcher.ts';
import type { ServableManager } from './manager.ts';
import type { ServableId } from './servable.ts';
import type { ServingMetrics } from './serving-metrics.ts';

/**
 * Runs predictions on the manager's servables: acquire → batcher → release, with metrics. Both calls take and
 * return host arrays only (no tensors cross this boundary).
 *
 * Failures: those of ServableManager.acquire, CTR_ERR_SIGNATURE_NOT_FOUND, CTR_ERR_INPUT_MISMATCH,
 * CTR_ERR_INDEX_OUT_OF_RANGE (the signature's index guards, checked per request before batching),
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
  /** Raw user rows as parsed from JSON (validated here: ids, emptiness, limits). */
  readonly requests: readonly CtrUserRequest[] | unknown;
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
  /** The validated requests (ids mapped to oov_id where the model says so). */
  readonly requests: readonly CtrUserRequest[];
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
  readonly #manager: ServableManager;
  readonly #config: ServingConfig;
  readonly #batcher: Batcher;

  constructor(manager: ServableManager, config: ServingConfig, deps: { metrics?: ServingMetrics } = {}) {
    this.#manager = manager;
    this.#config = config;
    this.#batcher = new Batcher(
      {
        ...config.batching,
        predictTimeoutMs: config.predictTimeoutMs,
        maxQueueDelayMs: config.maxQueueDelayMs,
      },
      { metrics: deps.metrics },
    );
  }

  async predict(req: PredictRequest): Promise<PredictResult> {
    const handle = this.#manager.acquire(req.model, req.version);
    try {
      const { servable } = handle;
      const info = servable.model.info;
      const signatureName = req.signatureName ?? info.defaultSignature;
      // A CTR-shaped variant (ModelInfo.sharedHistory) is named like a signature (the shadow teacher uses them).
      const signature =
        info.signatures[signatureName] ??
        Object.values(info.sharedHistory ?? {}).find((variant) => variant.name === signatureName);
      if (!signature) {
        throw new CtrError(
          'CTR_ERR_SIGNATURE_NOT_FOUND',
          `model "${req.model}" has no signature "${signatureName}" (it has ${Object.keys(info.signatures).join(', ')})`,
        );
      }
      checkInputs(signature, req.inputs);
      // Index guards per request, so one bad request fails alone before it joins a batch.
      const inputs = checkIndexRanges(signature.indexRanges, req.inputs, oovOf(info));
      const outputs = await this.#batcher.run(servable, signatureName, inputs);
      return { id: servable.id, outputs, signature };
    } finally {
      handle.release();
    }
  }

  async predictCtr(req: CtrPredictRequest): Promise<CtrPredictResult> {
    if (req.topK !== undefined && !(Number.isInteger(req.topK) && req.topK >= 0)) {
      throw new CtrError(
        'CTR_ERR_BAD_REQUEST',
        `top_k must be an integer >= 0, got ${JSON.stringify(req.topK)}`,
      );
    }
    const handle = this.#manager.acquire(req.model ?? this.#manager.defaultModel, req.version);
    try {
      const { servable } = handle;
      this.#batcher.checkAdmission(servable.id.name);
      const info = servable.model.info;
      const signatureName = ctrSignatureName(info.signatures, info.defaultSignature);
      const signature = info.signatures[signatureName]!;
      const ranges = signature.indexRanges;
      const vocab = { ...info, idRanges: { history: ranges?.history, candidate: ranges?.candidate } };
      const requests = validateCtrRequests(req.requests, vocab, {
        maxUsers: this.#config.maxUsersPerRequest,
        maxCandidates: this.#config.maxCandidatesPerRequest,
      });
      let historyLength = ctrHistoryLength(signature);
      if (historyLength < 0) historyLength = Math.max(1, ...requests.map((r) => r.history.length));
      const batch = buildCtrBatch(requests, historyLength);
      const dtypes = {
        history: signature.inputs.history!.dtype,
        candidate: signature.inputs.candidate!.dtype,
      };
      // Each user's history once when the graph allows it (ModelInfo.sharedHistory); the CtrBatch keeps the
      // per-row history for the shadow replay.
      const variant = this.#config.shareHistory ? info.sharedHistory?.[signatureName] : undefined;
      const outputs = variant
        ? await this.#batcher.run(servable, variant.name, ctrSharedHistoryInputs(batch, dtypes))
        : await this.#batcher.run(servable, signatureName, ctrBatchInputs(batch, dtypes));
      const scores = toFloat32(outputs.ctr!, batch.rows, 'ctr');
      const logits = req.explain && outputs.logit ? toFloat32(outputs.logit, batch.rows, 'logit') : undefined;
      const results = requests.map((user, u): CtrResult => {
        const start = batch.offsets[u]!;
        const end = batch.offsets[u + 1]!;
        const userScores = scores.subarray(start, end);
        return {
          ...(user.id === undefined ? {} : { id: user.id }),
          scores: Array.from(userScores),
          ...(req.topK === undefined ? {} : { top: topK(userScores, req.topK) }),
          ...(logits ? { logits: Array.from(logits.subarray(start, end)) } : {}),
        };
      });
      return { id: servable.id, results, batch, scores, requests };
    } finally {
      handle.release();
    }
  }

  /** Stops taking requests (CTR_ERR_SHUTTING_DOWN) and waits for queued batches to finish. */
  stop(): Promise<void> {
    return this.#batcher.stop();
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

/** Names, dtypes, value counts and contract shapes, so one bad request fails alone before it is batched. */
export function checkInputs(signature: SignatureSpec, inputs: Readonly<Record<string, HostTensor>>): void {
  const bad = (msg: string): never => {
    throw new CtrError('CTR_ERR_INPUT_MISMATCH', `signature "${signature.name}": ${msg}`);
  };
  for (const name of Object.keys(inputs)) {
    if (!(name in signature.inputs)) {
      bad(`unknown input "${name}" (inputs are ${Object.keys(signature.inputs).join(', ')})`);
    }
  }
  for (const [name, spec] of Object.entries(signature.inputs)) {
    const t = inputs[name];
    if (!t) return bad(`missing input "${name}"`);
    if (t.dtype !== spec.dtype) bad(`input "${name}" is ${t.dtype}, the signature wants ${spec.dtype}`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.values.length !== size) bad(`input "${name}" has ${t.values.length} values for shape [${t.shape}]`);
    // The graph's own rule (src/graph/tfjs/tfjs-model.ts), checked here so a bad request fails before it joins a
    // batch: a declared shape binds only when it has a free dim, and TF Serving's rows may drop trailing unit dims.
    if (!shapeFitsSignature(spec.shape, t.shape)) {
      bad(`input "${name}" has shape [${t.shape}], the signature wants [${spec.shape}]`);
    }
  }
}

import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { HostTensor, SignatureSpec } from '../graph/model.ts';
import { checkIndexRanges, oovOf } from '../graph/check-index-ranges.ts';
import { shapeFitsSignature } from '../graph/signature-shape.ts';
import { Batcher } from './batcher.ts';
import { rowTask, type BatchTask } from './batch-task.ts';
import type { ServableManager } from './manager.ts';
import type { Servable, ServableId } from './servable.ts';
import type { ServingMetrics } from './serving-metrics.ts';

/**
 * Runs predictions on the manager's servables: acquire → batcher → release, with metrics. Both calls take and
 * return host arrays only (no tensors cross this boundary).
 *
 * Failures: those of ServableManager.acquire, CTR_ERR_SIGNATURE_NOT_FOUND, CTR_ERR_INPUT_MISMATCH,
 * CTR_ERR_INDEX_OUT_OF_RANGE (the signature's index guards, checked per request before batching),
 * CTR_ERR_QUEUE_FULL (shed at once), CTR_ERR_TIMEOUT, CTR_ERR_EXECUTION; predictCtr adds the CTR validation codes
 * of src/ctr/ctr-batch.ts and CTR_ERR_NOT_CTR_MODEL.
 */

export type PredictRequest = {
  readonly model: string;
  readonly version?: number;
  readonly signatureName?: string;
  readonly inputs: Readonly<Record<string, HostTensor>>;
  /** The batch task for these inputs; default: TF Serving's dim-0 rows (rowTask). */
  readonly task?: (signatureName: string, inputs: Readonly<Record<string, HostTensor>>) => BatchTask;
};

export type PredictResult = {
  readonly id: ServableId;
  readonly outputs: Record<string, HostTensor>;
  readonly signature: SignatureSpec;
};

export class PredictionService {
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
        modelThread: config.modelThread,
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
      // A variant (ModelInfo.variants) is named like a signature (the CTR adapter's shared history uses them).
      const signature =
        info.signatures[signatureName] ??
        Object.values(info.variants ?? {})
          .flatMap((bySignature) => Object.values(bySignature))
          .find((variant) => variant.name === signatureName);
      if (!signature) {
        throw new CtrError(
          'CTR_ERR_SIGNATURE_NOT_FOUND',
          `model "${req.model}" has no signature "${signatureName}" (it has ${Object.keys(info.signatures).join(', ')})`,
        );
      }
      checkInputs(signature, req.inputs);
      // Index guards per request, so one bad request fails alone before it joins a batch.
      const inputs = checkIndexRanges(signature.indexRanges, req.inputs, oovOf(info));
      const task = req.task?.(signatureName, inputs) ?? rowTask(signature, signatureName, inputs);
      const outputs = await this.#batcher.runTask(servable, task);
      return { id: servable.id, outputs, signature };
    } finally {
      handle.release();
    }
  }

  /**
   * CTR_ERR_QUEUE_FULL (counted in ctr_requests_shed_total) when `model`'s queue would refuse any request now, else
   * undefined. Every prediction route asks it when a request arrives, before its body is read and decoded (REST:
   * src/http/early-refusal.ts; gRPC: before the tensors are decoded): under overload most requests are refused, and
   * a refusal that decodes a body first makes every event-loop turn longer (bench/README.md, "Overload").
   */
  admissionRefusal(model: string): CtrError | undefined {
    return this.#batcher.admissionRefusal(model);
  }

  /** Model of `/v1/ctr:predict` when a request names none (config.defaultModel). */
  get defaultModel(): string {
    return this.#manager.defaultModel;
  }

  /**
   * Runs `work` with `model` (at `version`, default the latest) acquired, and releases it when `work` settles.
   * With `refuseWhenOverloaded`, a request the batcher would refuse anyway fails first, before `work` decodes it.
   */
  async withServable<T>(
    model: string,
    version: number | undefined,
    work: (servable: Servable) => Promise<T>,
    opts: { refuseWhenOverloaded?: boolean } = {},
  ): Promise<T> {
    const handle = this.#manager.acquire(model, version);
    try {
      const refused = opts.refuseWhenOverloaded
        ? this.#batcher.admissionRefusal(handle.servable.id.name)
        : undefined;
      if (refused) throw refused;
      return await work(handle.servable);
    } finally {
      handle.release();
    }
  }

  /** Queues `task` on `servable`, which the caller holds (withServable) until this settles. */
  runTask(servable: Servable, task: BatchTask): Promise<Record<string, HostTensor>> {
    return this.#batcher.runTask(servable, task);
  }

  /** Stops taking requests (CTR_ERR_SHUTTING_DOWN) and waits for queued batches to finish. */
  stop(): Promise<void> {
    return this.#batcher.stop();
  }
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

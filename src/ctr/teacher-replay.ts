import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { CtrError } from '../errors/registry.ts';
import type { PredictionService } from '../serving/prediction-service.ts';
import type { ServableManager } from '../serving/manager.ts';
import type { ServableId } from '../serving/servable.ts';
import {
  buildCtrBatch,
  ctrBatchInputs,
  ctrHistoryLength,
  ctrSharedHistoryInputs,
  type CtrBatch,
  type CtrUserRequest,
} from './ctr-batch.ts';
import { sharedHistoryTask } from './shared-history-task.ts';
import { sharedHistorySpec } from './shared-history-variant.ts';

/**
 * Runs the teacher on a student's CTR batch through the normal serving path: acquire the teacher's latest
 * servable (pinning its version for the whole job), feed `PredictionService.predict` chunk by chunk, release.
 *
 * The student's CtrBatch is replayed as is when the teacher takes the same history length L (or any L); otherwise
 * the same requests are rebuilt at the teacher's L (a Transformer teacher often reads a longer history than the
 * student). When the teacher has a shared-history variant (src/ctr/shared-history-variant.ts) it is fed each user's history
 * once, as the student is. Chunks of at most `chunkRows` rows, with a yield to the event loop between them, keep a big teacher
 * call from holding the one tfjs thread while student requests wait.
 *
 * Failures: the teacher's acquire/predict codes (CTR_ERR_MODEL_UNAVAILABLE, CTR_ERR_QUEUE_FULL, ...),
 * CTR_ERR_NOT_CTR_MODEL when the teacher lacks the CTR signature, CTR_ERR_EXECUTION for a mis-shaped output.
 */
export type TeacherRunnerDeps = {
  readonly manager: Pick<ServableManager, 'acquire'>;
  readonly predictions: Pick<PredictionService, 'predict'>;
  readonly chunkRows?: number;
  /** Use the teacher's shared-history variant (each user's history once) when it has one (config.shareHistory). */
  readonly shareHistory?: boolean;
};

export const DEFAULT_TEACHER_CHUNK_ROWS = 512;

export type TeacherScores = { readonly id: ServableId; readonly scores: Float32Array };

/** The shadow scorer's TeacherRunner (src/shadow/shadow-scorer.ts): the teacher on a student's scored batch. */
export function createTeacherRunner(
  deps: TeacherRunnerDeps,
): (
  teacher: string,
  event: { readonly requests: readonly CtrUserRequest[]; readonly batch?: CtrBatch },
) => Promise<TeacherScores> {
  return (teacher, event) => scoreWithTeacher(deps, teacher, event.requests, event.batch);
}

export async function scoreWithTeacher(
  deps: TeacherRunnerDeps,
  teacher: string,
  requests: readonly CtrUserRequest[],
  studentBatch?: CtrBatch,
): Promise<TeacherScores> {
  const handle = deps.manager.acquire(teacher);
  try {
    const { id, model } = handle.servable;
    const signature = model.info.signatures[model.info.defaultSignature];
    if (!signature) {
      throw new CtrError('CTR_ERR_NOT_CTR_MODEL', `teacher ${teacher} has no default signature`);
    }
    const length = ctrHistoryLength(signature);
    const batch =
      studentBatch && (length === -1 || length === studentBatch.historyLength)
        ? studentBatch
        : buildCtrBatch(requests, length === -1 ? longestHistory(requests) : length);
    const dtypes = { history: signature.inputs.history.dtype, candidate: signature.inputs.candidate.dtype };
    const variant = deps.shareHistory ? sharedHistorySpec(model.info, signature.name) : undefined;
    const chunkRows = deps.chunkRows ?? DEFAULT_TEACHER_CHUNK_ROWS;
    const scores = new Float32Array(batch.rows);
    for (let from = 0; from < batch.rows; from += chunkRows) {
      if (from > 0) await yieldToEventLoop();
      const chunk = rowRange(batch, from, Math.min(batch.rows, from + chunkRows));
      const result = await deps.predictions.predict({
        model: teacher,
        version: id.version,
        signatureName: variant?.name ?? signature.name,
        inputs: variant ? ctrSharedHistoryInputs(chunk, dtypes) : ctrBatchInputs(chunk, dtypes),
        ...(variant ? { task: sharedHistoryTask } : {}),
      });
      const ctr = result.outputs.ctr;
      if (!ctr || ctr.values.length !== chunk.rows) {
        throw new CtrError(
          'CTR_ERR_EXECUTION',
          `teacher ${teacher} returned ${ctr?.values.length ?? 'no'} ctr values for ${chunk.rows} rows`,
        );
      }
      scores.set(ctr.values as ArrayLike<number>, from);
    }
    return { id, scores };
  } finally {
    handle.release();
  }
}

/** Rows from..to of a batch, sharing its memory; users cut by the range keep their rows inside it. */
export function rowRange(batch: CtrBatch, from: number, to: number): CtrBatch {
  if (from === 0 && to === batch.rows) return batch;
  const L = batch.historyLength;
  const offsets = [0];
  for (let u = 0; u + 1 < batch.offsets.length; u++) {
    const end = Math.min(to, batch.offsets[u + 1]!);
    if (end > Math.max(from, batch.offsets[u]!)) offsets.push(end - from);
  }
  return {
    rows: to - from,
    historyLength: L,
    history: batch.history.subarray(from * L, to * L),
    candidate: batch.candidate.subarray(from, to),
    offsets: Int32Array.from(offsets),
  };
}

function longestHistory(requests: readonly CtrUserRequest[]): number {
  return Math.max(1, ...requests.map((r) => r.history.length));
}

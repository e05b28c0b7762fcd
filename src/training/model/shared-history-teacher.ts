import * as tf from '@tensorflow/tfjs';
import type { Forward } from '../dataset.ts';
import { eagerOps } from './ops.ts';
import { type TeacherConfig, teacherEncode, teacherForward, teacherHead } from './teacher.ts';

/**
 * The teacher's eager forward pass with each run of identical consecutive history rows encoded once: a ranking
 * user's 101 candidates, or a training click with its sampled non-clicks, share one history, and the encoder is
 * ~99% of the teacher's cost while the head is per candidate. The states are gathered back to one per row and
 * the head (teacherHead) runs on every row: the same function as teacherForward, differentiable (GatherV2's
 * gradient), and equal to it up to float rounding. Batches without repeats run teacherForward itself.
 */
export function sharedHistoryTeacher(w: Record<string, tf.Tensor>, c: TeacherConfig): Forward {
  return (history, candidate) => {
    const B = history.shape[0];
    const L = c.historyLength;
    const h = history.dataSync() as Int32Array;
    const firstOfRun: number[] = [];
    const runOf = new Int32Array(B);
    for (let r = 0; r < B; r++) {
      if (r === 0 || !sameRow(h, r - 1, r, L)) firstOfRun.push(r);
      runOf[r] = firstOfRun.length - 1;
    }
    if (firstOfRun.length === B) return teacherForward(eagerOps, w, c, history, candidate);
    const U = firstOfRun.length;
    const unique = tf.gather(history, tf.tensor1d(firstOfRun, 'int32'));
    const tokens = tf.concat([unique, tf.fill([U, 1], c.vocabSize, 'int32')], 1);
    const hidden = tf.reshape(teacherEncode(eagerOps, w, c, tokens), [U, L + 1, c.dim]);
    const perRow = tf.reshape(tf.gather(hidden, tf.tensor1d(runOf, 'int32')), [-1, c.dim]);
    return teacherHead(eagerOps, w, c, perRow, history, candidate);
  };
}

function sameRow(h: Int32Array, a: number, b: number, L: number): boolean {
  for (let j = 0; j < L; j++) if (h[a * L + j] !== h[b * L + j]) return false;
  return true;
}

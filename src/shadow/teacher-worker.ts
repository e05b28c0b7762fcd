import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { ServingConfig } from '../config/serving-config.ts';
import { loadCtrModel } from '../ctr/shared-history-variant.ts';
import { scoreWithTeacher } from '../ctr/teacher-replay.ts';
import type { CtrBatch, CtrUserRequest } from '../ctr/ctr-batch.ts';
import { initBackend } from '../graph/backend.ts';
import { ServableManager } from '../serving/manager.ts';
import { PredictionService } from '../serving/prediction-service.ts';

/**
 * The shadow teacher's thread (teacher-thread.ts starts it): its own tfjs backend, a ServableManager serving only
 * the teacher models of `config` (watching their base paths like the serving thread's manager does), and the
 * normal replay (src/ctr/teacher-replay.ts) for each job the scorer posts. The thread runs at the lowest CPU
 * priority (docs/shadow.md), so on a busy core the student's thread goes first and the teacher's bounded queue
 * drops instead.
 */
export type TeacherJob = {
  readonly job: number;
  readonly teacher: string;
  readonly requests: readonly CtrUserRequest[];
  readonly batch?: CtrBatch;
};
export type TeacherReply =
  | { readonly job: number; readonly id: { name: string; version: number }; readonly scores: Float32Array }
  | { readonly job: number; readonly error: { readonly code?: string; readonly message: string } };

const { config, lowPriority } = workerData as { config: ServingConfig; lowPriority: boolean };
if (lowPriority) {
  try {
    // /proc/thread-self names this thread's id; setpriority on a thread id sets that thread's nice on Linux.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, 19);
    // nice 19 alone still lets the teacher finish its scheduler slice before a woken student thread runs (EEVDF);
    // SCHED_IDLE is preempted at once by any normal thread (sched(7)). Lowering one's own policy needs no
    // privilege; util-linux's chrt is the one portable way to call sched_setscheduler from Node.
    execFileSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore' });
  } catch {
    // not Linux, or not allowed: the teacher runs at the process's priority
  }
}
await initBackend(config.backend);
const manager = new ServableManager(config, {
  loadModel: loadCtrModel,
  logger: {
    info: (obj, msg) => parentPort!.postMessage({ log: 'info', obj, msg }),
    warn: (obj, msg) => parentPort!.postMessage({ log: 'warn', obj, msg }),
    error: (obj, msg) => parentPort!.postMessage({ log: 'error', obj, msg }),
  },
});
const predictions = new PredictionService(manager, config);
const deps = { manager, predictions, shareHistory: config.shareHistory };
parentPort!.on('message', (msg: TeacherJob | 'stop' | 'tensors') => {
  if (msg === 'tensors') {
    parentPort!.postMessage({ tensors: tf.memory().numTensors });
    return;
  }
  if (msg === 'stop') {
    void predictions
      .stop()
      .then(() => manager.stop())
      .finally(() => parentPort!.close());
    return;
  }
  scoreWithTeacher(deps, msg.teacher, msg.requests, msg.batch).then(
    ({ id, scores }) => {
      const reply: TeacherReply = { job: msg.job, id: { name: id.name, version: id.version }, scores };
      parentPort!.postMessage(reply, [scores.buffer as ArrayBuffer]);
    },
    (err: unknown) => {
      const e = err as { code?: unknown; message?: unknown };
      const reply: TeacherReply = {
        job: msg.job,
        error: { code: typeof e?.code === 'string' ? e.code : undefined, message: String(e?.message ?? err) },
      };
      parentPort!.postMessage(reply);
    },
  );
});
await manager.start();
parentPort!.postMessage('ready');

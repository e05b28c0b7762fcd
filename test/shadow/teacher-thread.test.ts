import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../../src/config/serving-config.ts';
import { buildCtrBatch, type CtrUserRequest } from '../../src/ctr/ctr-batch.ts';
import { CtrError } from '../../src/errors/registry.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { ShadowScorer } from '../../src/shadow/shadow-scorer.ts';
import { TeacherThread } from '../../src/shadow/teacher-thread.ts';
import { ctrTraffic, ctrWeights, writeCtrModel, type CtrModelSpec } from '../helpers/ctr-models.ts';

/**
 * The shadow teacher on its own worker thread (src/shadow/teacher-thread.ts): it answers the numbers of the
 * teacher's math computed here in float64 (not through tfjs), keeps the scorer's bounded queue and drop counting,
 * leaks no tensors in the thread, and reports a teacher it does not have with the manager's code.
 */
const TEACHER: CtrModelSpec = { seed: 11, historyLength: 6 };
const L = TEACHER.historyLength;

/** The reference student's math (bench-reference README), plainly: mean over all L positions, MLP, sigmoid. */
function expectedScores(requests: readonly CtrUserRequest[]): number[] {
  const w = ctrWeights(TEACHER);
  const D = w.embeddingDim;
  const H1 = w.b1.length;
  const H2 = w.b2.length;
  const emb = (id: number) => Array.from(w.E.subarray(id * D, (id + 1) * D));
  const dense = (x: number[], W: Float32Array, b: Float32Array, n: number, relu: boolean) =>
    Array.from({ length: n }, (_, j) => {
      let s = b[j]!;
      for (let i = 0; i < x.length; i++) s += x[i]! * W[i * n + j]!;
      return relu ? Math.max(0, s) : s;
    });
  const out: number[] = [];
  for (const r of requests) {
    const ids = r.history.slice(-L);
    const h = new Array<number>(D).fill(0);
    for (const id of ids) emb(id).forEach((v, k) => (h[k]! += v / L));
    for (const c of r.candidates) {
      const e = emb(c);
      const x = [...h, ...e, ...h.map((v, k) => v * e[k]!)];
      const z = dense(dense(dense(x, w.W1, w.b1, H1, true), w.W2, w.b2, H2, true), w.W3, w.b3, 1, false)[0]!;
      out.push(1 / (1 + Math.exp(-z)));
    }
  }
  return out;
}

describe('the shadow teacher thread', () => {
  let base: string;
  let thread: TeacherThread;
  before(async () => {
    // The serving thread's own backend, so that tf.memory() here counts its tensors (none must appear).
    await initBackend('wasm');
    base = await mkdtemp(join(tmpdir(), 'ctr-teacher-thread-'));
    await writeCtrModel(base, 'teacher', TEACHER);
    await writeCtrModel(base, 'student', { ...TEACHER, noise: 0.1 });
    const config = loadConfig({
      flags: { file_system_poll_wait_seconds: '0', log_level: 'silent', workers: '1' },
      modelConfigFile: {
        path: 'models.json',
        text: JSON.stringify({
          model_config_list: [
            { name: 'student', base_path: join(base, 'student'), shadow_model: 'teacher' },
            { name: 'teacher', base_path: join(base, 'teacher') },
          ],
        }),
      },
    });
    thread = new TeacherThread(config, ['teacher']);
    await thread.ready();
  });
  after(async () => {
    await thread?.stop();
    await rm(base, { recursive: true, force: true });
  });

  test("answers the teacher's own numbers for a student's batch", async () => {
    const requests = ctrTraffic(3, 6);
    const before = tf.memory().numTensors;
    const { id, scores } = await thread.run('teacher', {
      id: { name: 'student', version: 1 },
      scores: [],
      requests,
      batch: buildCtrBatch(requests, L),
    });
    assert.deepEqual(id, { name: 'teacher', version: 1 });
    const want = expectedScores(requests);
    assert.equal(scores.length, want.length);
    scores.forEach((s, i) => assert.ok(Math.abs(s - want[i]!) <= 1e-5, `row ${i}: ${s} vs ${want[i]}`));
    assert.equal(tf.memory().numTensors, before, 'nothing runs on the serving thread');
  });

  test('leaks no tensors in the thread across jobs', async () => {
    const job = (seed: number) => {
      const requests = ctrTraffic(seed, 4);
      return thread.run('teacher', { id: { name: 'student', version: 1 }, scores: [], requests });
    };
    await job(1);
    const start = await thread.numTensors();
    for (let s = 2; s < 12; s++) await job(s);
    assert.equal(await thread.numTensors(), start);
  });

  test("a teacher the thread does not serve fails with the manager's code", async () => {
    await assert.rejects(
      thread.run('nope', { id: { name: 'student', version: 1 }, scores: [], requests: ctrTraffic(5, 1) }),
      (err: unknown) => err instanceof CtrError && err.code === 'CTR_ERR_MODEL_NOT_FOUND',
    );
  });

  test('the scorer keeps its bounded queue: one job runs, one waits, the rest are dropped and counted', async () => {
    const scorer = new ShadowScorer({
      pairs: [{ student: 'student', teacher: 'teacher', sampleRate: 1 }],
      queueSize: 1,
      windowSize: 1000,
      teacherTimeoutMs: 30_000,
      runTeacher: thread.run,
    });
    const requests = ctrTraffic(9, 3);
    const scores = expectedScores(requests);
    for (let i = 0; i < 20; i++) scorer.offer({ id: { name: 'student', version: 1 }, scores, requests });
    await scorer.idle();
    const { counts } = scorer.snapshot()[0]!;
    assert.equal(counts.sampled, 20);
    assert.equal(counts.scored, 2);
    assert.equal(counts.dropped, 18);
    assert.equal(counts.errors, 0);
  });

  test('runs at the idle scheduling policy, so any student thread preempts it at once (Linux)', (t) => {
    if (process.platform !== 'linux') return t.skip('scheduling policies are read from /proc (Linux only)');
    try {
      execFileSync('chrt', ['--max'], { stdio: 'ignore' });
    } catch {
      return t.skip('util-linux chrt is not installed: the thread falls back to nice 19');
    }
    // proc(5): after the ")" ending comm, field 3 is the state; nice is field 19, policy field 41 (SCHED_IDLE = 5).
    const threads = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
    });
    const idle = threads.filter((th) => th.policy === 5);
    assert.equal(idle.length, 1, 'exactly one thread (the teacher) runs at SCHED_IDLE');
    assert.equal(idle[0]!.nice, 19);
    assert.equal(
      threads.filter((th) => th.policy === 0).length,
      threads.length - 1,
      'all others stay SCHED_OTHER',
    );
  });
});

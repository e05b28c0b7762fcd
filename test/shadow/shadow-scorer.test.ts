import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs-core';
import { Registry } from 'prom-client';
import { CtrError } from '../../src/errors/registry.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { ShadowMetrics } from '../../src/shadow/shadow-metrics.ts';
import { shadowPairsJson } from '../../src/shadow/shadow-pair.ts';
import {
  ShadowScorer,
  type ShadowEvent,
  type ShadowRequest,
  type TeacherRunner,
} from '../../src/shadow/shadow-scorer.ts';
import { assertClose } from '../helpers/fixtures.ts';

await initBackend();

/**
 * A small real CTR model computed by tfjs: logit = w·(mean history id) − v·candidate + b over ids scaled to
 * [0, 1]. The teacher and the student are the same function with different weights, so a "perturbed student" is
 * a genuinely different model, not canned numbers.
 */
function ctrModel(w: number, v: number, b: number) {
  return (requests: readonly ShadowRequest[]): Float32Array => {
    const hist = requests.flatMap((r) => r.candidates.map(() => r.history.reduce((a, x) => a + x, 0) / 100));
    const cand = requests.flatMap((r) => r.candidates.map((c) => c / 100));
    return tf.tidy(() => {
      const logit = tf.add(tf.sub(tf.mul(tf.tensor1d(hist), w), tf.mul(tf.tensor1d(cand), v)), b);
      return tf.sigmoid(logit).dataSync() as Float32Array;
    });
  };
}

const teacherModel = ctrModel(0.8, 3, 0.5);
const studentModel = ctrModel(0.6, 2.5, 0.3);

function makeRequests(seed: number, users: number): ShadowRequest[] {
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) % 100;
  return Array.from({ length: users }, (_, u) => ({
    id: `u${u}`,
    history: Array.from({ length: 1 + (next() % 5) }, next),
    candidates: Array.from({ length: 3 + (next() % 20) }, next),
  }));
}

function event(requests: ShadowRequest[], student = studentModel): ShadowEvent {
  return { id: { name: 'student', version: 1 }, scores: student(requests), requests };
}

const realTeacher: TeacherRunner = async (_name, ev) => ({
  id: { name: 'teacher', version: 7 },
  scores: teacherModel(ev.requests),
});

function scorer(
  runTeacher: TeacherRunner,
  extra: Partial<ConstructorParameters<typeof ShadowScorer>[0]> = {},
) {
  return new ShadowScorer({
    pairs: [{ student: 'student', teacher: 'teacher', sampleRate: 1 }],
    defaultModel: 'student',
    queueSize: 100,
    windowSize: 10_000,
    topK: 5,
    teacherTimeoutMs: 1000,
    runTeacher,
    ...extra,
  });
}

test('a student equal to its teacher shows perfect agreement in GET /v1/shadow JSON', async () => {
  const s = scorer(realTeacher);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) s.offer(event(makeRequests(i + 1, 4), teacherModel));
  await s.idle();
  assert.equal(tf.memory().numTensors, before);
  const [pair] = shadowPairsJson([s.snapshot()]).pairs;
  assert.deepEqual(pair.requests, { sampled: 5, scored: 5, dropped: 0, errors: 0, timeouts: 0 });
  assert.deepEqual(pair.student, { name: 'student', version: '1' });
  assert.deepEqual(pair.teacher, { name: 'teacher', version: '7' });
  for (const stats of [pair.cumulative, pair.window]) {
    assert.equal(stats.mae, 0);
    assert.equal(stats.topk_overlap, 1);
    assert.equal(stats.pearson, 1);
    assert.equal(stats.mean_ctr_student, stats.mean_ctr_teacher);
  }
  assert.equal(pair.window.spearman, 1);
});

test('a perturbed student gets stats equal to those computed from both models on the same requests', async () => {
  const s = scorer(realTeacher);
  const all: ShadowRequest[] = [];
  for (let i = 0; i < 6; i++) {
    const reqs = makeRequests(100 + i, 3);
    all.push(...reqs);
    s.offer(event(reqs));
  }
  await s.idle();
  const st = Array.from(studentModel(all));
  const te = Array.from(teacherModel(all));
  const n = st.length;
  const mae = st.reduce((a, x, i) => a + Math.abs(x - te[i]), 0) / n;
  const ms = st.reduce((a, b) => a + b, 0) / n;
  const mt = te.reduce((a, b) => a + b, 0) / n;
  const cov = st.reduce((a, x, i) => a + (x - ms) * (te[i] - mt), 0);
  const vs = st.reduce((a, x) => a + (x - ms) ** 2, 0);
  const vt = te.reduce((a, x) => a + (x - mt) ** 2, 0);
  const [pair] = shadowPairsJson([s.snapshot()]).pairs;
  assert.equal(pair.predictions, n);
  assertClose(
    [pair.cumulative.mae!, pair.cumulative.pearson!, pair.cumulative.mean_ctr_student!, pair.window.mae!],
    [mae, cov / Math.sqrt(vs * vt), ms, mae],
    1e-9,
    1e-12,
  );
  assert.ok(mae > 0.01, `the perturbed student differs (mae ${mae})`);
});

test('requests are sampled at the configured rate from the injected random source', async () => {
  const draws = [0.01, 0.5, 0.2, 0.99, 0.29, 0.3, 0.7];
  let i = 0;
  const s = scorer(realTeacher, {
    pairs: [{ student: 'student', teacher: 'teacher', sampleRate: 0.3 }],
    random: () => draws[i++ % draws.length],
  });
  for (let k = 0; k < draws.length; k++) s.offer(event(makeRequests(k + 1, 1)));
  s.offer({ ...event(makeRequests(9, 1)), id: { name: 'unshadowed', version: 1 } });
  await s.idle();
  const [pair] = shadowPairsJson([s.snapshot()]).pairs;
  assert.equal(pair.requests.sampled, 3); // 0.01, 0.2, 0.29 < 0.3
  assert.equal(pair.requests.scored, 3);
});

test('a slow teacher fills the bounded queue and further samples are dropped and counted', async () => {
  const registry = new Registry();
  const holder: { s?: ShadowScorer } = {};
  const metrics = new ShadowMetrics(registry, () => holder.s?.gaugeStats());
  const slow: TeacherRunner = async (name, ev) => {
    await sleep(30);
    return realTeacher(name, ev);
  };
  const s = (holder.s = scorer(slow, { queueSize: 2, metrics }));
  const events = Array.from({ length: 10 }, (_, k) => event(makeRequests(k + 1, 2)));
  const scores = events.map((e) => Array.from(e.scores));
  for (const e of events) s.offer(e);
  // One job left the queue for the worker at once; two wait; seven found the queue full.
  assert.equal(s.queueLength, 2);
  await s.idle();
  const [pair] = shadowPairsJson([s.snapshot()]).pairs;
  assert.deepEqual(pair.requests, { sampled: 10, scored: 3, dropped: 7, errors: 0, timeouts: 0 });
  assert.deepEqual(
    events.map((e) => Array.from(e.scores)),
    scores,
    'student scores are untouched',
  );
  const text = await registry.metrics();
  assert.match(text, /ctr_shadow_total\{outcome="dropped"\} 7/);
  assert.match(text, /ctr_shadow_total\{outcome="scored"\} 3/);
  assert.match(text, /ctr_shadow_agreement\{stat="pearson"\} 0\.\d+/);
  assert.match(text, new RegExp(`ctr_shadow_abs_diff_count ${pair.predictions}`));
});

test('a failing teacher and a timed-out teacher are counted and logged, never thrown to the caller', async () => {
  const warnings: object[] = [];
  const logger = { warn: (o: object) => warnings.push(o), error: (o: object) => warnings.push(o) };
  const failing = scorer(
    () => {
      throw Object.assign(new Error('teacher exploded'), { code: 'CTR_ERR_EXECUTION' });
    },
    { logger, logEveryMs: 0 },
  );
  const rejecting = scorer(() => Promise.reject(new Error('no teacher')), { logger, logEveryMs: 60_000 });
  let settled = 0;
  const hanging = scorer(
    async (name, ev) => {
      await sleep(80);
      settled++;
      return realTeacher(name, ev);
    },
    { teacherTimeoutMs: 10, logger, logEveryMs: 0 },
  );
  for (const s of [failing, rejecting, hanging]) {
    for (let k = 0; k < 3; k++) assert.doesNotThrow(() => s.offer(event(makeRequests(k + 1, 1))));
  }
  await Promise.all([failing.idle(), rejecting.idle(), hanging.idle()]);
  const counts = [failing, rejecting, hanging].map((s) => shadowPairsJson([s.snapshot()]).pairs[0].requests);
  assert.deepEqual(counts[0], { sampled: 3, scored: 0, dropped: 0, errors: 3, timeouts: 0 });
  assert.deepEqual(counts[1], { sampled: 3, scored: 0, dropped: 0, errors: 3, timeouts: 0 });
  assert.deepEqual(counts[2], { sampled: 3, scored: 0, dropped: 0, errors: 0, timeouts: 3 });
  assert.equal(settled, 3, 'the worker waited for each timed-out teacher run before the next');
  assert.equal(shadowPairsJson([hanging.snapshot()]).pairs[0].predictions, 0);
  // 3 from failing (every failure), 1 from rejecting (throttled), 3 from hanging.
  assert.equal(warnings.length, 7);
  assert.equal((warnings[0] as { code: string }).code, 'CTR_ERR_EXECUTION');
});

test('a new teacher version starts the agreement afresh while the counts go on', async () => {
  let version = 1;
  const s = scorer(async (name, ev) => ({ ...(await realTeacher(name, ev)), id: { name, version } }));
  s.offer(event(makeRequests(1, 2)));
  await s.idle();
  version = 2;
  const reqs = makeRequests(2, 1);
  s.offer(event(reqs));
  await s.idle();
  const [pair] = shadowPairsJson([s.snapshot()]).pairs;
  assert.equal(pair.teacher.version, '2');
  assert.equal(pair.requests.scored, 2);
  assert.equal(pair.predictions, reqs[0].candidates.length);
});

test('stop() forgets queued samples, waits for the running one and refuses new offers', async () => {
  const s = scorer(async (name, ev) => {
    await sleep(20);
    return realTeacher(name, ev);
  });
  for (let k = 0; k < 5; k++) s.offer(event(makeRequests(k + 1, 1)));
  await s.stop();
  s.offer(event(makeRequests(9, 1)));
  const [pair] = shadowPairsJson([s.snapshot()]).pairs;
  assert.equal(pair.requests.sampled, 5);
  assert.equal(pair.requests.scored, 1);
  assert.equal(s.queueLength, 0);
});

test('an offer that lands while the worker is finishing its last job is still scored', async () => {
  // The offer is made a few microtasks after a teacher run settles, at every depth up to 12, which covers the gap
  // between the worker's last look at the queue and its exit.
  for (let depth = 0; depth <= 12; depth++) {
    const holder: { s?: ShadowScorer } = {};
    let first = true;
    const s = (holder.s = scorer(async (name, ev) => {
      const result = await realTeacher(name, ev);
      if (first) {
        first = false;
        let p = Promise.resolve();
        for (let i = 0; i < depth; i++) p = p.then(() => undefined);
        void p.then(() => holder.s!.offer(event(makeRequests(99, 1))));
      }
      return result;
    }));
    s.offer(event(makeRequests(1, 1)));
    await s.idle();
    await sleep(5);
    await s.idle();
    const [pair] = shadowPairsJson([s.snapshot()]).pairs;
    assert.equal(pair.requests.scored, 2, `offer ${depth} microtasks after the teacher settled`);
  }
});

test("a job the teacher's batch queue sheds counts as dropped, not as a teacher error", async () => {
  const s = scorer(() => Promise.reject(new CtrError('CTR_ERR_QUEUE_FULL', 'teacher queue full')));
  s.offer(event(makeRequests(1, 1)));
  await s.idle();
  const [pair] = shadowPairsJson([s.snapshot()]).pairs;
  assert.deepEqual(pair.requests, { sampled: 1, scored: 0, dropped: 1, errors: 0, timeouts: 0 });
});

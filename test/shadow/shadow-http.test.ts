import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildCtrBatch, ctrBatchInputs, type CtrUserRequest } from '../../src/ctr/ctr-batch.ts';
import { loadCtrModel } from '../../src/ctr/shared-history-variant.ts';
import type { LoadedModel } from '../../src/graph/model.ts';
import { fixture, skipWithoutFixtures, assertClose } from '../helpers/fixtures.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { appFor, call, post, type ModelSpec } from '../helpers/app-helpers.ts';
import { ctrTraffic, writeCtrModel, type CtrModelSpec } from '../helpers/ctr-models.ts';

/**
 * Shadow scoring end to end: real frozen CTR graphs loaded through the normal model path, CTR requests through
 * the HTTP API, the teacher run after each reply, and GET /v1/shadow checked against statistics computed here,
 * independently, from both models' own predictions.
 */
const TEACHER: CtrModelSpec = { seed: 7, historyLength: 8 };

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'ctr-shadow-'));
});
after(() => rm(base, { recursive: true, force: true }));

async function models(student: CtrModelSpec, teacher: CtrModelSpec = TEACHER): Promise<ModelSpec[]> {
  const dir = await mkdtemp(join(base, 'repo-'));
  await writeCtrModel(dir, 'ctr-student', student);
  await writeCtrModel(dir, 'ctr-teacher', teacher);
  return [
    { name: 'ctr-student', basePath: join(dir, 'ctr-student') },
    { name: 'ctr-teacher', basePath: join(dir, 'ctr-teacher') },
  ];
}

const SHADOW_FLAGS = { default_model: 'ctr-student', shadow_model: 'ctr-teacher', shadow_sample_rate: '1' };

type Pair = {
  requests: { sampled: number; scored: number; dropped: number; errors: number; timeouts: number };
  predictions: number;
  cumulative: Record<string, number | null>;
  window: Record<string, number | null>;
  teacher: { name: string; version: string | null };
};

/** Polls GET /v1/shadow until `sampled` requests have all been dealt with (scored, dropped or failed). */
async function settled(app: FastifyInstance, sampled: number): Promise<Pair> {
  for (let i = 0; i < 500; i++) {
    const res = await call(app, { method: 'GET', url: '/v1/shadow' });
    assert.equal(res.status, 200);
    const pair = res.body.pairs[0] as Pair;
    const r = pair.requests;
    if (r.sampled >= sampled && r.scored + r.dropped + r.errors + r.timeouts === r.sampled) return pair;
    await sleep(10);
  }
  throw new Error('shadow scoring did not settle');
}

async function predictAll(app: FastifyInstance, batches: CtrUserRequest[][]): Promise<string[]> {
  const texts: string[] = [];
  for (const requests of batches) {
    const res = await call(app, post('/v1/ctr:predict', { requests, top_k: 3 }));
    assert.equal(res.status, 200, res.text);
    texts.push(res.text);
  }
  return texts;
}

/** A model's probabilities for all users' candidates, straight from the loaded graph (no server). */
async function direct(dir: string, requests: CtrUserRequest[], L: number): Promise<number[]> {
  const model = await loadCtrModel(dir);
  try {
    const out = await model.predictHost(ctrBatchInputs(buildCtrBatch(requests, L)));
    return Array.from(out.ctr!.values as Float32Array);
  } finally {
    model.dispose();
  }
}

// Reference statistics, written out plainly (not src/shadow's code).
const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
function pearson(x: number[], y: number[]): number {
  const mx = mean(x);
  const my = mean(y);
  const c = x.reduce((a, xi, i) => a + (xi - mx) * (y[i] - my), 0);
  return (
    c / Math.sqrt(x.reduce((a, xi) => a + (xi - mx) ** 2, 0) * y.reduce((a, yi) => a + (yi - my) ** 2, 0))
  );
}
const ranks = (x: number[]) =>
  x.map((v) => x.filter((w) => w < v).length + (x.filter((w) => w === v).length + 1) / 2);
function kl(t: number[], s: number[]): number {
  const c = (p: number) => Math.min(1 - 1e-7, Math.max(1e-7, p));
  return mean(
    t.map((ti, i) => c(ti) * Math.log(c(ti) / c(s[i])) + (1 - c(ti)) * Math.log((1 - c(ti)) / (1 - c(s[i])))),
  );
}
function topkOverlap(requests: CtrUserRequest[], s: number[], t: number[], k = 10): number {
  let at = 0;
  const overlaps = requests.map((r) => {
    const n = r.candidates.length;
    const kk = Math.min(k, n);
    const top = (x: number[]) =>
      x
        .slice(at, at + n)
        .map((v, i) => [v, i])
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, kk)
        .map((p) => p[1]);
    const tt = new Set(top(t));
    const o = top(s).filter((i) => tt.has(i)).length / kk;
    at += n;
    return o;
  });
  return mean(overlaps);
}

describe('shadow scoring through the HTTP API', () => {
  test('a student identical to its teacher shows perfect agreement', async () => {
    const spec = { seed: 7, historyLength: 8 };
    const app = await appFor(await models(spec, spec), SHADOW_FLAGS);
    try {
      const batches = [1, 2, 3, 4].map((s) => ctrTraffic(s, 3));
      await predictAll(app, batches);
      const pair = await settled(app, 4);
      assert.equal(pair.requests.scored, 4);
      assert.equal(pair.teacher.version, '1');
      for (const stats of [pair.cumulative, pair.window]) {
        assert.equal(stats.mae, 0);
        assert.ok(Math.abs(stats.kl!) < 1e-12);
        assertClose([stats.pearson!, stats.topk_overlap!], [1, 1], 0, 1e-12);
        assert.equal(stats.mean_ctr_student, stats.mean_ctr_teacher);
      }
      assert.equal(pair.window.spearman, 1);
    } finally {
      await app.close();
    }
  });

  test('a perturbed student with a shorter history gets the statistics of both models computed here', async () => {
    const student = { seed: 7, historyLength: 5, noise: 0.2 };
    const repo = await models(student);
    const app = await appFor(repo, SHADOW_FLAGS);
    try {
      const batches = [11, 12, 13, 14, 15].map((s) => ctrTraffic(s, 4));
      await predictAll(app, batches.slice(0, 1));
      await settled(app, 1);
      const tensors = await app.ctr.numTensors();
      await predictAll(app, batches.slice(1));
      const pair = await settled(app, 5);
      assert.equal(await app.ctr.numTensors(), tensors, 'shadow scoring leaks no tensors');
      const all = batches.flat();
      const s = await direct(join(repo[0].basePath, '1'), all, 5);
      const t = await direct(join(repo[1].basePath, '1'), all, 8);
      assert.equal(pair.predictions, s.length);
      const want = {
        mae: mean(s.map((x, i) => Math.abs(x - t[i]))),
        kl: kl(t, s),
        pearson: pearson(s, t),
        topk_overlap: topkOverlap(all, s, t),
        mean_ctr_student: mean(s),
        mean_ctr_teacher: mean(t),
      };
      for (const [key, value] of Object.entries(want)) {
        assertClose([pair.cumulative[key]!], [value], 1e-5, 1e-7);
        assertClose([pair.window[key]!], [value], 1e-5, 1e-7);
      }
      assertClose([pair.window.spearman!], [pearson(ranks(s), ranks(t))], 1e-5, 1e-7);
      assert.ok(want.mae > 0.005, `the perturbed student differs from the teacher (mae ${want.mae})`);

      const metrics = await call(app, { method: 'GET', url: '/metrics' });
      assert.match(metrics.text, /ctr_shadow_total\{outcome="scored"\} 5\n/);
      const gauge = /ctr_shadow_agreement\{stat="pearson"\} ([\d.e-]+)/.exec(metrics.text);
      assertClose([Number(gauge?.[1])], [want.pearson], 1e-5, 1e-7);
    } finally {
      await app.close();
    }
  });

  test('"explain": true returns the teacher\'s scores beside the student\'s, within a size limit', async () => {
    const repo = await models({ seed: 7, historyLength: 5, noise: 0.2 });
    const app = await appFor(repo, SHADOW_FLAGS);
    try {
      const requests = ctrTraffic(21, 3);
      const res = await call(app, post('/v1/ctr:predict', { requests, explain: true }));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.teacher, { name: 'ctr-teacher', version: '1' });
      const t = await direct(join(repo[1].basePath, '1'), requests, 8);
      assertClose(
        res.body.results.flatMap((r: { teacher_scores: number[] }) => r.teacher_scores),
        t,
        1e-6,
        1e-7,
      );
      const plain = await call(app, post('/v1/ctr:predict', { requests }));
      assert.equal(plain.body.teacher, undefined);
      assert.deepEqual(
        res.body.results.map((r: { scores: number[] }) => r.scores),
        plain.body.results.map((r: { scores: number[] }) => r.scores),
      );
      const big = [{ history: [1], candidates: Array.from({ length: 1001 }, (_, i) => 1 + (i % 150)) }];
      const tooBig = await call(app, post('/v1/ctr:predict', { requests: big, explain: true }));
      assert.equal(tooBig.status, 413);
      assert.equal(tooBig.body.code, 'CTR_ERR_EXPLAIN_TOO_LARGE');
      const ok = await call(app, post('/v1/ctr:predict', { requests: big }));
      assert.equal(ok.status, 200);
      // Sample rate 1: the two plain requests are shadow traffic, the explained ones are not.
      const pair = await settled(app, 2);
      assert.equal(pair.requests.sampled, 2, 'explain is not shadow traffic');
    } finally {
      await app.close();
    }
  });

  test('a slow teacher leaves student answers unchanged and drops what the bounded queue cannot hold', async () => {
    const repo = await models({ seed: 7, historyLength: 5, noise: 0.2 });
    const batches = [31, 32, 33, 34, 35, 36, 37, 38].map((s) => ctrTraffic(s, 2));
    const off = await appFor(repo, { ...SHADOW_FLAGS, shadow_sample_rate: '0' });
    const expected = await predictAll(off, batches);
    await off.close();
    const slowTeacher = async (path: string): Promise<LoadedModel> => {
      const model = await loadCtrModel(path);
      if (!path.includes('ctr-teacher')) return model;
      return {
        info: model.info,
        predict: async (inputs, sig) => (await sleep(150), model.predict(inputs, sig)),
        predictHost: async (inputs, sig) => (await sleep(150), model.predictHost(inputs, sig)),
        dispose: () => model.dispose(),
      };
    };
    const app = await appFor(repo, { ...SHADOW_FLAGS, shadow_queue_size: '1' }, { loadModel: slowTeacher });
    try {
      const answers = await Promise.all(
        batches.map(
          async (requests) => (await call(app, post('/v1/ctr:predict', { requests, top_k: 3 }))).text,
        ),
      );
      assert.deepEqual(answers, expected);
      const pair = await settled(app, batches.length);
      assert.equal(pair.requests.sampled, 8);
      assert.ok(pair.requests.dropped >= 1, `dropped ${pair.requests.dropped}`);
      assert.equal(pair.requests.scored + pair.requests.dropped, 8);
      const metrics = await call(app, { method: 'GET', url: '/metrics' });
      assert.match(
        metrics.text,
        new RegExp(`ctr_shadow_total\\{outcome="dropped"\\} ${pair.requests.dropped}\\n`),
      );
    } finally {
      await app.close();
    }
  });

  test(
    'a teacher that is not a CTR model fails every shadow job, counted, never seen by clients',
    {
      skip: skipWithoutFixtures,
    },
    async () => {
      const [student] = await models({ seed: 7, historyLength: 5 });
      const teacher = { name: 'ctr-teacher', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') };
      const batches = [41, 42, 43].map((s) => ctrTraffic(s, 2));
      const off = await appFor([student, teacher], { ...SHADOW_FLAGS, shadow_sample_rate: '0' });
      const expected = await predictAll(off, batches);
      await off.close();
      const app = await appFor([student, teacher], SHADOW_FLAGS);
      try {
        assert.deepEqual(await predictAll(app, batches), expected);
        const pair = await settled(app, 3);
        assert.deepEqual(pair.requests, { sampled: 3, scored: 0, dropped: 0, errors: 3, timeouts: 0 });
        assert.equal(pair.predictions, 0);
        const metrics = await call(app, { method: 'GET', url: '/metrics' });
        assert.match(metrics.text, /ctr_shadow_total\{outcome="error"\} 3\n/);
        assert.doesNotMatch(metrics.text, /ctr_shadow_agreement\{/);
        const explain = await call(app, post('/v1/ctr:predict', { requests: batches[0], explain: true }));
        assert.equal(explain.status, 400);
        assert.equal(explain.body.code, 'CTR_ERR_NOT_CTR_MODEL');
      } finally {
        await app.close();
      }
    },
  );
  test('with no model flags the student serves with the teacher as its shadow at rate 0.05', async () => {
    const repo = await models({ seed: 7, historyLength: 8 });
    const dir = join(repo[0].basePath, '..');
    const config = loadConfig({
      flags: { log_level: 'silent', file_system_poll_wait_seconds: '0' },
      defaultModelsDir: { path: dir, names: ['ctr-teacher', 'ctr-student'] },
      cpuCount: 1,
    });
    const app = await buildApp(config, { logger: false });
    try {
      const res = await call(app, { method: 'GET', url: '/v1/shadow' });
      assert.equal(res.body.pairs.length, 1);
      const pair = res.body.pairs[0];
      assert.deepEqual(
        [pair.student.name, pair.teacher.name, pair.sample_rate],
        ['ctr-student', 'ctr-teacher', 0.05],
      );
      const ctr = await call(app, post('/v1/ctr:predict', { requests: ctrTraffic(51, 1) }));
      assert.equal(ctr.body.model.name, 'ctr-student');
    } finally {
      await app.close();
    }
  });
});

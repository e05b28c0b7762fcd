// Agreement of a student with its teacher on the data generator's traffic, measured through shadow scoring itself.
//   node --import tsx bench/shadow-agreement.ts [--models=models] [--seed=1] [--requests=500] [--candidates=50]
// Builds the app on the model repository with the teacher as shadow at sample rate 1, sends CTR requests drawn
// from the synthetic click world (src/training/data: a user's click sequence as history; candidates: the user's
// likely next click plus items drawn by popularity, as the click log draws them), waits until every request
// was scored by the teacher, and prints GET /v1/shadow plus a Markdown table for models/README.md.
// --seed must be the seed the models were distilled with (the click world is drawn from it).
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config/serving-config.ts';
import { ClickWorld, DEFAULT_CLICK_MODEL } from '../src/training/data/click-model.ts';
import { Prng } from '../src/training/data/prng.ts';

const { values: opts } = parseArgs({
  options: {
    models: { type: 'string', default: 'models' },
    seed: { type: 'string', default: '1' },
    requests: { type: 'string', default: '500' },
    candidates: { type: 'string', default: '50' },
    student: { type: 'string', default: 'ctr-student' },
    teacher: { type: 'string', default: 'ctr-teacher' },
  },
});

const modelsDir = resolve(opts.models);
const names = (await readdir(modelsDir, { withFileTypes: true }))
  .filter((e) => e.isDirectory())
  .map((e) => e.name);
const config = loadConfig({
  flags: {
    default_model: opts.student,
    shadow_model: opts.teacher,
    shadow_sample_rate: '1',
    shadow_queue_size: String(Number(opts.requests) + 1),
    shadow_window_size: String(Number(opts.requests) * Number(opts.candidates)),
    file_system_poll_wait_seconds: '0',
    log_level: 'warn',
    workers: '1',
  },
  defaultModelsDir: { path: modelsDir, names },
});
const app = await buildApp(config);
try {
  const seed = Number(opts.seed);
  const world = new ClickWorld(DEFAULT_CLICK_MODEL, new Prng(seed));
  const rng = new Prng(seed + 7919); // traffic differs from the training log's draws
  const { historyLength: L, minHistory, users } = DEFAULT_CLICK_MODEL;
  const seq = new Int32Array(L + 1);
  const n = Number(opts.requests);
  for (let i = 0; i < n; i++) {
    const u = rng.int(users);
    const len = minHistory + rng.int(L - minHistory + 1);
    world.sampleSequence(u, len + 1, rng, seq, 0);
    const candidates = [seq[len]!];
    while (candidates.length < Number(opts.candidates)) candidates.push(world.randomItem(rng));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/ctr:predict',
      payload: { requests: [{ id: `u${u}`, history: Array.from(seq.subarray(0, len)), candidates }] },
    });
    if (res.statusCode !== 200) throw new Error(`request ${i}: ${res.statusCode} ${res.body}`);
  }
  let body: { pairs: { requests: Record<string, number>; [k: string]: unknown }[] };
  for (;;) {
    body = JSON.parse((await app.inject({ method: 'GET', url: '/v1/shadow' })).body);
    const r = body.pairs[0]!.requests;
    if (r.sampled === n && r.scored + r.dropped + r.errors + r.timeouts === n) break;
    await sleep(50);
  }
  const pair = body.pairs[0] as unknown as {
    requests: Record<string, number>;
    predictions: number;
    cumulative: Record<string, number | null>;
    window: Record<string, number | null>;
  };
  console.log(JSON.stringify(body, null, 2));
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(4));
  const w = pair.window;
  console.log(
    `\n${n} requests × ${opts.candidates} candidates (seed ${seed}), ${pair.predictions} predictions:\n`,
  );
  console.log(
    '| MAE | KL(teacher‖student) | Pearson | Spearman | top-10 overlap | mean CTR student | mean CTR teacher |',
  );
  console.log('|---|---|---|---|---|---|---|');
  console.log(
    `| ${f(w.mae)} | ${f(w.kl)} | ${f(w.pearson)} | ${f(w.spearman)} | ${f(w.topk_overlap)} | ${f(w.mean_ctr_student)} | ${f(w.mean_ctr_teacher)} |`,
  );
} finally {
  await app.close();
}

// Agreement of a student with its teacher on the data generator's traffic, measured through shadow scoring itself.
//   node --import tsx bench/shadow-agreement.ts [--models=models] [--seed=1] [--requests=500] [--candidates=50]
// Builds the app on the model repository with the teacher as shadow at sample rate 1, sends CTR requests drawn
// from the synthetic click world (src/training/data: a user's click sequence as history; candidates: the user's
// likely next click plus items drawn by popularity, as the click log draws them), waits until every request
// was scored by the teacher, and prints GET /v1/shadow plus a Markdown table for models/README.md.
// The click world is the one the models were distilled on: seed and click-model config come from the
// repository's report.json (written by `ctr-serve distill`) when present, else --seed and the default config.
// --readme writes the table into <models>/README.md between shadow-agreement markers (rerunnable).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config/serving-config.ts';
import { ClickWorld, DEFAULT_CLICK_MODEL, type ClickModelConfig } from '../src/training/data/click-model.ts';
import { Prng } from '../src/training/data/prng.ts';

const { values: opts } = parseArgs({
  options: {
    models: { type: 'string', default: 'models' },
    seed: { type: 'string', default: '1' },
    requests: { type: 'string', default: '500' },
    candidates: { type: 'string', default: '50' },
    student: { type: 'string', default: 'ctr-student' },
    teacher: { type: 'string', default: 'ctr-teacher' },
    readme: { type: 'boolean', default: false },
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
  const report = await readFile(join(modelsDir, 'report.json'), 'utf8').then(
    (t) => JSON.parse(t) as { seed: number; config: { data: { clickModel: ClickModelConfig } } },
    () => undefined,
  );
  const seed = report?.seed ?? Number(opts.seed);
  const clickModel = report?.config.data.clickModel ?? DEFAULT_CLICK_MODEL;
  // The same draws as src/training/data/load-data.ts: run rng → data rng → world rng.
  const world = new ClickWorld(clickModel, new Prng(seed).fork().fork());
  const rng = new Prng(seed + 7919); // traffic differs from the training log's draws
  const { historyLength: L, minHistory, users } = clickModel;
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
  const table = [
    `Agreement of \`${opts.student}\` with its teacher \`${opts.teacher}\` on ${n} requests × ${opts.candidates}`,
    `candidates drawn from the click world of seed ${seed} (${pair.predictions} predictions), measured through shadow`,
    `scoring (\`node --import tsx bench/shadow-agreement.ts --models=${opts.models}\`; GET /v1/shadow, docs/shadow.md):`,
    '',
    '| MAE | KL(teacher‖student) | Pearson | Spearman | top-10 overlap | mean CTR student | mean CTR teacher |',
    '|---|---|---|---|---|---|---|',
    `| ${f(w.mae)} | ${f(w.kl)} | ${f(w.pearson)} | ${f(w.spearman)} | ${f(w.topk_overlap)} | ${f(w.mean_ctr_student)} | ${f(w.mean_ctr_teacher)} |`,
  ].join('\n');
  console.log(`\n${table}`);
  if (opts.readme) {
    const path = join(modelsDir, 'README.md');
    const begin = '<!-- shadow-agreement:begin -->';
    const end = '<!-- shadow-agreement:end -->';
    const section = `${begin}\n## Student/teacher agreement (shadow scoring)\n\n${table}\n${end}`;
    const text = await readFile(path, 'utf8').catch(() => '');
    const at = text.indexOf(begin);
    const next =
      at >= 0
        ? text.slice(0, at) + section + text.slice(text.indexOf(end) + end.length)
        : `${text.trim() ? `${text.trimEnd()}\n\n` : ''}${section}\n`;
    await writeFile(path, next);
    console.log(`wrote the table into ${path}`);
  }
} finally {
  await app.close();
}

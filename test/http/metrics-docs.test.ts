import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Metrics } from '../../src/metrics/metrics.ts';
import { ShadowMetrics } from '../../src/shadow/shadow-metrics.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

/** The registry as a running server has it: serving/HTTP metrics plus the shadow scorer's. */
function appRegistry(): Metrics {
  const metrics = new Metrics();
  new ShadowMetrics(metrics.registry, () => undefined);
  return metrics;
}

type Row = { type: string; labels: string[] };
const doc = readFileSync(join(REPO_ROOT, 'docs/metrics.md'), 'utf8');
const documented = new Map<string, Row>(
  [...doc.matchAll(/^\| `(ctr_[a-z0-9_]+)` \| (\w+) \|([^|]*)\|/gm)].map((m) => [
    m[1]!,
    { type: m[2]!, labels: [...m[3]!.matchAll(/`(\w+)`/g)].map((l) => l[1]!).sort() },
  ]),
);

async function registered(): Promise<Map<string, Row>> {
  const json = await appRegistry().registry.getMetricsAsJSON();
  const out = new Map<string, Row>();
  for (const metric of appRegistry().registry.getMetricsAsArray()) {
    if (!metric.name.startsWith('ctr_')) continue;
    const labels = [...((metric as unknown as { labelNames: string[] }).labelNames ?? [])].sort();
    const type = json.find((j) => j.name === metric.name)!.type;
    out.set(metric.name, { type: String(type), labels });
  }
  return out;
}

test('every ctr_ metric in the registry is documented in docs/metrics.md with its type and labels', async () => {
  for (const [name, row] of await registered()) {
    assert.deepEqual(documented.get(name), row, `${name} is missing or differs in docs/metrics.md`);
  }
});

test('every metric documented in docs/metrics.md exists in the registry', async () => {
  const reg = await registered();
  assert.ok(documented.size >= 13, 'the docs table was not parsed');
  for (const name of documented.keys()) assert.ok(reg.has(name), `${name} is documented but not registered`);
});

test('the registry also exports the default process metrics', async () => {
  const text = await appRegistry().text();
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
  ]) {
    assert.match(text, new RegExp(`^${name} `, 'm'));
  }
});

const promtool = spawnSync('promtool', ['--version']).status === 0;

test(
  'the ctr_ metrics pass promtool check metrics',
  { skip: promtool ? false : 'promtool is not installed (apt-get install -y prometheus); skipping the lint' },
  async () => {
    const metrics = appRegistry();
    metrics.observeHttp('/v1/ctr:predict', 'POST', 200, 0.002);
    metrics.observeInference({ name: 'ctr-student', version: 1 }, 0.001, 100);
    metrics.observeQueueWait(0.0001);
    metrics.countShed('queue_full');
    metrics.countLoad('ctr-student', 'success', 0.5);
    metrics.setModelInfo({ name: 'ctr-student', version: 1 }, { format: 'frozen_graph', backend: 'wasm' });
    const ctrOnly = (await metrics.text())
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?ctr_/.test(line))
      .join('\n');
    const run = spawnSync('promtool', ['check', 'metrics'], { input: `${ctrOnly}\n`, encoding: 'utf8' });
    assert.equal(run.status, 0, `promtool: ${run.stdout}${run.stderr}`);
  },
);

test('removing a version drops its ctr_model_info series', async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.setModelInfo({ name: 'm', version: 3 }, { format: 'saved_model', backend: 'wasm' });
  assert.match(
    await metrics.text(),
    /ctr_model_info\{model="m",version="3",format="saved_model",backend="wasm"\} 1/,
  );
  metrics.removeModelInfo({ name: 'm', version: 3 });
  assert.doesNotMatch(await metrics.text(), /ctr_model_info\{/);
});

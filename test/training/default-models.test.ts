import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG, loadDistillConfig } from '../../src/training/config.ts';
import type { DistillReport } from '../../src/training/report/report-types.ts';
import { targetsOf } from '../../src/training/report/targets.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

// The committed models/ record how they were made: report.json holds the command and the whole config, and
// `--config models/report.json` (data or distill) takes that config, so the world behind the models can be drawn
// again after the defaults moved on (docs/training.md). The targets are recomputed from the report's own metrics
// (not read from its "met" flags), so a report that misses one fails too.
test('models/report.json records its command and config, `--config models/report.json` gives them back, and its metrics meet the targets but the known miss', async () => {
  const text = await readFile(join(REPO_ROOT, 'models/report.json'), 'utf8');
  const report = JSON.parse(text) as DistillReport;
  assert.equal(report.command, 'npx ctr-serve distill');
  const again = loadDistillConfig(text, 'models/report.json', DEFAULT_CONFIG);
  assert.deepEqual(restrict(again, report.config), JSON.parse(JSON.stringify(report.config)));
  // ...and they are the current defaults' models (models/README.md: `npx ctr-serve distill` rewrites them).
  assert.deepEqual(
    JSON.parse(JSON.stringify(report.config)),
    JSON.parse(JSON.stringify(DEFAULT_CONFIG)),
    'models/ were made with other defaults than DEFAULT_CONFIG: rerun `npx ctr-serve distill`',
  );
  const targets = targetsOf(report);
  const missed = Object.keys(targets).filter((name) => !targets[name as keyof typeof targets].met);
  // The 10,000-item default models miss one target (docs/training.md, "Results of the default run"): the eager
  // student is only ~4× faster than the eager teacher (served through the loader: ~11×, the measure). Any
  // other miss, or a change in this one, fails here.
  assert.deepEqual(missed, ['fasterEager'], JSON.stringify(targets));
});

/** `value` cut down to the keys `shape` has (objects recursively), as plain JSON. */
function restrict(value: unknown, shape: unknown): unknown {
  if (typeof shape !== 'object' || shape === null || Array.isArray(shape))
    return JSON.parse(JSON.stringify(value));
  const v = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(shape).map((k) => [k, restrict(v[k], (shape as Record<string, unknown>)[k])]),
  );
}

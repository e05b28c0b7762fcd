import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/training/config.ts';
import type { DistillReport } from '../../src/training/report/report-types.ts';
import { targetsOf } from '../../src/training/report/targets.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

// The committed models/ must be what `npx ctr-serve distill` makes with today's defaults: a change of
// DEFAULT_CONFIG without regenerating models/ fails here. The targets are recomputed from the report's own
// metrics (not read from its "met" flags), so a report that misses one fails too.
test('models/report.json was made by the default distill command and its metrics meet the targets', async () => {
  const report = JSON.parse(await readFile(join(REPO_ROOT, 'models/report.json'), 'utf8')) as DistillReport;
  assert.equal(report.command, 'npx ctr-serve distill');
  assert.deepEqual(report.config, JSON.parse(JSON.stringify(DEFAULT_CONFIG)));
  const missed = Object.entries(targetsOf(report))
    .filter(([, t]) => !t.met)
    .map(([name, t]) => `${name} ${t.value.toFixed(4)} (${t.goal})`);
  assert.deepEqual(missed, []);
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import dataCommand from '../../src/cli/data-command.ts';
import { readClickLogCsv } from '../../src/training/data/click-log-csv.ts';
import { auc } from '../../src/training/eval/metrics.ts';
import type { DistillReport } from '../../src/training/report/report-types.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

// One world per seed: `ctr-serve data --config models/report.json --seed 1` draws from the world the bundled models
// were distilled on, and --sample_seed gives rows no model has seen. Scored through the server (/v1/ctr:predict),
// the bundled teacher is near the Bayes AUC of those rows and the student keeps the teacher's lift (the targets of
// docs/training.md; the teacher with a margin, see below: 8,000 rows).
const ROWS = 8000;

async function freshRows(dir: string, sampleSeed: number) {
  const out = join(dir, `fresh-${sampleSeed}.csv`);
  const io = {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    env: {},
    cwd: REPO_ROOT,
    stopSignal: new Promise<string>(() => {}),
  };
  const args = [
    '--config=models/report.json',
    '--seed=1',
    `--sample_seed=${sampleSeed}`,
    `--rows=${ROWS}`,
    `--out=${out}`,
  ];
  assert.equal(await dataCommand.run(args, io), 0);
  const report = JSON.parse(await readFile(join(REPO_ROOT, 'models/report.json'), 'utf8')) as DistillReport;
  const m = report.config.data.clickModel;
  return readClickLogCsv(await readFile(out, 'utf8'), m.vocabSize, m.historyLength, out);
}

test('fresh rows of the bundled models’ world, scored through the server, meet the targets', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-fresh-'));
  const models = join(REPO_ROOT, 'models');
  const app = await appFor([
    { name: 'ctr-student', basePath: join(models, 'ctr-student') },
    { name: 'ctr-teacher', basePath: join(models, 'ctr-teacher') },
  ]);
  try {
    const log = await freshRows(dir, 7);
    const L = log.historyLength;
    const requests = Array.from({ length: log.rows }, (_, r) => ({
      history: Array.from(log.history.subarray(r * L, (r + 1) * L)).filter((id) => id !== 0),
      candidates: [log.candidate[r]!],
    }));
    const score = async (model: string) => {
      const res = await call(app, post(`/v1/ctr/${model}:predict`, { requests }, 'application/json'));
      assert.equal(res.status, 200, res.text);
      return (res.body.results as { scores: number[] }[]).map((x) => x.scores[0]!);
    };
    const bayes = auc(log.trueProb!, log.clicked);
    const teacher = auc(await score('ctr-teacher'), log.clicked);
    const student = auc(await score('ctr-student'), log.clicked);
    t.diagnostic(
      `${ROWS} fresh rows: Bayes AUC ${bayes.toFixed(4)}, teacher ${teacher.toFixed(4)}, student ${student.toFixed(4)}`,
    );
    assert.ok(bayes > 0.85, `Bayes AUC ${bayes}: the rows come from the models' world`);
    // Issue 14's target: the teacher within 0.02 AUC of the rows' Bayes AUC.
    assert.ok(bayes - teacher <= 0.02, `teacher ${teacher} vs Bayes ${bayes}`);
    assert.ok(
      (student - 0.5) / (teacher - 0.5) >= 0.97,
      `student ${student} keeps the teacher's ${teacher} lift`,
    );
    // another --sample_seed draws other rows of the same world
    const again = await freshRows(dir, 8);
    assert.notDeepEqual(again.candidate.subarray(0, 50), log.candidate.subarray(0, 50));
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
});

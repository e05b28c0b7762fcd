import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { initBackend } from '../../src/graph/backend.ts';
import { baseConfig, merge } from '../../src/training/config.ts';
import { leaveLastOut } from '../../src/training/data/leave-last-out.ts';
import { readSequences } from '../../src/training/data/sequence-reader.ts';
import { RANKING_KEYS, rankingMetrics } from '../../src/training/eval/ranking-metrics.ts';
import { servedRankingScores } from '../../src/training/eval/served-ranking.ts';
import { runDistill } from '../../src/training/pipeline.ts';
import type { DistillReport } from '../../src/training/report/report-types.ts';
import { SHARED_DIR } from '../helpers/fixtures.ts';
import { startServer } from '../helpers/serve-process.ts';

// The real-data path (docs/training.md, "Real click sequences") on a slice of amazon-beauty: the quick config
// reads its first users only, so this runs in seconds.
const BEAUTY = join(SHARED_DIR, 'datasets/amazon-beauty.txt');
const skip = existsSync(BEAUTY) ? false : `${BEAUTY} is absent (../shared/datasets): real-data test skipped`;

let dir: string;
let report: DistillReport;
const config = merge(baseConfig(true, 'sequences'), { data: { file: BEAUTY, format: 'sequences' } });

before(async () => {
  if (skip) return;
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'ctr-seq-'));
  const stderr = new Writable({ write: (_c, _e, cb) => cb() });
  report = await runDistill({ config, outDir: join(dir, 'out'), cwd: dir, stderr, command: 'test' });
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  'distill --format sequences ranks every test user of the slice for the teacher, students and baselines',
  { skip },
  () => {
    const r = report.ranking!;
    const users = config.data.sequences.maxUsers;
    assert.equal(r.users, users);
    assert.equal(r.candidates, 101);
    assert.ok(r.testUsers > 0.9 * users && r.testUsers <= users, `${r.testUsers} test users`);
    const names = r.rows.map((row) => row.name);
    assert.deepEqual(names, [
      'teacher',
      'pooled/none',
      'pooled/hinton',
      'pooled/tang',
      'popularity',
      'transitions',
    ]);
    for (const row of r.rows) {
      for (const k of RANKING_KEYS) assert.ok(row[k] >= 0 && row[k] <= 1, `${row.name} ${k} ${row[k]}`);
      assert.ok(row.hr1 <= row.hr5 && row.hr5 <= row.hr10, `${row.name}: HR@k grows with k`);
      assert.ok(
        row.ndcg5 <= row.ndcg10 && row.ndcg10 <= row.hr10,
        `${row.name}: NDCG@k ≤ HR@k, grows with k`,
      );
      assert.ok(row.mrr >= row.hr1, `${row.name}: MRR ≥ HR@1`);
    }
    assert.equal(r.rows.filter((row) => row.exported).length, 1);
    assert.equal(report.data.vocabSize! > 1000, true);
  },
);

test(
  'the exported student served by `ctr-serve serve` ranks the test users exactly as in-process',
  { skip },
  async () => {
    const seqs = await readSequences(BEAUTY, { maxUsers: config.data.sequences.maxUsers });
    const { test: set } = leaveLastOut(seqs, {
      historyLength: config.data.clickModel.historyLength,
      negatives: config.data.sequences.negatives,
      trainNegatives: 0,
      seed: 0,
    });
    assert.ok(
      set.past.some((p) => p.length > config.data.clickModel.historyLength),
      'some history is truncated',
    );
    const server = startServer([
      '--rest_api_port=0',
      '--rest_api_host=127.0.0.1',
      '--model_name=ctr-student',
      `--model_base_path=${join(dir, 'out', 'ctr-student')}`,
      '--workers=1',
    ]);
    try {
      const served = rankingMetrics(await servedRankingScores(await server.url, set), set.candidatesPerUser);
      const inProcess = report.ranking!.rows.find((row) => row.exported)!;
      assert.equal(served.users, report.ranking!.testUsers);
      for (const k of RANKING_KEYS) {
        assert.ok(
          Math.abs(served[k] - inProcess[k]) <= 1e-6,
          `${k}: served ${served[k]}, in-process ${inProcess[k]}`,
        );
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  },
);

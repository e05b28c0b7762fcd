import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareModel } from '../../../src/graph/prepare-model.ts';
import { initTables } from '../../../src/graph/table/init-tables.ts';
import { fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';

const TFX = 'tfx/chicago_taxi_estimator_wide_deep/1646034756';

test(
  "the TFX export's vocabulary tables are filled by its main op from assets/: each line's id is its line number",
  { skip: skipWithoutFixtures },
  async () => {
    const model = await prepareModel(fixture(TFX));
    const tables = await initTables(model);
    const vocab = (file: string) =>
      readFileSync(join(fixture(TFX), 'assets', file), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
    const files = [
      'vocab_compute_and_apply_vocabulary_vocabulary',
      'vocab_compute_and_apply_vocabulary_1_vocabulary',
    ];
    for (const file of files) {
      const lines = vocab(file);
      const table = [...tables.values()].find((t) => t.initialized && t.size === lines.length);
      assert.ok(table, `a table of ${lines.length} entries from ${file}`);
      lines.forEach((line, i) => assert.equal(table.get(new TextEncoder().encode(line)), i, line));
    }
    assert.ok([...tables.values()].every((t) => t.initialized));
  },
);

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadModel } from '../../src/graph/load-model.ts';
import type { ClickLog } from '../../src/training/data/click-log.ts';
import { compareExported } from '../../src/training/verify-export.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

// The committed default student stands in for "an exported model"; the in-training logits are its own, so only
// the checker's tolerance logic is under test: equal logits pass, a logit moved past 1e-5 is refused with its code.
test('an export that differs from training beyond the tolerance is refused with CTR_ERR_EXPORT_MISMATCH', async () => {
  const model = await loadModel(join(REPO_ROOT, 'models/ctr-student/1'));
  try {
    const L = model.info.signatures[model.info.defaultSignature]!.inputs.history!.shape![1]!;
    const rows = 16;
    const history = Int32Array.from({ length: rows * L }, (_, i) => (i * 7) % 50);
    const candidate = Int32Array.from({ length: rows }, (_, i) => 1 + ((i * 13) % 90));
    const log = { rows, historyLength: L, history, candidate } as unknown as ClickLog;
    const out = await model.predictHost({
      history: { dtype: 'DT_INT32', shape: [rows, L], values: history },
      candidate: { dtype: 'DT_INT32', shape: [rows], values: candidate },
    });
    const logits = Float32Array.from(out.logit!.values as Float32Array);
    const worst = await compareExported(model, 'student', log, logits, rows);
    assert.ok(worst <= 1e-6, `same logits should agree, worst ${worst}`);
    const moved = logits.slice();
    moved[5] = moved[5]! + 1e-3;
    await assert.rejects(compareExported(model, 'student', log, moved, rows), {
      code: 'CTR_ERR_EXPORT_MISMATCH',
    });
  } finally {
    model.dispose();
  }
});

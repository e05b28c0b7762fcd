import { readFile } from 'node:fs/promises';
import { CtrError } from '../../errors/registry.ts';
import type { DistillConfig } from '../config.ts';
import { type ClickLog, rowRange } from './click-log.ts';
import { readClickLogCsv, sequencesFromLog } from './click-log-csv.ts';
import { ClickWorld, sampleClickLog, sampleSequences } from './click-model.ts';
import type { Prng } from './prng.ts';

/**
 * The data of one distill run. Synthetic (default): a ClickWorld from the seed, then independent samples for
 * training, validation (picks the exported student), test (every reported metric) and unlabelled pretraining
 * sequences. CSV (`data.csv`): the file's rows in order, the last testRows for test, the validRows before them for
 * validation, the rest for training; pretraining sequences come from the training rows' clicks.
 */
export type DistillData = {
  readonly source: 'synthetic' | 'csv';
  readonly train: ClickLog;
  readonly valid: ClickLog;
  readonly test: ClickLog;
  /** rows × (historyLength + 1). */
  readonly sequences: Int32Array;
};

export async function loadDistillData(c: DistillConfig, rng: Prng, cwd: string): Promise<DistillData> {
  const m = c.data.clickModel;
  if (!c.data.csv) {
    const world = new ClickWorld(m, rng.fork());
    return {
      source: 'synthetic',
      train: sampleClickLog(world, c.data.trainRows, rng.fork()),
      valid: sampleClickLog(world, c.data.validRows, rng.fork()),
      test: sampleClickLog(world, c.data.testRows, rng.fork()),
      sequences: sampleSequences(world, c.data.pretrainSequences, rng.fork()),
    };
  }
  const { resolve } = await import('node:path');
  const path = resolve(cwd, c.data.csv);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new CtrError('CTR_ERR_DATA_FORMAT', `cannot read ${path}`, { cause: err });
  });
  const log = readClickLogCsv(text, m.vocabSize, m.historyLength, path);
  const nTest = Math.min(c.data.testRows, Math.floor(log.rows / 4));
  const nValid = Math.min(c.data.validRows, Math.floor(log.rows / 8));
  const nTrain = log.rows - nTest - nValid;
  if (nTrain < 1 || nTest < 1 || nValid < 1) {
    throw new CtrError('CTR_ERR_DATA_FORMAT', `${path} has ${log.rows} rows: too few to split`);
  }
  const train = rowRange(log, 0, nTrain);
  return {
    source: 'csv',
    train,
    valid: rowRange(log, nTrain, nTrain + nValid),
    test: rowRange(log, nTrain + nValid, log.rows),
    sequences: sequencesFromLog(train),
  };
}

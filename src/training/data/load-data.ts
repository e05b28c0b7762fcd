import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CtrError } from '../../errors/registry.ts';
import type { DistillConfig } from '../config.ts';
import { type ClickLog, rowRange } from './click-log.ts';
import { readClickLogCsv, sequencesFromLog } from './click-log-csv.ts';
import { ClickWorld, type ClickModelConfig, sampleClickLog, sampleSequences } from './click-model.ts';
import { type SequenceRanking, loadSequenceData } from './load-sequences.ts';
import { Prng } from './prng.ts';

/**
 * The data of one distill run. Synthetic (default): a ClickWorld from the seed, then independent samples for
 * training, validation (picks the exported student), test (every reported metric) and unlabelled pretraining
 * sequences. CSV (`data.csv`, or `data.file` with format csv): the file's rows in order, the last testRows for test,
 * the validRows before them for validation, the rest for training; pretraining sequences come from the training
 * rows' clicks. Sequences (format sequences): load-sequences.ts, the leave-last-out protocol.
 */
export type DistillData = {
  readonly source: 'synthetic' | 'csv' | 'sequences';
  readonly train: ClickLog;
  readonly valid: ClickLog;
  readonly test: ClickLog;
  /** rows × (historyLength + 1). */
  readonly sequences: Int32Array;
  /** Item ids are 1..vocabSize-1. */
  readonly vocabSize: number;
  /** Click sequences only: the ranking protocol's sets and baselines. */
  readonly ranking?: SequenceRanking;
};

/**
 * The synthetic world of a seed and its sample streams, drawn in one fixed order from `rng` — the data stream of
 * runDistill (the first fork of Prng(seed)). `ctr-serve data` draws from the same function, so `data --seed N`
 * and `distill --seed N` share one world.
 */
export function syntheticStreams(m: ClickModelConfig, rng: Prng) {
  const world = new ClickWorld(m, rng.fork());
  return { world, train: rng.fork(), valid: rng.fork(), test: rng.fork(), sequences: rng.fork() };
}

/** The data stream of a seed: the first fork of Prng(seed), as runDistill takes it. */
export function dataStream(seed: number): Prng {
  return new Prng(seed).fork();
}

export async function loadDistillData(c: DistillConfig, rng: Prng, cwd: string): Promise<DistillData> {
  const m = c.data.clickModel;
  const file = c.data.file ?? c.data.csv;
  if (file && c.data.format === 'sequences') {
    return { source: 'sequences', ...(await loadSequenceData(c, resolve(cwd, file), rng)) };
  }
  if (!file) {
    const s = syntheticStreams(m, rng);
    return {
      source: 'synthetic',
      train: sampleClickLog(s.world, c.data.trainRows, s.train),
      valid: sampleClickLog(s.world, c.data.validRows, s.valid),
      test: sampleClickLog(s.world, c.data.testRows, s.test),
      sequences: sampleSequences(s.world, c.data.pretrainSequences, s.sequences),
      vocabSize: m.vocabSize,
    };
  }
  const path = resolve(cwd, file);
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
    vocabSize: m.vocabSize,
  };
}

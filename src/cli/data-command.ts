import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeClickLogCsv } from '../training/data/click-log-csv.ts';
import { sampleClickLog } from '../training/data/click-model.ts';
import { dataStream, syntheticStreams } from '../training/data/load-data.ts';
import { Prng } from '../training/data/prng.ts';
import { DEFAULT_CONFIG, readDistillConfigFile } from '../training/config.ts';
import { auc, logLoss } from '../training/eval/metrics.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';

// AUC is undefined when every row has the same label (a handful of rows).
const fmtAuc = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'undefined (one class only)');

/** `ctr-serve data` (docs/flags.md). */
const command: Command = {
  summary: 'data',
  async run(args, io) {
    const parsed = parseFlags('data', args, io);
    if (!parsed) return 0;
    const v = parsed.values;
    const seed = v.seed as number;
    const rows = v.rows as number;
    const out = v.out as string;
    const config = await readDistillConfigFile(v.config as string | undefined, io.cwd, DEFAULT_CONFIG);
    // One world per seed: the world and streams of `distill --seed N` (load-data.ts); fresh rows with --sample_seed.
    const streams = syntheticStreams(config.data.clickModel, dataStream(seed));
    const sampleSeed = v.sample_seed as number | undefined;
    const rowRng = sampleSeed === undefined ? streams.test : new Prng(sampleSeed).fork();
    const log = sampleClickLog(streams.world, rows, rowRng);
    await writeFile(resolve(io.cwd, out), writeClickLogCsv(log));
    let clicks = 0;
    for (const c of log.clicked) clicks += c;
    io.stdout.write(
      `${rows} rows, click rate ${(clicks / rows).toFixed(4)}, Bayes AUC ${fmtAuc(auc(log.trueProb!, log.clicked))}, Bayes log-loss ${logLoss(log.trueProb!, log.clicked).toFixed(4)} → ${out}\n`,
    );
    return 0;
  },
};
export default command;

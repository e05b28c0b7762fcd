import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeClickLogCsv } from '../training/data/click-log-csv.ts';
import { ClickWorld, sampleClickLog } from '../training/data/click-model.ts';
import { Prng } from '../training/data/prng.ts';
import { DEFAULT_CONFIG, readDistillConfigFile } from '../training/config.ts';
import { auc, logLoss } from '../training/eval/metrics.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';
import { usageError } from './run-cli.ts';

const USAGE = `usage: ctr-serve data --seed N --rows M --out FILE.csv [--config F]

Writes a synthetic click log drawn from the documented ground-truth click model (docs/training.md), one
impression per line: user,history,candidate,clicked,true_prob (history: item ids oldest first, space-separated).
Prints the Bayes-optimal AUC and log-loss of the rows (scored with true_prob). --config takes the click model
from a distill config (data.clickModel). The same seed and config give the same file.
`;

// AUC is undefined when every row has the same label (a handful of rows).
const fmtAuc = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'undefined (one class only)');

/** `ctr-serve data` (DESIGN §6). */
const command: Command = {
  summary: 'data',
  async run(args, io) {
    const parsed = parseFlags(
      args,
      {
        seed: { type: 'string' },
        rows: { type: 'string' },
        out: { type: 'string' },
        config: { type: 'string' },
      },
      USAGE,
      io,
      false,
    );
    if (!parsed) return 0;
    const v = parsed.values;
    const int = (s: string | undefined, name: string, min: number) => {
      if (s === undefined || !/^\d+$/.test(s) || Number(s) < min) {
        throw usageError(`--${name} must be an integer ≥ ${min}\n\n${USAGE}`);
      }
      return Number(s);
    };
    const seed = int(v.seed ?? '1', 'seed', 0);
    const rows = int(v.rows, 'rows', 1);
    if (!v.out) throw usageError(`--out FILE.csv is required\n\n${USAGE}`);
    const config = await readDistillConfigFile(v.config, io.cwd, DEFAULT_CONFIG);
    const rng = new Prng(seed);
    const log = sampleClickLog(new ClickWorld(config.data.clickModel, rng), rows, rng);
    await writeFile(resolve(io.cwd, v.out), writeClickLogCsv(log));
    let clicks = 0;
    for (const c of log.clicked) clicks += c;
    io.stdout.write(
      `${rows} rows, click rate ${(clicks / rows).toFixed(4)}, Bayes AUC ${fmtAuc(auc(log.trueProb!, log.clicked))}, Bayes log-loss ${logLoss(log.trueProb!, log.clicked).toFixed(4)} → ${v.out}\n`,
    );
    return 0;
  },
};
export default command;

import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_CONFIG, QUICK_CONFIG, readDistillConfigFile, validateConfig } from '../training/config.ts';
import { runDistill } from '../training/pipeline.ts';
import { reportTable } from '../training/report/console-table.ts';
import { reportHtml } from '../training/report/report-html.ts';
import { modelsReadme } from '../training/report/models-readme.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';
import { usageError } from './run-cli.ts';

const USAGE = `usage: ctr-serve distill [--config F] [--quick] [--seed N] [--out DIR]

Generates (or reads) click logs, pretrains and fine-tunes the BERT-style teacher, distils students with each loss,
evaluates them, and exports the teacher (SavedModel) and the best distilled student (frozen graph) into DIR
(default: models), with report.json, report.html and README.md. Progress goes to stderr, the table to stdout.

  --config F   JSON or YAML overriding any default setting (docs/training.md)
  --quick      a seconds-long configuration (tests, smoke checks)
  --seed N     seed of every random draw (default 1); same seed and config, same models and metrics
  --out DIR    model repository to write (default models)
`;

/** `ctr-serve distill` (DESIGN §9). */
const command: Command = {
  summary: 'distill',
  async run(args, io) {
    const parsed = parseFlags(
      args,
      {
        config: { type: 'string' },
        quick: { type: 'boolean' },
        seed: { type: 'string' },
        out: { type: 'string' },
      },
      USAGE,
      io,
      false,
    );
    if (!parsed) return 0;
    const v = parsed.values;
    let config = await readDistillConfigFile(v.config, io.cwd, v.quick ? QUICK_CONFIG : DEFAULT_CONFIG);
    if (v.seed !== undefined) {
      if (!/^\d+$/.test(v.seed)) throw usageError(`--seed must be an integer ≥ 0, got "${v.seed}"`);
      config = { ...config, seed: Number(v.seed) };
    }
    config = validateConfig(config, v.config ?? 'defaults');
    const outArg = v.out ?? 'models';
    const outDir = resolve(io.cwd, outArg);
    const cmd = ['npx ctr-serve distill', ...args].join(' ');
    await mkdir(outDir, { recursive: true });
    const report = await runDistill({ config, outDir, cwd: io.cwd, stderr: io.stderr, command: cmd });
    // Paths in the report are relative to the working directory, so committed files do not name a machine.
    const rel = (p: string) => join(outArg, p.slice(outDir.length + 1));
    const portable = {
      ...report,
      export: {
        ...report.export,
        teacherDir: rel(report.export.teacherDir),
        studentDir: rel(report.export.studentDir),
      },
    };
    await writeFile(join(outDir, 'report.json'), `${JSON.stringify(portable, null, 1)}\n`);
    await writeFile(join(outDir, 'report.html'), reportHtml(portable));
    await writeFile(join(outDir, 'README.md'), modelsReadme(portable));
    io.stdout.write(reportTable(portable));
    io.stderr.write(
      `wrote ${outArg}/{ctr-teacher,ctr-student}/${config.export.version}, report.json, report.html, README.md\n`,
    );
    return 0;
  },
};
export default command;

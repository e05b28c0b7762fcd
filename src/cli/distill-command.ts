import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { baseConfig, merge, readDistillConfigFile, validateConfig } from '../training/config.ts';
import { runDistill } from '../training/pipeline.ts';
import { reportTable } from '../training/report/console-table.ts';
import { reportHtml } from '../training/report/report-html.ts';
import { modelsReadme } from '../training/report/models-readme.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';

/** `ctr-serve distill` (docs/training.md). */
const command: Command = {
  summary: 'distill',
  async run(args, io) {
    const parsed = parseFlags('distill', args, io);
    if (!parsed) return 0;
    const v = parsed.values;
    const configFile = v.config as string | undefined;
    // --format describes --data; without --data the run is synthetic (or the config file's data).
    const format = v.data !== undefined ? (v.format as 'csv' | 'sequences') : undefined;
    let config = await readDistillConfigFile(configFile, io.cwd, baseConfig(v.quick as boolean, format));
    if (v.seed !== undefined) config = { ...config, seed: v.seed as number };
    if (v.data !== undefined) config = merge(config, { data: { file: v.data, format } });
    config = validateConfig(config, configFile ?? 'defaults');
    const outArg = v.out as string;
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

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.ts';
import { usageError } from './parse-flags.ts';

const BENCH_RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
const USAGE_EXIT = 2;

/**
 * `ctr-serve bench [--sections=model,http,memory] [--quick] [--reference=DIR]`: `npm run bench` (bench/README.md)
 * in a child process. bench/ is a development tree, not part of src/ (the Docker image copies only bin and src), so
 * it is started by path, never imported: without it, CTR_ERR_USAGE says where to run it. The child prints the
 * tables; its bad flags come back as CTR_ERR_USAGE; any other failure (CTR_ERR_BENCH_CHECK_FAILED) is printed by the child
 * and returned as its exit status.
 */
const command: Command = {
  summary: 'bench',
  async run(args, io) {
    if (!existsSync(BENCH_RUN)) {
      throw usageError(`bench/ is not installed here (${BENCH_RUN}); run \`npm run bench\` in a checkout`);
    }
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), BENCH_RUN, ...args], {
      cwd: io.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.pipe(io.stdout, { end: false });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const status = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
    const usage = /^error CTR_ERR_USAGE: ([\s\S]*)$/.exec(stderr.trim());
    if (status === USAGE_EXIT && usage) throw usageError(usage[1]!);
    io.stderr.write(stderr);
    return status;
  },
};
export default command;

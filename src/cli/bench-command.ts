import { benchUsage, parseBenchArgs } from '../../bench/args.ts';
import type { Command } from './command.ts';

/**
 * `ctr-serve bench [--sections=model,http,memory] [--quick] [--reference=DIR]`: the benchmarks of DESIGN §10
 * (bench/README.md), the same as `npm run bench`. Prints tables on stdout; wrong predictions fail with
 * CTR_ERR_BENCH_CHECK_FAILED before anything is timed, bad flags with CTR_ERR_USAGE.
 */
const command: Command = {
  summary: 'bench',
  async run(args, io) {
    const options = parseBenchArgs(args, io.cwd);
    if (options.help) {
      io.stdout.write(benchUsage());
      return 0;
    }
    const { runBench } = await import('../../bench/bench.ts');
    await runBench(options, io.stdout);
    return 0;
  },
};
export default command;

import { isCtrError } from '../src/errors/registry.ts';
import { benchUsage, parseBenchArgs } from './args.ts';
import { runBench } from './bench.ts';

// `npm run bench [-- --sections=model,http,memory --quick]`, the same as `ctr-serve bench`.
try {
  const options = parseBenchArgs(process.argv.slice(2), process.cwd());
  if (options.help) process.stdout.write(benchUsage());
  else await runBench(options, process.stdout);
} catch (err) {
  process.stderr.write(isCtrError(err) ? `error ${err.code}: ${err.message}\n` : `${String(err)}\n`);
  process.exitCode = isCtrError(err) && err.code === 'CTR_ERR_USAGE' ? 2 : 1;
}

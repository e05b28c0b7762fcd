// The only module that reads process.argv / process.env and touches process signals and exit codes.
import { runCli } from './cli/run-cli.ts';

const stopSignal = new Promise<string>((resolve) => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve(sig));
});

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stopSignal,
});
process.exitCode = code;
// Long-running commands have returned by now; pending handles (tfjs, timers) must not keep the process alive.
setImmediate(() => process.exit(code)).unref();

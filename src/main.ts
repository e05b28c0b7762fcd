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
// Long-running commands have returned by now; pending handles (tfjs, timers) must not keep the process alive. But
// stdout and stderr to a pipe are asynchronous in Node: exiting at once drops whatever the reader has not taken
// yet (`run … | jq` lost all past the 64 KiB pipe buffer). An empty write's callback runs once every earlier write
// has been handed to the OS; a closed pipe (EPIPE) ends the wait as well.
const flushed = (s: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => {
    s.once('error', () => resolve());
    s.write('', () => resolve());
  });
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);

/**
 * A sub-command of `ctr-serve`. Commands parse their own flags (node:util parseArgs, TF Serving's and
 * saved_model_cli's flag names), write results to io.stdout and diagnostics to io.stderr, and return the exit
 * status. They never touch `process`: src/main.ts hands them argv, env and the streams. Errors thrown as CtrError
 * are printed by the dispatcher with their code.
 */
export type CliIo = {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT); long-running commands await it. */
  readonly stopSignal: Promise<string>;
};

export type Command = {
  readonly summary: string;
  run(args: string[], io: CliIo): Promise<number>;
};

import { isCtrError } from '../errors/registry.ts';
import type { CliIo, Command } from './command.ts';

/** Commands load lazily so `ctr-serve inspect` does not pay for Fastify, nor `serve` for the trainer. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  serve: { summary: 'serve models over HTTP (default command)', load: () => import('./serve-command.ts') },
  inspect: { summary: 'describe a frozen graph or SavedModel', load: () => import('./inspect-command.ts') },
  run: { summary: 'run one prediction without a server', load: () => import('./run-command.ts') },
  freeze: {
    summary: 'freeze variables into constants, cut at output nodes',
    load: () => import('./freeze-command.ts'),
  },
  data: { summary: 'write a synthetic click log', load: () => import('./data-command.ts') },
  distill: {
    summary: 'pretrain, fine-tune, distil and export teacher and student',
    load: () => import('./distill-command.ts'),
  },
  bench: { summary: 'benchmarks (model-only, HTTP, memory)', load: () => import('./bench-command.ts') },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `usage: ctr-serve [command] [flags]\n\ncommands:\n${lines.join('\n')}\n\nctr-serve COMMAND --help shows a command's flags.\n`;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let [name, ...rest] = argv;
  if (name === undefined || name.startsWith('--')) {
    if (name === '--help' || name === '-h') {
      io.stdout.write(usage());
      return 0;
    }
    rest = argv;
    name = 'serve';
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`error CTR_ERR_USAGE: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const command = (await entry.load()).default;
    return await command.run(rest, io);
  } catch (err) {
    if (isCtrError(err)) {
      io.stderr.write(`error ${err.code}: ${err.message}\n`);
      return err.code === 'CTR_ERR_USAGE' ? 2 : 1;
    }
    io.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

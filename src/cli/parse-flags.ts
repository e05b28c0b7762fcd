import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIo } from './command.ts';
import { usageError } from './run-cli.ts';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>
>;

/**
 * Parses a command's flags (both `--flag=value` and `--flag value`) with a `--help`/`-h` flag added; bad flags
 * (and positional arguments, when not allowed) become CTR_ERR_USAGE with the command's usage text. Returns
 * undefined after printing the usage for --help.
 */
export function parseFlags<O extends Options>(
  args: string[],
  options: O,
  usage: string,
  io: CliIo,
  allowPositionals = true,
): Parsed<O> | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw usageError(`${(err as Error).message}\n\n${usage}`, err);
  }
  if ((parsed.values as Record<string, unknown>).help) {
    io.stdout.write(usage);
    return undefined;
  }
  return parsed as unknown as Parsed<O>;
}

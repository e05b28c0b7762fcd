import {
  flagDescription,
  flagSynopsis,
  flagValue,
  type FlagSpec,
  type FlagValue,
} from '../config/flag-spec.ts';
import { FLAG_TABLE, type CommandName } from '../config/flag-table.ts';
import { CtrError } from '../errors/registry.ts';
import type { CliIo } from './command.ts';

export type ParsedFlags = {
  /** Every flag of the command: the given value or its default (undefined when neither). */
  readonly values: Readonly<Record<string, FlagValue | undefined>>;
  readonly positionals: readonly string[];
};

/**
 * Splits argv into raw flags and positionals by the command's flag table: `--name=value`, `--name value`, a
 * boolean alone (`--quick`, true) or followed by `true`/`false`. Written by hand because node:util parseArgs
 * refuses a value on a boolean (`--enable_batching=false`, TF Serving's form). Unknown names are kept for the
 * caller to refuse. A flag without its value is CTR_ERR_USAGE.
 */
export function tokenizeFlags(
  args: readonly string[],
  specs: readonly FlagSpec[],
): { flags: Record<string, string | boolean>; positionals: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h') {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const boolean = name === 'help' || specs.find((s) => s.name === name)?.type === 'boolean';
    if (eq >= 0) {
      flags[name] = arg.slice(eq + 1);
    } else if (boolean) {
      const next = args[i + 1];
      flags[name] = next === 'true' || next === 'false' ? args[++i]! : true;
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) throw usageError(`--${name} needs a value`);
      flags[name] = next;
      i++;
    }
  }
  return { flags, positionals };
}

/**
 * Parses a command's argv with its flag table: unknown flags, bad values, missing required flags and stray
 * positionals are CTR_ERR_USAGE with the usage text. Returns undefined after printing the usage for --help.
 */
export function parseFlags(
  command: CommandName,
  args: readonly string[],
  io: CliIo,
): ParsedFlags | undefined {
  const parsed = readFlags(command, args);
  if (parsed.help) io.stdout.write(commandUsage(command));
  return parsed.help ? undefined : parsed;
}

/** parseFlags without the printing: `help` is true for `--help`/`-h` (and nothing else is checked then). */
export function readFlags(command: CommandName, args: readonly string[]): ParsedFlags & { help: boolean } {
  const table = FLAG_TABLE[command];
  const specs: readonly FlagSpec[] = table.flags;
  const withUsage = (message: string) => `${message}\n\n${commandUsage(command)}`;
  const { flags, positionals } = tokenizeFlags(args, specs);
  if (flags.help !== undefined) return { values: {}, positionals, help: true };
  for (const name of Object.keys(flags)) {
    if (!specs.some((s) => s.name === name)) throw usageError(withUsage(`unknown flag --${name}`));
  }
  const positional = 'positional' in table ? table.positional : undefined;
  if (positional === undefined && positionals.length > 0) {
    throw usageError(withUsage(`unexpected argument "${positionals[0]}"`));
  }
  if (positional !== undefined && positionals.length !== 1) {
    throw usageError(withUsage(`${command} takes one ${positional}`));
  }
  const values: Record<string, FlagValue | undefined> = {};
  try {
    for (const spec of specs) values[spec.name] = flagValue(spec, flags[spec.name], 'CTR_ERR_USAGE');
  } catch (err) {
    throw usageError(withUsage((err as Error).message), err);
  }
  return { values, positionals, help: false };
}

/** `--help` of a command: synopsis, description, then each flag with its meaning and default. */
export function commandUsage(command: CommandName): string {
  const table = FLAG_TABLE[command];
  const specs: readonly FlagSpec[] = table.flags;
  const width = Math.max(...specs.map((s) => flagSynopsis(s).length));
  const lines = specs.map((s) => `  ${flagSynopsis(s).padEnd(width)}  ${flagDescription(s)}`);
  return `usage: ${table.synopsis}\n\n${table.description}\n\nflags:\n${lines.join('\n')}\n`;
}

/** A CTR_ERR_USAGE error: a bad flag or argument (exit status 2). */
export function usageError(message: string, cause?: unknown): CtrError {
  return new CtrError('CTR_ERR_USAGE', message, { cause });
}

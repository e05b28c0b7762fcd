import { CtrError, type ErrorCode } from '../errors/registry.ts';

/**
 * One command-line flag, as data: src/config/flag-table.ts lists every flag of every command, and the parser,
 * the defaults, `--help` and docs/flags.md are all generated from it. Names are TF Serving's (and
 * saved_model_cli's) where they have one. A flag is given as `--name=value` or `--name value`; a boolean flag
 * alone means true and also takes `=true|false|1|0` (TF Serving's `--enable_batching=false`).
 */
export type FlagSpec = {
  readonly name: string;
  readonly type: 'string' | 'boolean' | 'int' | 'number' | 'enum';
  /** Used when the flag is not given; undefined: absent unless given (see defaultText). */
  readonly default?: string | number | boolean;
  /** How --help and docs/flags.md describe a default computed at run time (e.g. the number of CPUs). */
  readonly defaultText?: string;
  /** Inclusive range of int and number flags. */
  readonly min?: number;
  readonly max?: number;
  /** The values an enum flag takes. */
  readonly values?: readonly string[];
  readonly required?: boolean;
  /** Placeholder in usage lines: `--out=FILE`. */
  readonly arg?: string;
  readonly help: string;
  /** Where the value lands: a ServingConfig field (`batching.enabled`) or a config-file key. */
  readonly config?: string;
  /** A TF Serving flag accepted for its command lines but without meaning here: why (warned once at start). */
  readonly ignored?: string;
};

export type FlagValue = string | number | boolean;

/**
 * The typed value of `spec` from its raw form, or its default. Fails with `code` (CTR_ERR_USAGE for commands,
 * CTR_ERR_INVALID_CONFIG for `serve`, whose flags are config) naming the flag and the accepted range.
 */
export function flagValue(
  spec: FlagSpec,
  raw: string | boolean | undefined,
  code: ErrorCode,
): FlagValue | undefined {
  const fail = (message: string): never => {
    throw new CtrError(code, message);
  };
  if (raw === undefined) {
    if (spec.required) fail(`--${spec.name} is required`);
    return spec.default;
  }
  if (spec.type === 'boolean') {
    if (raw === true || raw === 'true' || raw === '1') return true;
    if (raw === false || raw === 'false' || raw === '0') return false;
    return fail(`--${spec.name}=${String(raw)} is not true or false`);
  }
  if (typeof raw !== 'string' || raw === '') return fail(`--${spec.name} needs a value`);
  if (spec.type === 'string') return raw;
  if (spec.type === 'enum') {
    if (!spec.values!.includes(raw)) fail(`--${spec.name}=${raw} is not one of ${spec.values!.join(',')}`);
    return raw;
  }
  const min = spec.min ?? -Number.MAX_VALUE;
  const max = spec.max ?? Number.MAX_VALUE;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max)
    fail(`--${spec.name}=${raw} is not a number in [${min}, ${max}]`);
  if (spec.type === 'int' && !Number.isInteger(v)) fail(`--${spec.name}=${raw} is not an integer`);
  return v;
}

/** `--name=ARG` (or `--name` for booleans) for usage lines. */
export function flagSynopsis(spec: FlagSpec): string {
  if (spec.type === 'boolean') return `--${spec.name}`;
  return `--${spec.name}=${spec.arg ?? (spec.type === 'enum' ? spec.values!.join('|') : 'VALUE')}`;
}

/** The help line's tail: what the flag does, then its default, range or that it is required. */
export function flagDescription(spec: FlagSpec): string {
  const notes: string[] = [];
  if (spec.required) notes.push('required');
  const dflt = spec.defaultText ?? (spec.default === undefined ? undefined : String(spec.default));
  if (dflt !== undefined) notes.push(`default: ${dflt}`);
  if (spec.min !== undefined && spec.max !== undefined) notes.push(`range: [${spec.min}, ${spec.max}]`);
  else if (spec.min !== undefined) notes.push(`≥ ${spec.min}`);
  else if (spec.max !== undefined) notes.push(`≤ ${spec.max}`);
  return notes.length ? `${spec.help} (${notes.join('; ')})` : spec.help;
}

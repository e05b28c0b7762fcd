import type { FlagSpec } from './flag-spec.ts';
import { SERVE_FLAGS } from './serve-flags.ts';

/**
 * Every flag of every `ctr-serve` command, as data: src/cli/parse-flags.ts parses with it, `--help` prints it,
 * loadConfig takes serve's defaults and ranges from it, and docs/flags.md is generated from it
 * (`npm run sync:flags`; a test fails when the file is stale). Adding a flag is adding an entry here.
 */
export type CommandFlags = {
  /** First line of `--help`. */
  readonly synopsis: string;
  readonly description: string;
  /** The positional argument the command takes, if any (`PATH`); others refuse positionals. */
  readonly positional?: string;
  readonly flags: readonly FlagSpec[];
};

const TAG_SET: FlagSpec = {
  name: 'tag_set',
  type: 'string',
  defaultText: 'serve',
  arg: 'TAGS',
  help: "comma-separated tags of the SavedModel's MetaGraph",
};
const SIGNATURE_DEF: FlagSpec = {
  name: 'signature_def',
  type: 'string',
  defaultText: "the model's default signature (serving_default)",
  arg: 'NAME',
  help: 'signature to use',
};
const SEED: FlagSpec = {
  name: 'seed',
  type: 'int',
  min: 0,
  arg: 'N',
  help: 'seed of every random draw; same seed and config, same output',
};
const DISTILL_CONFIG: FlagSpec = {
  name: 'config',
  type: 'string',
  arg: 'FILE',
  help: 'JSON or YAML overriding any default setting of the distill config (docs/training.md)',
};

export const FLAG_TABLE = {
  serve: {
    synopsis: 'ctr-serve serve [flags]',
    description:
      "Serves the models over TF Serving's REST API and /v1/ctr:predict until SIGTERM (docs/api.md).",
    flags: SERVE_FLAGS,
  },
  inspect: {
    synopsis: 'ctr-serve inspect PATH [--json] [--tag_set serve]',
    description:
      'Describes a frozen GraphDef (.pb, with its model.json) or a SavedModel directory: format, tag sets, signatures\n' +
      '(inputs and outputs with dtypes and shapes), op counts, and the ops that cannot run here.',
    positional: 'PATH',
    flags: [
      { name: 'json', type: 'boolean', default: false, help: 'print the description as JSON' },
      TAG_SET,
    ],
  },
  run: {
    synopsis:
      'ctr-serve run PATH [--tag_set serve] [--signature_def serving_default] [--outputs a,b] (--inputs JSON | --examples JSON)',
    description:
      'Runs one prediction without a server, like saved_model_cli run. JSON is an object of named tensors as nested\n' +
      "arrays (TF Serving's columnar form), e.g. --inputs '{\"x\": [[1.0], [2.0]]}'; a model with one input also takes\n" +
      'the bare array. --inputs @FILE reads the JSON from FILE. --outputs names the tensors to compute instead of the\n' +
      "signature's outputs: node names (ctr) or tensor names (ctr:0), as freeze takes them. --examples feeds a\n" +
      'signature whose one input takes serialized tf.Examples (classify, regress, or a predict signature on\n' +
      "tf.Example): JSON is a list of examples in TF Serving's :classify/:regress form, e.g. --examples\n" +
      '\'[{"x": 2.0}]\', or that whole body ({"examples": [...], "context": {...}}). Prints\n' +
      '{"outputs": {name: nested array}} on stdout.',
    positional: 'PATH',
    flags: [
      TAG_SET,
      SIGNATURE_DEF,
      {
        name: 'inputs',
        type: 'string',
        arg: 'JSON',
        help: 'the input tensors, or @FILE (this or --examples)',
      },
      {
        name: 'examples',
        type: 'string',
        arg: 'JSON',
        help: 'tf.Examples for a signature that parses them, or @FILE (this or --inputs)',
      },
      {
        name: 'outputs',
        type: 'string',
        arg: 'a,b',
        help: "tensors to compute instead of the signature's outputs (node or tensor names)",
      },
    ],
  },
  freeze: {
    synopsis: 'ctr-serve freeze PATH --outputs a,b --out FILE.pb [--tag_set serve] [--signature_def NAME]',
    description:
      'Turns variables into constants, inlines function calls and keeps only the subgraph the named outputs need\n' +
      "(TensorFlow's convert_variables_to_constants + extract_sub_graph). The signature's inputs become Placeholders\n" +
      'where the outputs need them; node names are kept.',
    positional: 'PATH',
    flags: [
      {
        name: 'outputs',
        type: 'string',
        arg: 'a,b',
        defaultText: "the signature's outputs",
        help: 'node names (ctr) or tensor names (ctr:0) to keep',
      },
      { name: 'out', type: 'string', required: true, arg: 'FILE.pb', help: 'frozen GraphDef to write' },
      TAG_SET,
      SIGNATURE_DEF,
    ],
  },
  data: {
    synopsis: 'ctr-serve data --seed N [--sample_seed S] --rows M --out FILE.csv [--config F]',
    description:
      'Writes a synthetic click log drawn from the documented ground-truth click model (docs/training.md), one\n' +
      'impression per line: user,history,candidate,clicked,true_prob (history: item ids oldest first, space-separated).\n' +
      'Prints the Bayes-optimal AUC and log-loss of the rows (scored with true_prob). The same seed and config give\n' +
      'the same file, drawn from the world `distill --seed N` trains on (without --sample_seed: its test rows).',
    flags: [
      { ...SEED, default: 1 },
      {
        name: 'rows',
        type: 'int',
        required: true,
        min: 1,
        arg: 'M',
        help: 'impressions to write',
      },
      {
        name: 'sample_seed',
        type: 'int',
        min: 0,
        arg: 'S',
        defaultText: "none: the rows of distill's test set for --seed",
        help: 'draw fresh rows from the same world (the world depends on --seed and the config only)',
      },
      { name: 'out', type: 'string', required: true, arg: 'FILE.csv', help: 'CSV file to write' },
      { ...DISTILL_CONFIG, help: 'distill config whose data.clickModel is used (docs/training.md)' },
    ],
  },
  distill: {
    synopsis:
      'ctr-serve distill [--config F] [--quick] [--seed N] [--out DIR] [--data PATH --format csv|sequences]',
    description:
      'Generates (or reads) click logs, pretrains and fine-tunes the BERT-style teacher, distils students with each loss,\n' +
      'evaluates them, and exports the teacher (SavedModel) and the best distilled student (frozen graph) into DIR,\n' +
      'with report.json, report.html and README.md. Progress goes to stderr, the table to stdout.',
    flags: [
      DISTILL_CONFIG,
      {
        name: 'quick',
        type: 'boolean',
        default: false,
        help: 'a seconds-long configuration (tests, smoke checks)',
      },
      { ...SEED, defaultText: "the config's seed (1)" },
      { name: 'out', type: 'string', default: 'models', arg: 'DIR', help: 'model repository to write' },
      {
        name: 'data',
        type: 'string',
        arg: 'PATH',
        defaultText: 'a synthetic click log',
        help: 'data file to train and evaluate on (relative to the working directory)',
      },
      {
        name: 'format',
        type: 'enum',
        arg: 'FORMAT',
        default: 'csv',
        values: ['csv', 'sequences'],
        help: 'csv: a click log (docs/training.md); sequences: `user item [timestamp]` lines, ranked leave-last-out',
      },
    ],
  },
  bench: {
    synopsis:
      'ctr-serve bench [--sections=model,recurrent,http,memory,batching,peer,shadow] [--quick] [--reference=DIR]',
    description: 'The benchmarks of bench/README.md, the same as `npm run bench` (needs bench/, a checkout).',
    flags: [
      {
        name: 'sections',
        type: 'string',
        default: 'model,recurrent,http,memory',
        arg: 'LIST',
        help: 'which benchmarks to run; batching sweeps the batcher settings, peer compares with ../shared/bench-peer, shadow measures the student with shadow scoring off and on',
      },
      {
        name: 'quick',
        type: 'boolean',
        default: false,
        help: 'shorter runs for a smoke test; numbers are rougher',
      },
      {
        name: 'reference',
        type: 'string',
        arg: 'DIR',
        defaultText: '../shared/bench-reference',
        help: "the reference student's files",
      },
    ],
  },
} as const satisfies Record<string, CommandFlags>;

export type CommandName = keyof typeof FLAG_TABLE;

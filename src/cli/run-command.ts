import { readFile } from 'node:fs/promises';
import { CtrError } from '../errors/registry.ts';
import { loadModel } from '../graph/load-model.ts';
import type { HostTensor } from '../graph/model.ts';
import { fromNested, toNested, type NestedValue } from '../graph/nested-arrays.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';
import { usageError } from './run-cli.ts';

const USAGE = `usage: ctr-serve run PATH [--tag_set serve] [--signature_def serving_default] [--outputs a,b] --inputs JSON

Runs one prediction without a server, like saved_model_cli run. JSON is an object of named tensors as nested
arrays (TF Serving's columnar form), e.g. --inputs '{"x": [[1.0], [2.0]]}'; a model with one input also takes
the bare array. --inputs @FILE reads the JSON from FILE. --outputs names the tensors to compute instead of the
signature's outputs: node names (ctr) or tensor names (ctr:0), as freeze takes them. Prints
{"outputs": {name: nested array}} on stdout.
`;

/** `ctr-serve run` (DESIGN §6). */
const command: Command = {
  summary: 'run',
  async run(args, io) {
    const parsed = parseFlags(
      args,
      {
        tag_set: { type: 'string' },
        signature_def: { type: 'string' },
        inputs: { type: 'string' },
        outputs: { type: 'string' },
      },
      USAGE,
      io,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1 || values.inputs === undefined)
      throw usageError(`run takes PATH and --inputs\n\n${USAGE}`);
    const text = values.inputs.startsWith('@')
      ? await readFile(values.inputs.slice(1), 'utf8')
      : values.inputs;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw usageError(`--inputs is not valid JSON: ${(err as Error).message}`, err);
    }
    const names = values.outputs?.split(',').filter(Boolean);
    const model = await loadModel(positionals[0], {
      tags: values.tag_set?.split(',').filter(Boolean),
      ...(names?.length ? { outputs: { names, signature: values.signature_def } } : {}),
    });
    try {
      const name = values.signature_def ?? model.info.defaultSignature;
      const sig = model.info.signatures[name];
      // An unknown or unrunnable signature: let predictHost give its coded error.
      const specs = sig?.inputs ?? {};
      const aliases = Object.keys(specs);
      const named =
        typeof json === 'object' && json !== null && !Array.isArray(json)
          ? (json as Record<string, NestedValue>)
          : aliases.length === 1
            ? { [aliases[0]]: json as NestedValue }
            : undefined;
      if (!named) {
        throw new CtrError('CTR_ERR_INPUT_MISMATCH', `--inputs must name the inputs (${aliases.join(', ')})`);
      }
      const inputs: Record<string, HostTensor> = {};
      for (const [alias, v] of Object.entries(named)) {
        inputs[alias] = fromNested(alias, v, specs[alias]?.dtype ?? 'DT_FLOAT');
      }
      const out = await model.predictHost(inputs, name);
      const outputs = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toNested(t)]));
      io.stdout.write(`${JSON.stringify({ outputs })}\n`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
export default command;

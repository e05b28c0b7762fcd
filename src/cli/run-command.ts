import { readFile } from 'node:fs/promises';
import { CtrError } from '../errors/registry.ts';
import { loadModel } from '../graph/load-model.ts';
import type { HostTensor } from '../graph/model.ts';
import { fromNested, type NestedValue } from '../graph/nested-arrays.ts';
import { formatTensor } from '../http/json-writer.ts';
import type { Command } from './command.ts';
import { parseFlags, usageError } from './parse-flags.ts';

/** `ctr-serve run` (docs/flags.md). */
const command: Command = {
  summary: 'run',
  async run(args, io) {
    const parsed = parseFlags('run', args, io);
    if (!parsed) return 0;
    const { positionals } = parsed;
    const values = parsed.values as {
      tag_set?: string;
      signature_def?: string;
      inputs: string;
      outputs?: string;
    };
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
    const model = await loadModel(positionals[0]!, {
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
      // The one tensor → JSON policy of the HTTP replies (json-writer.ts): NaN and ±Infinity as TF Serving's bare
      // tokens, float32 with the digits that round-trip it.
      const fields = Object.entries(out).map(([k, t]) => `${JSON.stringify(k)}:${formatTensor(t)}`);
      io.stdout.write(`{"outputs":{${fields.join(',')}}}\n`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
export default command;

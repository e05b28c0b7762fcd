import { readFile } from 'node:fs/promises';
import { CtrError } from '../errors/registry.ts';
import { loadModel } from '../graph/load-model.ts';
import type { HostTensor } from '../graph/model.ts';
import { fromNested, type NestedValue } from '../graph/nested-arrays.ts';
import { decodeExamplesRequest, parseExamplesBody } from '../http/example-json.ts';
import { formatTensor, isBytesOutput } from '../http/json-writer.ts';
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
      inputs?: string;
      examples?: string;
      outputs?: string;
    };
    if ((values.inputs === undefined) === (values.examples === undefined)) {
      throw usageError('run takes one of --inputs JSON or --examples JSON');
    }
    const given = (values.inputs ?? values.examples)!;
    const text = given.startsWith('@') ? await readFile(given.slice(1), 'utf8') : given;
    let json: unknown;
    try {
      json = values.examples === undefined ? JSON.parse(text) : parseExamplesBody(text);
    } catch (err) {
      const flag = values.examples === undefined ? '--inputs' : '--examples';
      throw usageError(`${flag} is not valid JSON: ${(err as Error).message}`, err);
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
      if (values.examples !== undefined) {
        if (aliases.length !== 1 || specs[aliases[0]!]!.dtype !== 'DT_STRING') {
          throw new CtrError(
            'CTR_ERR_SIGNATURE_METHOD',
            `--examples needs a signature with one string input of serialized tf.Examples; ${name} has ${aliases.join(', ')}`,
          );
        }
        const { examples } = decodeExamplesRequest(
          Array.isArray(json) ? { examples: json } : json,
          'classify',
        );
        inputs[aliases[0]!] = { dtype: 'DT_STRING', shape: [examples.length], values: examples };
      } else {
        for (const [alias, v] of Object.entries(named)) {
          inputs[alias] = fromNested(alias, v, specs[alias]?.dtype ?? 'DT_FLOAT');
        }
      }
      const out = await model.predictHost(inputs, name);
      // The one tensor → JSON policy of the HTTP replies (json-writer.ts): NaN and ±Infinity as TF Serving's bare
      // tokens, float32 with the digits that round-trip it.
      const fields = Object.entries(out).map(
        ([k, t]) => `${JSON.stringify(k)}:${formatTensor(t, 0, 0, isBytesOutput(k, t))}`,
      );
      io.stdout.write(`{"outputs":{${fields.join(',')}}}\n`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
export default command;

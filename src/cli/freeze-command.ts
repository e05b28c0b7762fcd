import { writeFile } from 'node:fs/promises';
import { freezeModel } from '../graph/load-model.ts';
import { encodeGraphDef } from '../graph/proto/encode.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';
import { usageError } from './run-cli.ts';

const USAGE = `usage: ctr-serve freeze PATH --outputs a,b --out FILE.pb [--tag_set serve] [--signature_def NAME]

Turns variables into constants, inlines function calls and keeps only the subgraph the named outputs need
(TensorFlow's convert_variables_to_constants + extract_sub_graph). Outputs are node names (ctr) or tensor names
(ctr:0); without --outputs, the signature's outputs. The signature's inputs (--signature_def, default
serving_default) become Placeholders where the outputs need them; node names are kept.
`;

/** `ctr-serve freeze` (DESIGN §6). */
const command: Command = {
  summary: 'freeze',
  async run(args, io) {
    const parsed = parseFlags(
      args,
      {
        outputs: { type: 'string' },
        out: { type: 'string' },
        tag_set: { type: 'string' },
        signature_def: { type: 'string' },
      },
      USAGE,
      io,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1 || !values.out) throw usageError(`freeze takes PATH and --out\n\n${USAGE}`);
    const outputs = values.outputs
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const graph = await freezeModel(positionals[0], {
      outputs,
      tags: values.tag_set?.split(',').filter(Boolean),
      signature: values.signature_def,
    });
    await writeFile(values.out, encodeGraphDef(graph));
    const ops = new Set(graph.node.map((n) => n.op));
    io.stdout.write(
      `wrote ${values.out}: ${graph.node.length} nodes, ${ops.size} ops (${[...ops].sort().join(', ')})\n`,
    );
    return 0;
  },
};
export default command;

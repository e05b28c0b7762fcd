import { writeFile } from 'node:fs/promises';
import { freezeModel } from '../graph/load-model.ts';
import { encodeGraphDef } from '../graph/proto/encode.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';

/** `ctr-serve freeze` (docs/flags.md). */
const command: Command = {
  summary: 'freeze',
  async run(args, io) {
    const parsed = parseFlags('freeze', args, io);
    if (!parsed) return 0;
    const { positionals } = parsed;
    const values = parsed.values as {
      outputs?: string;
      out: string;
      tag_set?: string;
      signature_def?: string;
    };
    const outputs = values.outputs
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const graph = await freezeModel(positionals[0]!, {
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

import { inspectModel, type ModelDescription, type TensorDescription } from '../graph/inspect-model.ts';
import type { Command } from './command.ts';
import { parseFlags } from './parse-flags.ts';

/** `ctr-serve inspect PATH [--json] [--tag_set a,b]` (docs/flags.md). */
const command: Command = {
  summary: 'inspect',
  async run(args, io) {
    const parsed = parseFlags('inspect', args, io);
    if (!parsed) return 0;
    const tags = (parsed.values.tag_set as string | undefined)?.split(',').filter(Boolean);
    const d = await inspectModel(parsed.positionals[0]!, tags);
    io.stdout.write(parsed.values.json ? `${JSON.stringify(d, null, 2)}\n` : formatText(d));
    return 0;
  },
};
export default command;

const shape = (s: number[] | null) =>
  s === null ? 'unknown rank' : `[${s.map((d) => (d < 0 ? '?' : d)).join(',')}]`;
const tensor = (alias: string, t: TensorDescription) =>
  `      ${alias}: ${t.dtype} ${shape(t.shape)}${t.name ? ` (${t.name})` : ' (sparse/composite)'}`;

export function formatText(d: ModelDescription): string {
  const lines = [`path: ${d.path}`, `format: ${d.format}`];
  if (d.format === 'saved_model') {
    lines.push(
      `tag sets: ${d.tagSets.map((s) => `[${s.join(', ')}]`).join(' ')}`,
      `described tag set: [${d.tags.join(', ')}]`,
    );
  }
  if (d.vocabSize !== undefined) lines.push(`vocab_size: ${d.vocabSize}`);
  if (d.oovId !== undefined) lines.push(`oov_id: ${d.oovId}`);
  lines.push('signatures:');
  for (const [name, s] of Object.entries(d.signatures)) {
    lines.push(`  ${name} (${s.methodName || 'no method name'})`, '    inputs:');
    for (const [alias, t] of Object.entries(s.inputs)) lines.push(tensor(alias, t));
    lines.push('    outputs:');
    for (const [alias, t] of Object.entries(s.outputs)) lines.push(tensor(alias, t));
    if (s.error) lines.push(`    cannot be frozen: ${s.error.code}: ${s.error.message}`);
    else if (s.unsupportedOps.length) {
      lines.push(`    cannot run here, ops: ${s.unsupportedOps.map((u) => u.op).join(', ')}`);
    } else lines.push('    runs here');
  }
  lines.push('op counts:');
  for (const [op, n] of Object.entries(d.opCounts)) lines.push(`  ${op}: ${n}`);
  lines.push(`ops that cannot run here: ${d.unsupportedOps.length ? d.unsupportedOps.join(', ') : 'none'}`);
  return `${lines.join('\n')}\n`;
}

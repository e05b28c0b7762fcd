import type { DistillReport } from './report-types.ts';
import { reportTable } from './console-table.ts';

/** models/README.md: how the committed models were made (command, seed, config) and what they measured. */
export function modelsReadme(r: DistillReport): string {
  return `# Default models

Made by \`${r.command}\` (seed ${r.seed}, backend ${r.backend}, ${r.durationS.toFixed(0)} s). Rerunning that command
rewrites this directory with the same weights and metrics. The pipeline is described in docs/training.md.

- \`ctr-teacher/${r.config.export.version}/\`: the fine-tuned BERT-style teacher, a SavedModel with real variables
  (VariableV2 nodes named by their checkpoint keys, a TF1 Saver, and \`variables/\`).
- \`ctr-student/${r.config.export.version}/\`: the exported student (\`${r.export.student}\`), frozen out of one graph that held
  teacher and student together, cut at \`student/ctr\` and \`student/logit\` (${r.export.studentGraphNodes} nodes); \`model.json\`
  names the signature (docs/api.md, CTR batch API) and declares \`vocab_size\` ${r.data.vocabSize ?? r.config.data.clickModel.vocabSize} and \`oov_id\` ${r.config.export.oovId}.
- \`report.json\`, \`report.html\`: the full evaluation (ROC, calibration, scatter, training curves).

Both take \`history\` int32 [batch, ${r.config.data.clickModel.historyLength}] (item ids, oldest first, left-padded with 0) and \`candidate\` int32
[batch], and give \`ctr\` and \`logit\` float32 [batch].

## Metrics on ${r.data.testRows} held-out rows

\`\`\`
${reportTable(r).trimEnd()}
\`\`\`

Latencies were measured on a shared 2-core machine (medians; the ratios are what carries over).

## Config

\`\`\`json
${JSON.stringify(r.config, null, 2)}
\`\`\`
`;
}

// Writes docs/flags.md from the flag table (src/config/flag-table.ts). test/config/flag-table.test.ts fails
// while the file differs and names this script (`npm run sync:flags`).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flagDescription, flagSynopsis, type FlagSpec } from '../src/config/flag-spec.ts';
import { FLAG_TABLE, type CommandName } from '../src/config/flag-table.ts';

export const FLAGS_DOC = fileURLToPath(new URL('../docs/flags.md', import.meta.url));

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function flagsDoc(): string {
  const out = [
    '# Flags',
    '',
    '<!-- generated from src/config/flag-table.ts by `npm run sync:flags`; do not edit by hand -->',
    '',
    'Every command takes `--name=value` or `--name value`; a boolean flag alone means true and also takes',
    '`=true`, `=false`, `=1`, `=0`. `ctr-serve COMMAND --help` prints the same table. Bad values of `serve` flags',
    'fail with `CTR_ERR_INVALID_CONFIG`, of other commands with `CTR_ERR_USAGE` (docs/errors.md).',
  ];
  for (const name of Object.keys(FLAG_TABLE) as CommandName[]) {
    const table = FLAG_TABLE[name];
    const specs: readonly FlagSpec[] = table.flags;
    out.push('', `## ${name}`, '', `\`${table.synopsis}\``, '', table.description.replace(/\n/g, ' '), '');
    const config = specs.some((s) => s.config !== undefined);
    out.push(config ? '| flag | meaning | config |' : '| flag | meaning |');
    out.push(config ? '|---|---|---|' : '|---|---|');
    for (const s of specs) {
      const row = [`\`${cell(flagSynopsis(s))}\``, cell(flagDescription(s))];
      if (config) row.push(s.config === undefined ? '' : `\`${s.config}\``);
      out.push(`| ${row.join(' | ')} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync(FLAGS_DOC, 'utf8');
  const next = flagsDoc();
  if (next !== text) writeFileSync(FLAGS_DOC, next);
  console.log(next === text ? 'docs/flags.md is up to date' : 'docs/flags.md rewritten');
}

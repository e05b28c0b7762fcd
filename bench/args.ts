import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandUsage, readFlags } from '../src/cli/parse-flags.ts';
import { CtrError } from '../src/errors/registry.ts';
import { REFERENCE_SECTIONS, type BenchOptions, type BenchSection } from './bench.ts';

export const BENCH_SECTIONS: readonly BenchSection[] = [
  'model',
  'recurrent',
  'http',
  'memory',
  'batching',
  'peer',
  'shadow',
  'overload',
];

/** What runs without --sections: the batcher sweep restarts the server per setting and is asked for explicitly. */
const DEFAULT_SECTIONS: readonly BenchSection[] = ['model', 'recurrent', 'http', 'memory'];
const DEFAULT_REFERENCE = fileURLToPath(new URL('../../shared/bench-reference', import.meta.url));

export function benchUsage(): string {
  return commandUsage('bench');
}

/** Flags of `ctr-serve bench` / `npm run bench` (src/config/flag-table.ts); CTR_ERR_USAGE for anything malformed. */
export function parseBenchArgs(args: readonly string[], cwd: string): BenchOptions & { help: boolean } {
  const { values: v, help } = readFlags('bench', args);
  const values = v as { sections?: string; quick?: boolean; reference?: string };
  if (help) return { sections: [...DEFAULT_SECTIONS], quick: false, referenceDir: DEFAULT_REFERENCE, help };
  const sections = (values.sections ?? DEFAULT_SECTIONS.join(',')).split(',').map((s) => s.trim());
  const unknown = sections.filter((s) => !(BENCH_SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0 || sections.length === 0) {
    throw new CtrError(
      'CTR_ERR_USAGE',
      `unknown bench section(s) ${unknown.join(', ')}; use ${BENCH_SECTIONS.join(', ')}`,
    );
  }
  const referenceDir = values.reference ? resolve(cwd, values.reference) : DEFAULT_REFERENCE;
  const needsReference = sections.some((s) => (REFERENCE_SECTIONS as readonly string[]).includes(s));
  if (needsReference && !existsSync(resolve(referenceDir, 'weights.bin'))) {
    throw new CtrError(
      'CTR_ERR_USAGE',
      `no reference student at ${referenceDir} (weights.bin, inputs.bin, expected.f32, meta.json); pass --reference=DIR`,
    );
  }
  return { sections: sections as BenchSection[], quick: values.quick ?? false, referenceDir, help };
}

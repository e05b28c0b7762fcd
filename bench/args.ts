import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CtrError } from '../src/errors/registry.ts';
import type { BenchOptions, BenchSection } from './bench.ts';

export const BENCH_SECTIONS: readonly BenchSection[] = ['model', 'recurrent', 'http', 'memory', 'batching'];
/** What runs without --sections: the batcher sweep restarts the server per setting and is asked for explicitly. */
const DEFAULT_SECTIONS: readonly BenchSection[] = ['model', 'recurrent', 'http', 'memory'];
const DEFAULT_REFERENCE = fileURLToPath(new URL('../../shared/bench-reference', import.meta.url));

export function benchUsage(): string {
  return [
    'usage: ctr-serve bench [--sections=model,recurrent,http,memory,batching] [--quick] [--reference=DIR]',
    '',
    '  --sections   which benchmarks to run (default: model,recurrent,http,memory; batching sweeps the batcher settings)',
    '  --quick      shorter runs for a smoke test; numbers are rougher',
    `  --reference  the reference student's files (default: ${DEFAULT_REFERENCE})`,
    '',
  ].join('\n');
}

/** Flags of `ctr-serve bench` / `npm run bench`; CTR_ERR_USAGE for anything malformed. */
export function parseBenchArgs(args: readonly string[], cwd: string): BenchOptions & { help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        sections: { type: 'string' },
        quick: { type: 'boolean', default: false },
        reference: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new CtrError('CTR_ERR_USAGE', `${(err as Error).message}\n${benchUsage()}`, { cause: err });
  }
  const sections = (values.sections ?? DEFAULT_SECTIONS.join(',')).split(',').map((s) => s.trim());
  const unknown = sections.filter((s) => !(BENCH_SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0 || sections.length === 0) {
    throw new CtrError(
      'CTR_ERR_USAGE',
      `unknown bench section(s) ${unknown.join(', ')}; use ${BENCH_SECTIONS.join(', ')}`,
    );
  }
  const referenceDir = values.reference ? resolve(cwd, values.reference) : DEFAULT_REFERENCE;
  if (!values.help && !existsSync(resolve(referenceDir, 'weights.bin'))) {
    throw new CtrError(
      'CTR_ERR_USAGE',
      `no reference student at ${referenceDir} (weights.bin, inputs.bin, expected.f32, meta.json); pass --reference=DIR`,
    );
  }
  return { sections: sections as BenchSection[], quick: values.quick, referenceDir, help: values.help };
}

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CtrError } from '../src/errors/registry.ts';
import { pacedLoad, type PacedResult } from './paced-load.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/**
 * pacedLoad in a process of its own. In the bench process the load generator shares a heap with the model-only
 * section's tensors and autocannon's results: measured there at 821 requests/s it paused 20–22 times in GC for
 * 95–121 ms in all (up to 16.5 ms at once; event-loop delay up to 25 ms), and every request due during a pause
 * counts as late. A small fresh process is what a real client looks like. It first sends `warmupSec` at the same
 * rate, not measured: the first seconds at a new rate were the slowest in every run (p99 24–80 ms where the next
 * windows gave 5–14 ms; bench/README.md).
 */
export async function pacedLoadInProcess(
  url: string,
  body: string,
  ratePerSec: number,
  durationSec: number,
  scheduling: 'fifo' | 'lifo',
  warmupSec = 0,
): Promise<PacedResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', SELF, url, String(ratePerSec), String(durationSec), scheduling, String(warmupSec)],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdin.end(body);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0)
    throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `the paced load process exited with ${code}`);
  return JSON.parse(Buffer.concat(chunks).toString()) as PacedResult;
}

if (process.argv[1] === SELF) {
  const [url, rate, duration, scheduling, warmup] = process.argv.slice(2);
  const input: Buffer[] = [];
  for await (const c of process.stdin) input.push(c as Buffer);
  const body = Buffer.concat(input).toString();
  const order = scheduling === 'lifo' ? 'lifo' : 'fifo';
  if (Number(warmup) > 0) await pacedLoad(url!, body, Number(rate), Number(warmup), order);
  const result = await pacedLoad(url!, body, Number(rate), Number(duration), order);
  process.stdout.write(JSON.stringify(result));
}

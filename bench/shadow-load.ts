import { loadavg } from 'node:os';
import { CtrError } from '../src/errors/registry.ts';
import { startCtrServe, type ChildServer } from './child-server.ts';
import { pacedLoadInProcess } from './paced-load-process.ts';
import { formatTable } from './table.ts';

/**
 * The student's latency with shadow scoring off and on (issue 13: the teacher off the student's thread). The
 * default models (`models/`: the distilled student, the Transformer teacher as its shadow), `ctr-serve serve
 * --workers=1` pinned to core 0 and restarted per sample rate, the same evenly paced load of CTR requests
 * (1 user × `candidates`, seeded ids) from a process of its own after as long again unmeasured. Rows: sample
 * rate 0, 1, then 0 again (the machine's drift over the section); the shadow counts come from /v1/shadow.
 */
export type ShadowLoadRow = {
  readonly sampleRate: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failed: number;
  readonly sampled: number;
  readonly scored: number;
  readonly dropped: number;
  readonly load1: number;
};

export async function runShadowLoad(opts: {
  readonly ratePerSec: number;
  readonly durationSec: number;
  readonly candidates: number;
}): Promise<ShadowLoadRow[]> {
  const body = JSON.stringify({ requests: [seededUser(opts.candidates)] });
  const rows: ShadowLoadRow[] = [];
  for (const sampleRate of [0, 1, 0]) {
    let server: ChildServer | undefined;
    try {
      server = await startCtrServe(
        ['--workers=1', `--shadow_sample_rate=${sampleRate}`, '--file_system_poll_wait_seconds=0'],
        180_000,
        '0',
      );
      const url = `${server.url}/v1/ctr:predict`;
      const r = await pacedLoadInProcess(
        url,
        body,
        opts.ratePerSec,
        opts.durationSec,
        'fifo',
        opts.durationSec,
      );
      const shadow = (await (await fetch(`${server.url}/v1/shadow`)).json()) as {
        pairs: { requests: { sampled: number; scored: number; dropped: number } }[];
      };
      const counts = shadow.pairs[0]?.requests;
      if (!counts) throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', 'models/ has no shadow pair');
      rows.push({
        sampleRate,
        reqPerSec: r.reqPerSec,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        failed: r.failed,
        ...counts,
        load1: loadavg()[0]!,
      });
    } finally {
      await server?.stop();
    }
  }
  return rows;
}

/** One user's request: 30 history ids and `n` candidates, all in the default student's vocabulary (1..99). */
function seededUser(n: number) {
  let a = 7;
  const id = () => {
    a = (a * 1103515245 + 12345) % 2 ** 31;
    return 1 + (a % 99);
  };
  return { history: Array.from({ length: 30 }, id), candidates: Array.from({ length: n }, id) };
}

export function shadowLoadTable(rows: readonly ShadowLoadRow[]): string {
  const base = rows.find((r) => r.sampleRate === 0);
  return formatTable(
    [
      'shadow sample rate',
      'req/s',
      'p50 ms',
      'p99 ms',
      'p50 vs rate 0',
      'p99 vs rate 0',
      'failed',
      'sampled / scored / dropped',
      'load avg',
    ],
    rows.map((r) => [
      r.sampleRate,
      Math.round(r.reqPerSec),
      r.p50Ms,
      r.p99Ms,
      base ? `${(r.p50Ms / base.p50Ms).toFixed(2)}×` : '',
      base ? `${(r.p99Ms / base.p99Ms).toFixed(2)}×` : '',
      r.failed,
      `${r.sampled} / ${r.scored} / ${r.dropped}`,
      r.load1.toFixed(1),
    ]),
  );
}

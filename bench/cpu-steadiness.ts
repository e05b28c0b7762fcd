/**
 * How steady this machine's CPU is right now: the same fixed work (a walk over a 1 MiB array) counted in
 * `windows` windows of `windowMs`, one core. On a VM whose host is shared, the count moves while nothing in the
 * VM changes (measured here: 253–334 per second over 40 s on an idle VM, a 1.32 spread), and a p99 taken during a
 * slow stretch reads slow. The bench prints this beside its load average so a run can be judged.
 */
export type Steadiness = { readonly min: number; readonly median: number; readonly max: number };

export function cpuSteadiness(windows = 10, windowMs = 500): Steadiness {
  const a = new Float64Array(1 << 17);
  for (let i = 0; i < a.length; i++) a[i] = (i * 2654435761) % 1000;
  const work = () => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * a[(i * 7) & (a.length - 1)]!;
    return s;
  };
  let sum = 0;
  const counts: number[] = [];
  for (let w = 0; w < windows; w++) {
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < windowMs) {
      sum += work();
      n++;
    }
    counts.push(n);
  }
  if (!Number.isFinite(sum)) throw new Error('unreachable: the work is finite');
  counts.sort((x, y) => x - y);
  return { min: counts[0]!, median: counts[Math.floor(counts.length / 2)]!, max: counts[counts.length - 1]! };
}

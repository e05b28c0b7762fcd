/** One timed loop: wall and process CPU time per call (CPU time is steadier on a shared machine). */
export type Timing = { readonly calls: number; readonly wallMs: number; readonly cpuMs: number };

/**
 * Calls `fn` until both `minCalls` calls and `minMs` of wall time have passed, after `warmup` untimed calls.
 * The loop awaits each call: the benchmarks measure one request at a time, as a single-core server runs them.
 */
export async function timeLoop(
  fn: () => Promise<void>,
  opts: { minMs: number; minCalls: number; warmup: number },
): Promise<Timing> {
  for (let i = 0; i < opts.warmup; i++) await fn();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let calls = 0;
  while (calls < opts.minCalls || performance.now() - t0 < opts.minMs) {
    await fn();
    calls++;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { calls, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

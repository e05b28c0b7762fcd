import http from 'node:http';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export type PacedResult = {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Most requests outstanding at once (the connections the load needed). */
  readonly maxInFlight: number;
  /** The client's own stalls, which delay requests as much as a slow server: GC pauses and event-loop delay. */
  readonly clientGcPauses: number;
  readonly clientGcMs: number;
  readonly clientMaxGcMs: number;
  readonly clientMaxLoopDelayMs: number;
};

/**
 * Open-loop load at an even rate: one POST every 1/ratePerSec s for durationSec, over keep-alive connections,
 * each latency taken from the moment the request was due (so a stalled server is not hidden by requests that
 * were not sent). Written here because autocannon's rate limit is per connection per second: each connection
 * sends its quota back to back at the start of every second, so "half the peak rate" is really full load for
 * half of each second and its p99 is the saturated one.
 *
 * `scheduling` picks the free keep-alive connection for the next request: 'fifo' takes the one idle longest
 * (round-robin over the pool, as a load balancer spreads requests), 'lifo' the one freed last (Node's default
 * agent). With `ctr-serve --workers=N` each connection belongs to one worker, so under LIFO requests bunch on
 * whichever worker answered last instead of alternating (bench/README.md: p99 108–145 against 28–38 ms once).
 */
export async function pacedLoad(
  url: string,
  body: string,
  ratePerSec: number,
  durationSec: number,
  scheduling: 'fifo' | 'lifo' = 'fifo',
): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling });
  const target = new URL(url);
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let maxInFlight = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (dueMs: number) => {
    const done = new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - dueMs);
            if (res.statusCode === 200) ok++;
            else failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
    inFlight.add(done);
    maxInFlight = Math.max(maxInFlight, inFlight.size);
    void done.then(() => inFlight.delete(done));
  };
  const gc: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc.push(e.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const intervalMs = 1000 / ratePerSec;
  const startMs = performance.now();
  const total = Math.round(ratePerSec * durationSec);
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && startMs + sent * intervalMs <= now) send(startMs + sent++ * intervalMs);
    const nextMs = startMs + sent * intervalMs - performance.now();
    if (nextMs > 0) await new Promise((resolve) => setTimeout(resolve, nextMs));
  }
  await Promise.all(inFlight);
  agent.destroy();
  observer.disconnect();
  loopDelay.disable();
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    sent,
    ok,
    failed,
    reqPerSec: ok / ((performance.now() - startMs) / 1000),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxInFlight,
    clientGcPauses: gc.length,
    clientGcMs: gc.reduce((a, b) => a + b, 0),
    clientMaxGcMs: Math.max(0, ...gc),
    clientMaxLoopDelayMs: loopDelay.max / 1e6,
  };
}

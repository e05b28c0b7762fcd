import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CtrError } from '../src/errors/registry.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** A server process the HTTP benchmark drives over loopback; `stop()` sends SIGTERM and waits for the exit. */
export type ChildServer = { readonly url: string; readonly pid: number; stop(): Promise<void> };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * `ctr-serve serve` on 127.0.0.1 with the given flags; resolves when /readyz answers 200. With `cpus` ("0",
 * "0,1") the process (and its cluster workers, which inherit the affinity) runs under `taskset -c cpus`.
 */
export async function startCtrServe(
  flags: readonly string[],
  timeoutMs = 120_000,
  cpus?: string,
): Promise<ChildServer> {
  const port = await freePort();
  const argv = [
    process.execPath,
    'bin/ctr-serve.js',
    'serve',
    `--rest_api_port=${port}`,
    '--port=0',
    '--rest_api_host=127.0.0.1',
    ...flags,
  ];
  const [cmd, ...args] = cpus ? ['taskset', '-c', cpus, ...argv] : argv;
  const child = spawn(cmd!, args, {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(child, timeoutMs, async () => (await fetch(`${url}/readyz`)).status === 200);
  return { url, pid: child.pid!, stop: () => stop(child) };
}

/** The no-op Fastify server (bench/noop-server.ts). */
export async function startNoopServer(timeoutMs = 60_000): Promise<ChildServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/noop-server.ts', String(port)], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    child,
    timeoutMs,
    async () => (await fetch(`${url}/noop`, { method: 'POST', body: '{}' })).ok,
  );
  return { url, pid: child.pid!, stop: () => stop(child) };
}

export async function waitUntil(
  child: ChildProcess,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop(child);
  throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `the benchmark server did not become ready:\n${stderr}`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

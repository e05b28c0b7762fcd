import { spawn } from 'node:child_process';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CtrError } from '../src/errors/registry.ts';
import { stop, type ChildServer } from './child-server.ts';

/**
 * The peer of bench/peer.ts: `../shared/bench-peer` (Fastify + onnxruntime-node on the reference student's
 * weights, README there), copied to a temporary directory and installed with `npm install --ignore-scripts`
 * (shared/ is read-only where CI runs; onnxruntime-node's CPU binaries ship in the package). Also the load
 * generator: autocannon's command line in a process of its own, pinned with taskset.
 */
export const DEFAULT_PEER_DIR = fileURLToPath(new URL('../../shared/bench-peer', import.meta.url));
const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));

/** The installed copy's directory, or why the peer cannot run here (the section is skipped then). */
export async function preparePeer(
  source: string,
  root: string,
): Promise<{ dir: string } | { skipped: string }> {
  const dir = join(root, 'bench-peer');
  try {
    await readFile(join(source, 'peer-ort-server.mjs'));
  } catch {
    return { skipped: `no peer at ${source} (peer-ort-server.mjs)` };
  }
  await cp(source, dir, {
    recursive: true,
    filter: (src) => !src.includes(`${join(source, 'node_modules')}`),
  });
  const install = await run(
    'npm',
    ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    dir,
    300_000,
  );
  if (install.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    return { skipped: `npm install in a copy of ${source} failed: ${install.stderr.slice(-400)}` };
  }
  return { dir };
}

/** The peer listening on 127.0.0.1 with `threads` intra-op threads, under `taskset -c cpus`. */
export async function startPeer(
  dir: string,
  referenceDir: string,
  threads: number,
  cpus: string,
): Promise<ChildServer> {
  const child = spawn(
    'taskset',
    [
      '-c',
      cpus,
      process.execPath,
      'peer-ort-server.mjs',
      '--onnx',
      'student_matmul.onnx',
      '--port',
      '0',
      '--threads',
      String(threads),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CTR_BENCH_REF: referenceDir } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const port = await new Promise<number | undefined>((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', () => resolve(undefined));
    setTimeout(() => resolve(undefined), 120_000);
  });
  if (port === undefined) {
    await stop(child);
    throw new CtrError(
      'CTR_ERR_BENCH_CHECK_FAILED',
      `the peer did not start (it checks expected.f32 first):\n${stderr}`,
    );
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stop(child) };
}

export type LoadResult = {
  readonly reqPerSec: number;
  /** 2xx answers over the run. */
  readonly answered: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
};

/**
 * Closed loop: `connections` keep-alive connections, each sending the next request when its answer arrives, for
 * `durationSec`, from autocannon's CLI under `taskset -c cpus` (its latencies are whole milliseconds).
 */
export async function closedLoop(
  url: string,
  bodyFile: string,
  opts: { connections: number; durationSec: number; cpus: string },
): Promise<LoadResult> {
  const args = [
    ...['-c', opts.cpus, process.execPath, AUTOCANNON],
    ...['-c', String(opts.connections), '-d', String(opts.durationSec), '-m', 'POST'],
    ...['-H', 'content-type=application/json', '-i', bodyFile, '-j', '-n', url],
  ];
  const r = await run('taskset', args, process.cwd(), (opts.durationSec + 60) * 1000);
  if (r.code !== 0) throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `autocannon failed: ${r.stderr}`);
  const json = JSON.parse(r.stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    '2xx': number;
    non2xx: number;
    errors: number;
  };
  const answered = json['2xx'] / Math.max(1, json['2xx'] + json.non2xx);
  return {
    reqPerSec: json.requests.average * answered,
    answered: json['2xx'],
    p50Ms: json.latency.p50,
    p99Ms: json.latency.p99,
    non2xx: json.non2xx,
    errors: json.errors,
  };
}

function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => resolve({ code: -1, stdout, stderr: String(err) }));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ: 100 on every Linux ABI Node runs on). */
const USER_HZ = 100;

/**
 * CPU milliseconds (user + system, every thread) used so far by `pid` and its descendants (cluster workers), read
 * from /proc/PID/stat (fields 14 and 15, utime and stime, in clock ticks); 0 for processes gone or where
 * /proc is absent. A server's CPU per answered request moves far less with other tenants on the cores than its
 * req/s does.
 */
export async function processTreeCpuMs(pid: number): Promise<number> {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  let entries: string[] = [];
  try {
    entries = await readdir('/proc');
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const text = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    // The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (rest.length < 13) continue;
    stats.set(Number(e), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
  }
  let ticks = 0;
  const tree = new Set([pid]);
  // Parents are listed before their children in most cases, not always: repeat until the tree stops growing.
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, s] of stats) {
      if (!tree.has(p) && tree.has(s.ppid)) {
        tree.add(p);
        grew = true;
      }
    }
  }
  for (const p of tree) ticks += stats.get(p)?.ticks ?? 0;
  return (ticks * 1000) / USER_HZ;
}

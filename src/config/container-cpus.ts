import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/**
 * How many CPUs this process may use: os.availableParallelism() (the CPUs its affinity allows), lowered to the
 * CPU quota of its cgroup and every parent cgroup, rounded up: cgroup v2 `cpu.max` ("200000 100000" is 2 CPUs,
 * "max 100000" none), cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1 none). A pod limited to 2 CPUs on a
 * 64-core node gets 2, not 64 (docs/api.md, "Processes and shutdown"). Unreadable files mean no quota. `root`
 * replaces `/` for tests (fake /proc and /sys trees).
 */
export function containerCpuCount(root = '/', available = availableParallelism()): number {
  const quotas: number[] = [];
  for (const line of read(join(root, 'proc/self/cgroup'))?.split('\n') ?? []) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    if (controllers === '') quotas.push(...v2Quotas(root, path));
    else if (controllers.split(',').includes('cpu')) quotas.push(...v1Quotas(root, controllers, path));
  }
  const limit = Math.min(available, ...quotas.map((q) => Math.ceil(q - 1e-9)));
  return Math.max(1, limit);
}

/** `cpu.max` quotas in CPUs of the process's v2 cgroup and its parents (the container's own root included). */
function v2Quotas(root: string, path: string): number[] {
  return ancestors(path).flatMap((dir) => {
    const text = read(join(root, 'sys/fs/cgroup', dir, 'cpu.max'));
    const [quota, period] = text?.trim().split(/\s+/) ?? [];
    const q = Number(quota);
    const p = Number(period ?? 100000);
    return quota !== 'max' && q > 0 && p > 0 ? [q / p] : [];
  });
}

/** cfs quotas in CPUs of the process's v1 cpu cgroup and its parents. */
function v1Quotas(root: string, controllers: string, path: string): number[] {
  const mounts = [controllers, 'cpu', 'cpu,cpuacct', 'cpuacct,cpu'];
  return [...new Set(mounts)].flatMap((mount) =>
    ancestors(path).flatMap((dir) => {
      const base = join(root, 'sys/fs/cgroup', mount, dir);
      const q = Number(read(join(base, 'cpu.cfs_quota_us')));
      const p = Number(read(join(base, 'cpu.cfs_period_us')));
      return q > 0 && p > 0 ? [q / p] : [];
    }),
  );
}

/** `/a/b` → `/a/b`, `/a`, `/` (with a namespaced cgroup the container sees its own cgroup as `/`). */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, parts.length - i).join('/')}`).concat('/');
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * `--model_thread`: auto turns the model thread on when every worker can have two CPUs, its event loop's and its
 * model thread's (bench/README.md "Overload": with one worker on two cores the thread answered ~40% more under
 * overload and refused as fast; with as many workers as cores, four busy threads on two cores gave erratic tails,
 * while each worker alternating I/O and model calls kept them bounded).
 */
export function modelThreadOn(value: 'auto' | 'true' | 'false', workers: number, cpus: number): boolean {
  return value === 'auto' ? 2 * workers <= cpus : value === 'true';
}

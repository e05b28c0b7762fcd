import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { containerCpuCount } from '../../src/config/container-cpus.ts';

/** A fake / with the given files (path → contents). */
async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ctr-cgroup-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

const cases: { name: string; files: Record<string, string>; available: number; expected: number }[] = [
  {
    name: 'cgroup v2 namespaced: a pod limited to 2 CPUs on a 64-core node',
    files: { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '200000 100000\n' },
    available: 64,
    expected: 2,
  },
  {
    name: 'cgroup v2: 1.5 CPUs round up to 2',
    files: { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '150000 100000\n' },
    available: 64,
    expected: 2,
  },
  {
    name: 'cgroup v2: no quota ("max") leaves the available CPUs',
    files: { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': 'max 100000\n' },
    available: 8,
    expected: 8,
  },
  {
    name: "cgroup v2 not namespaced: the process's cgroup and its parents, the lowest quota wins",
    files: {
      'proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n',
      'sys/fs/cgroup/kubepods/pod1/cpu.max': '400000 100000\n',
      'sys/fs/cgroup/kubepods/cpu.max': '3200000 100000\n',
    },
    available: 64,
    expected: 4,
  },
  {
    name: 'cgroup v1: cfs quota 300000 over period 100000',
    files: {
      'proc/self/cgroup': '4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n',
      'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '300000\n',
      'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    },
    available: 16,
    expected: 3,
  },
  {
    name: 'cgroup v1: quota -1 (none)',
    files: {
      'proc/self/cgroup': '3:cpu,cpuacct:/\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    },
    available: 6,
    expected: 6,
  },
  {
    name: 'a quota above the CPUs the affinity allows leaves those',
    files: { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '800000 100000\n' },
    available: 2,
    expected: 2,
  },
  { name: 'no cgroup files at all', files: {}, available: 4, expected: 4 },
  {
    name: 'a tiny quota still gives one worker',
    files: { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '10000 100000\n' },
    available: 64,
    expected: 1,
  },
];

for (const c of cases) {
  test(`--workers default: ${c.name}`, async () => {
    const root = await fakeRoot(c.files);
    try {
      assert.equal(containerCpuCount(root, c.available), c.expected);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}

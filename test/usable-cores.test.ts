import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cgroupCpuQuota, usableCores, type ReadText } from '../src/usable-cores.js';

/** A /proc and /sys of our own: path → text. */
const files = (tree: Record<string, string>): ReadText => (path) => tree[path];

const V2_MOUNT = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
const V1_CPU_MOUNT = '40 30 0:35 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n';

describe('usable cores', () => {
  test('a cgroup v2 quota of two cores in a container gives 2', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNT, '/sys/fs/cgroup/cpu.max': '200000 100000\n' });
    assert.equal(cgroupCpuQuota(read), 2);
    assert.equal(usableCores(read), process.platform === 'linux' ? Math.min(availableParallelism(), 2) : availableParallelism());
  });

  test('"max" means no quota, and then the CPU count stands', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNT, '/sys/fs/cgroup/cpu.max': 'max 100000\n' });
    assert.equal(cgroupCpuQuota(read), undefined);
    assert.equal(usableCores(read), availableParallelism());
  });

  test("an ancestor's tighter quota counts, rounded down to whole cores", () => {
    const read = files({
      '/proc/self/cgroup': '0::/app/web\n',
      '/proc/self/mountinfo': V2_MOUNT,
      '/sys/fs/cgroup/app/web/cpu.max': '400000 100000',
      '/sys/fs/cgroup/app/cpu.max': '250000 100000',
      '/sys/fs/cgroup/cpu.max': 'max 100000',
    });
    assert.equal(cgroupCpuQuota(read), 2);
  });

  test('a quota below one core still gives 1', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNT, '/sys/fs/cgroup/cpu.max': '50000 100000' });
    assert.equal(cgroupCpuQuota(read), 1);
  });

  test('cgroup v1: the cpu controller hierarchy, quota -1 meaning none', () => {
    const groups = '5:memory:/job\n3:cpu,cpuacct:/job\n0::/job\n';
    const mounts = `${V2_MOUNT.replace('/sys/fs/cgroup ', '/sys/fs/cgroup/unified ')}${V1_CPU_MOUNT.replace('rw,cpu', 'rw,cpu,cpuacct')}`;
    const limited = files({ '/proc/self/cgroup': groups, '/proc/self/mountinfo': mounts, '/sys/fs/cgroup/cpu/job/cpu.cfs_quota_us': '300000\n', '/sys/fs/cgroup/cpu/job/cpu.cfs_period_us': '100000\n' });
    assert.equal(cgroupCpuQuota(limited), 3);
    const unlimited = files({ '/proc/self/cgroup': groups, '/proc/self/mountinfo': mounts, '/sys/fs/cgroup/cpu/job/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/job/cpu.cfs_period_us': '100000\n' });
    assert.equal(cgroupCpuQuota(unlimited), undefined);
  });

  test("cgroup v1 in a container: the group is the mount's root, so the mount point itself holds the quota", () => {
    const read = files({
      '/proc/self/cgroup': '4:cpu,cpuacct:/docker/0123abcd\n',
      '/proc/self/mountinfo': '50 40 0:36 /docker/0123abcd /sys/fs/cgroup/cpu,cpuacct ro,nosuid master:12 - cgroup cgroup rw,cpu,cpuacct\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '150000',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
    });
    assert.equal(cgroupCpuQuota(read), 1);
  });

  test('never reads above the mount point, even for a group shown outside the namespace', () => {
    const asked: string[] = [];
    const read: ReadText = (path) => {
      asked.push(path);
      return { '/proc/self/cgroup': '0::/../../other\n', '/proc/self/mountinfo': V2_MOUNT, '/sys/fs/cgroup/cpu.max': '100000 100000' }[path];
    };
    assert.equal(cgroupCpuQuota(read), 1);
    assert.deepEqual(asked.filter((p) => !p.startsWith('/proc/')), ['/sys/fs/cgroup/cpu.max']);
  });

  test('without /proc, or with unreadable quota files, there is no quota', () => {
    assert.equal(cgroupCpuQuota(files({})), undefined);
    assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNT })), undefined);
    assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNT, '/sys/fs/cgroup/cpu.max': 'garbage' })), undefined);
  });

  // The real thing: a child process in a cgroup with a one-core quota. Needs Linux, root and a
  // writable cgroup v1 cpu hierarchy (as on the CI machines); skipped elsewhere with the reason.
  const cpuMount = realV1CpuMount();
  test('a process in a cgroup with a one-core quota counts 1 core', { skip: cpuMount.skip }, () => {
    const dir = `${cpuMount.point}/tollgate-test-${process.pid}`;
    mkdirSync(dir);
    try {
      writeFileSync(`${dir}/cpu.cfs_period_us`, '100000');
      writeFileSync(`${dir}/cpu.cfs_quota_us`, '100000');
      const module = fileURLToPath(new URL('../src/usable-cores.ts', import.meta.url));
      const script = `echo $$ > ${dir}/tasks && exec "${process.execPath}" --import tsx -e "import('${module}').then((m) => console.log(m.usableCores()))"`;
      assert.equal(execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim(), '1');
    } finally {
      rmdirSync(dir);
    }
  });
});

function realV1CpuMount(): { point: string; skip: false } | { point: string; skip: string } {
  if (process.platform !== 'linux') return { point: '', skip: 'Linux only' };
  const line = (() => {
    try {
      return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup cgroup \S*\bcpu\b/.test(l));
    } catch {
      return undefined;
    }
  })();
  const point = line?.split(' ')[4];
  if (!point) return { point: '', skip: 'no cgroup v1 cpu hierarchy mounted' };
  try {
    accessSync(point, constants.W_OK);
  } catch {
    return { point, skip: `cannot create a cgroup under ${point} (needs root)` };
  }
  return { point, skip: false };
}

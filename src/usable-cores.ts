/**
 * How many cores this process may use: the CPUs it may run on, capped by its cgroup's CPU quota.
 *
 * Why not `os.availableParallelism()` alone: on Node 20 (libuv 1.46) it counts the CPUs of the
 * affinity mask and ignores the quota, so a container started with `--cpus=2` on a 16-core host
 * reports 16. tollgate sizes two things by it: how many argon2 hashes run at once (cores − 1 per
 * process, each 19 MiB) and whether tokens are signed on the event loop. Counted that way, that
 * container would hash 15 passwords at once (285 MiB) in two cores' worth of time, and a login
 * flood would take the CPU time that authenticated requests need. libuv 1.49 and later (Node 22+)
 * read the quota themselves; the smaller of the two is then the same figure.
 *
 * The quota is read as Linux exposes it: the process's groups in /proc/self/cgroup, where each
 * hierarchy is mounted from /proc/self/mountinfo, then `cpu.max` (cgroup v2) or
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us` (v1) in the group and each ancestor up to the mount,
 * of which the tightest counts. Whole cores, rounded down, at least 1 (`--cpus=2.5` gives 2, as
 * Node 22 does). Anything missing or unreadable means no quota: the CPU count stands.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';

/** A file's text, or undefined when it cannot be read. */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

export function usableCores(read: ReadText = readText): number {
  const cpus = availableParallelism();
  const quota = process.platform === 'linux' ? cgroupCpuQuota(read) : undefined;
  return quota === undefined ? cpus : Math.min(cpus, quota);
}

/** The tightest CPU quota on this process's groups and their ancestors, in whole cores; undefined if none. */
export function cgroupCpuQuota(read: ReadText): number | undefined {
  const groups = read('/proc/self/cgroup');
  const mounts = read('/proc/self/mountinfo');
  if (groups === undefined || mounts === undefined) return undefined;
  let tightest: number | undefined;
  for (const line of groups.split('\n')) {
    // "<hierarchy id>:<controllers>:<path>"; the v2 hierarchy is "0::<path>".
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (!match) continue;
    const v2 = match[1] === '0' && match[2] === '';
    if (!v2 && !match[2]!.split(',').includes('cpu')) continue;
    const mount = cgroupMount(mounts, v2);
    if (!mount) continue;
    const quotaIn = v2
      ? (dir: string) => v2Quota(read(`${dir}/cpu.max`))
      : (dir: string) => v1Quota(read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`));
    for (const dir of groupAndAncestors(mount, match[3]!)) {
      const cores = quotaIn(dir);
      if (cores !== undefined && (tightest === undefined || cores < tightest)) tightest = cores;
    }
  }
  return tightest;
}

interface Mount {
  /** The hierarchy's path that is mounted (not `/` inside some containers). */
  readonly root: string;
  readonly point: string;
}

/** The v2 mount, or the v1 mount that carries the cpu controller. */
function cgroupMount(mountinfo: string, v2: boolean): Mount | undefined {
  for (const line of mountinfo.split('\n')) {
    // "<id> <parent> <dev> <root> <mount point> <options> [optional fields] - <type> <source> <super options>"
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [type, , options = ''] = right.split(' ');
    const wanted = v2 ? type === 'cgroup2' : type === 'cgroup' && options.split(',').includes('cpu');
    if (wanted && fields.length >= 5) return { root: unescapeMountPath(fields[3]!), point: unescapeMountPath(fields[4]!) };
  }
  return undefined;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Directories of the group and of each ancestor under the mount point, the group first. */
function groupAndAncestors(mount: Mount, group: string): string[] {
  // Outside the mounted subtree (a group from another namespace, shown with "..") only the mount
  // point itself is known.
  const inside = !group.split('/').includes('..') && (mount.root === '/' || group === mount.root || group.startsWith(`${mount.root}/`));
  const relative = inside && mount.root !== '/' ? group.slice(mount.root.length) : inside ? group : '/';
  let dir = posix.join(mount.point, relative).replace(/(?<=.)\/+$/, '');
  const dirs = [dir];
  while (dir.startsWith(`${mount.point}/`)) {
    dir = posix.dirname(dir);
    dirs.push(dir);
  }
  return dirs;
}

/** cgroup v2 `cpu.max`: "<quota> <period>" or "max <period>". */
function v2Quota(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  return quota === 'max' ? undefined : wholeCores(Number(quota), Number(period));
}

/** cgroup v1: the quota is -1 when there is none. */
function v1Quota(quota: string | undefined, period: string | undefined): number | undefined {
  return wholeCores(Number(quota?.trim()), Number(period?.trim()));
}

function wholeCores(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

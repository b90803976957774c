/**
 * Keeps the event loop ahead of this process's helper threads in the CPU scheduler.
 *
 * Every request is served on the event loop. The other threads of a Node process do work the
 * event loop hands them: libuv's pool (access-token signatures with fewer workers than cores,
 * argon2 hashes) and V8's garbage-collection helpers. When the event loop wakes a pool thread,
 * Linux often runs it on the event loop's own core at once, and the event loop waits for a core
 * while the other one idles: under a refresh load the event loop was runnable but not running
 * 16-18 % of the time with half a core idle. With the helpers at a higher nice value they run
 * beside the event loop instead of in its place, and still get every cycle it leaves: that wait
 * fell to 8-9 %, and one process did 1.07-1.19x the PostgreSQL + Redis refreshes and 1.32x the
 * SQLite ones (interleaved A/B runs, docs/benchmarks.md).
 *
 * Linux only: a thread's nice value is set with setpriority() on its thread id, listed in
 * /proc/self/task. Elsewhere this does nothing. A priority is only ever lowered: a thread already
 * at the value or above is left alone, and an unprivileged process could not raise one anyway.
 */
import { randomFill } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Sets every thread of this process but the event loop to nice `nice` (0 to 19; 0 does nothing).
 * Returns how many threads it lowered.
 */
export async function lowerHelperThreads(nice: number): Promise<number> {
  if (nice <= 0 || process.platform !== 'linux') return 0;
  // libuv starts its pool on first use; one tiny job makes sure its threads exist to be listed.
  await new Promise((resolve) => randomFill(Buffer.alloc(1), resolve));
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return 0; // no /proc mounted: nothing to go by
  }
  let lowered = 0;
  for (const task of tasks) {
    const tid = Number(task);
    if (tid === process.pid) continue; // the main thread's id is the process id: the event loop
    try {
      if (getPriority(tid) >= nice) continue;
      setPriority(tid, nice);
      lowered++;
    } catch {
      // The thread ended since the listing: nothing left to lower.
    }
  }
  return lowered;
}

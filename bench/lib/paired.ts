/**
 * Paired slices: the goal ratios against bare Fastify from many short measurements that alternate
 * between the two servers, one pair at a time.
 *
 * Why: on these shared VMs the whole machine slows for a few seconds at a time (bare Fastify's
 * CPU per request went from 30 µs to 49 µs between two 5 s runs). The round-robin rounds of
 * run.ts put one 5 s run of each side next to each other, three times; a burst on one side of
 * one pair moves that round's ratio by half or more, and with three rounds one such round moves
 * the median across the goal. Here a burst spoils the one or two pairs it falls on, and the
 * median over many pairs leaves them out on either side: it does not favour either server,
 * because a burst on tollgate's slice lowers a pair's ratio as much as one on bare Fastify's
 * raises it. Within a pair the order alternates (`a` first in pairs 1, 3, 5…, `b` first in
 * pairs 2, 4, 6…), so a steady drift does not favour whichever side runs second.
 *
 * What it does not remove: the speed that one process keeps for its life (docs/benchmarks.md,
 * "Processes of one build differ"). Every pair measures the same two processes.
 */
import { load, type LoadSpec } from './load.js';
import type { Series } from './report.js';
import type { LoadSettings } from './scenarios.js';

export interface PairSettings {
  /** How many pairs (each one slice of each side). */
  readonly pairs: number;
  /** Seconds per slice (whole seconds with wrk). */
  readonly sliceSec: number;
}

export type AuthSpec = Omit<LoadSpec, 'connections' | 'threads' | 'durationSec'>;

const emptySeries = (target: string, scenario: string): Series => ({ target, scenario, samples: [], warmupStatuses: {}, failures: [] });

/**
 * Measures `a` and `b` in `pairs` alternating slices and returns one series per side, whose
 * samples are numbered by pair: ratioValues() of the two gives one ratio per pair.
 * Before the first pair each side has one warm-up of `s.warmupSec` (status codes tallied).
 */
export async function measurePairs(
  a: { readonly name: string; readonly spec: AuthSpec },
  b: { readonly name: string; readonly spec: AuthSpec },
  p: PairSettings,
  s: LoadSettings,
  log: (line: string) => void,
): Promise<{ readonly a: Series; readonly b: Series }> {
  const scenario = `authenticated request, paired ${p.sliceSec} s slices`;
  const sides = [{ ...a, series: emptySeries(a.name, scenario) }, { ...b, series: emptySeries(b.name, scenario) }] as const;
  const base = { connections: s.connections, threads: s.threads };
  let where = 'warm-up';
  try {
    for (const side of sides) {
      const warm = await load(s.tool, { ...side.spec, ...base, durationSec: s.warmupSec, tally: true });
      for (const [k, v] of Object.entries(warm.statuses ?? {})) side.series.warmupStatuses[k] = (side.series.warmupStatuses[k] ?? 0) + v;
    }
    for (let pair = 0; pair < p.pairs; pair++) {
      where = `pair ${pair + 1}`;
      log(`paired slices ${a.name} / ${b.name}: ${pair + 1}/${p.pairs}`);
      const order = pair % 2 === 0 ? sides : [sides[1], sides[0]];
      for (const side of order) {
        side.series.samples.push({ round: pair, result: await load(s.tool, { ...side.spec, ...base, durationSec: p.sliceSec }) });
      }
    }
  } catch (error) {
    const why = `${where}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    for (const side of sides) side.series.failures.push(why);
  }
  return { a: sides[0].series, b: sides[1].series };
}

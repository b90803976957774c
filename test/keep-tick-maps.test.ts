import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const child = fileURLToPath(new URL('./support/tick-maps-child.ts', import.meta.url));

/**
 * Runs the child under V8's map log; returns its output and how many maps V8 built on a nextTick
 * entry's first key after the collections. The log is one file per isolate (tsx loads modules
 * on a thread of its own); the main thread's is the one with the marker.
 */
function run(mode: 'keep' | 'plain'): { out: string; rebuilt: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-tick-maps-'));
  try {
    const result = spawnSync(process.execPath, [
      '--expose-gc', '--log-maps', '--no-log-maps-details', `--logfile=${join(dir, 'v8.log')}`,
      '--import', 'tsx', child, mode,
    ], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    const isMarker = (line: string): boolean => line.startsWith('map,Transition,') && line.endsWith(',tollgate_after_collections');
    const lines = readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8').split('\n')).find((log) => log.some(isMarker));
    assert.ok(lines, 'the marker transition is in a map log');
    const after = lines.slice(lines.findIndex(isMarker));
    const rebuilt = after.filter((line) => line.startsWith('map,Transition,') && line.includes('symbol("async_id_symbol"')).length;
    return { out: result.stdout, rebuilt };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('keep-tick-maps', () => {
  // One child with the module serves both tests that need it.
  let kept: ReturnType<typeof run> | undefined;
  const withKeeper = (): ReturnType<typeof run> => (kept ??= run('keep'));

  it('without it, full collections at idle make V8 rebuild the nextTick entry maps (what the module prevents)', () => {
    assert.ok(run('plain').rebuilt > 0);
  });

  it('with it, the same collections leave the nextTick entry maps as they were', () => {
    assert.equal(withKeeper().rebuilt, 0);
  });

  it('holds an object on the map of a real nextTick entry', () => {
    assert.match(withKeeper().out, /^same-map true$/m);
  });

  it('is the first module the tollgate command loads', () => {
    const firstImport = /^import\s[^;]*;/m.exec(readFileSync(join(root, 'src/cli.ts'), 'utf8'))?.[0];
    assert.equal(firstImport, "import './keep-tick-maps.js';");
  });
});

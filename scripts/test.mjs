// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Node 20's runner cannot glob .ts files itself, so this lists them. Suites that need a real
// Redis, Redis Cluster or PostgreSQL read TEST_REDIS_URL, TEST_REDIS_CLUSTER_URL and
// TEST_DATABASE_URL; when one is unset those suites skip, and this says so before and after.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const services = [
  ['TEST_REDIS_URL', 'Redis session-store, multi-instance and rate-limit suites'],
  ['TEST_REDIS_CLUSTER_URL', 'Redis Cluster session-store suite'],
  ['TEST_DATABASE_URL', 'PostgreSQL account-store and multi-instance suites'],
];
const missing = services.filter(([name]) => !process.env[name]);
const explain = () => {
  for (const [name, what] of missing) console.log(`# skipped: ${what} (${name} is not set)`);
  if (missing.length) console.log('# set them (see README, "Tests") or run .ci/run to include those suites');
};
explain();

const files = process.argv.length > 2 ? process.argv.slice(2) : findTests('test');
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
explain();
process.exit(result.status ?? 1);

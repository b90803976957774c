#!/usr/bin/env node
/**
 * The `tollgate` command. Failures print one line (no stack) and exit non-zero.
 */
// First, before the modules whose loading runs the first full collections (src/keep-tick-maps.ts).
import './keep-tick-maps.js';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { systemClock } from './core/clock.js';
import { ConfigError } from './errors.js';
import { AppError } from './errors.js';
import { readPassword } from './cli/prompt.js';
import { serve } from './cli/serve.js';
import { createServices } from './services.js';
import { migrate } from './store/sql/migrations.js';
import { openSqlDatabase } from './store/sql/database.js';
import { openStores, StoreStartError } from './store/open.js';
import { SqliteServeLockError } from './store/sqlite-lock.js';

const HELP = `Usage: tollgate <command> [options]

Commands:
  serve [--workers N]     start the server (configuration from the environment and .env)
  migrate                 bring the database schema up to date, then exit
  user add <username>     create a user; the password is read from a prompt or stdin
  keys list               show signing keys and their state
  keys rotate [--now]     publish a new signing key; it signs after one access-token
                          lifetime (or at once with --now); old keys verify until their
                          tokens expire
  --help                  this text

Configuration: see README.md ("Configuration") or docs/configuration in the repository.
`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, workers: { type: 'string' }, now: { type: 'boolean' } },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const env = values.workers === undefined ? process.env : { ...process.env, TOLLGATE_WORKERS: values.workers };
  const config = loadConfig(env);

  switch (`${command} ${rest[0] ?? ''}`.trim()) {
    case 'serve':
      return serve(config);
    case 'migrate': {
      const { db } = openSqlDatabase(config.databaseUrl);
      try {
        const ran = await migrate(db);
        process.stdout.write(ran.length ? `applied: ${ran.join(', ')}\n` : 'schema is up to date\n');
      } finally {
        await db.destroy();
      }
      return;
    }
    case 'user add': {
      const username = rest[1];
      if (!username) throw new UsageError('user add needs a username: tollgate user add <username>');
      const password = await readPassword(`password for ${username}: `);
      await withServices(config, async (services) => {
        const user = await services.accounts.register(username, password);
        process.stdout.write(`created user ${user.username} (${user.id})\n`);
      });
      return;
    }
    case 'keys list':
      return withServices(config, async ({ keys }) => {
        const now = Date.now();
        for (const k of await keys.list()) {
          const state = k.expiresAt !== null && k.expiresAt <= now ? 'expired'
            : k.retiresAt !== null && k.retiresAt <= now ? 'retired (verifies only)'
            : k.activatesAt > now ? 'published, not yet signing'
            : k.retiresAt !== null ? 'signing until retirement' : 'signing';
          const times = [`created ${iso(k.createdAt)}`, `signs from ${iso(k.activatesAt)}`, k.retiresAt && `retires ${iso(k.retiresAt)}`, k.expiresAt && `dropped ${iso(k.expiresAt)}`];
          process.stdout.write(`${k.kid}  ${k.alg}  ${state}\n    ${times.filter(Boolean).join(', ')}\n`);
        }
      });
    case 'keys rotate':
      if (config.jwtAlg === 'HS256') throw new UsageError('HS256 keys come from TOLLGATE_JWT_SECRET; change the secret to rotate');
      return withServices(config, async ({ keys }) => {
        const key = await keys.rotate({ immediately: values.now === true });
        process.stdout.write(`new key ${key.kid} (${key.alg}) published; signs from ${iso(key.activatesAt)}\n`);
      });
    default:
      throw new UsageError(`unknown command "${[command, ...rest].join(' ')}"; see tollgate --help`);
  }
}

async function withServices(config: ReturnType<typeof loadConfig>, run: (services: Awaited<ReturnType<typeof createServices>>) => Promise<void>): Promise<void> {
  const stores = await openStores(config);
  try {
    await run(await createServices(config, stores, { clock: systemClock }));
  } finally {
    await stores.close();
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Expected failures are one line; anything else is a bug and keeps its stack for the report.
  const expected = error instanceof ConfigError || error instanceof StoreStartError || error instanceof SqliteServeLockError || error instanceof UsageError || error instanceof AppError
    || (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'));
  if (expected) {
    const message = (error as Error).message;
    process.stderr.write(error instanceof ConfigError ? `tollgate: invalid configuration:\n${message.split('\n').map((l) => `  ${l}`).join('\n')}\n` : `tollgate: ${message}\n`);
  } else {
    process.stderr.write(`tollgate: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(error instanceof UsageError ? 2 : 1);
});

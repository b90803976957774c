/**
 * Wires the auth core to the stores: everything the HTTP layer and the CLI call. Built once at
 * start; plain objects, no Fastify.
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { AccessTokens, signsOnEventLoop } from './core/access-tokens.js';
import { Accounts } from './core/accounts.js';
import type { Clock } from './core/clock.js';
import { KeyRing } from './core/keys.js';
import { PasswordHasher } from './core/passwords.js';
import { RefreshChain } from './core/refresh-tokens.js';
import { Sessions } from './core/sessions.js';
import { Todos } from './core/todos.js';
import type { Stores } from './store/types.js';
import { usableCores } from './usable-cores.js';

export interface Services {
  readonly config: Config;
  readonly clock: Clock;
  readonly stores: Stores;
  readonly keys: KeyRing;
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly todos: Todos;
}

export async function createServices(config: Config, stores: Stores, deps: { clock: Clock; hasher?: PasswordHasher }): Promise<Services> {
  const { clock } = deps;
  const keys = await KeyRing.open(stores.keys, { alg: config.jwtAlg, secret: config.jwtSecret, accessTtl: config.accessTtl, clockLeeway: config.clockLeeway }, clock);
  // The refresh-chain key lives beside the signing keys so that every instance derives the same
  // successors; generated once, by whichever instance starts first.
  const chainKey = await stores.keys.getOrCreateSecret('refresh-chain-v1', randomBytes(32).toString('base64url'));
  const tokens = new AccessTokens(keys, { ...config, signOnEventLoop: signsOnEventLoop(config.workers, usableCores()) }, clock);
  const sessions = new Sessions(
    { store: stores.sessions, tokens, chain: new RefreshChain(createSecretKey(Buffer.from(chainKey, 'base64url'))), clock },
    config,
  );
  const accounts = new Accounts({ store: stores.accounts, sessions: stores.sessions, hasher: deps.hasher ?? new PasswordHasher(undefined, { concurrency: config.hashConcurrency, maxQueued: 256 }), clock });
  return { config, clock, stores, keys, accounts, sessions, todos: new Todos(stores.todos, clock) };
}

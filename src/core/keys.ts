/**
 * Signing keys. Asymmetric keys are generated on first start and kept in the key store, so a
 * restart (or another instance) keeps every issued token valid. The key id is the RFC 7638 JWK
 * thumbprint. A rotation publishes the new public key before it signs anything and keeps old
 * public keys until every token they signed has expired.
 */
import { createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPair, type JsonWebKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Clock } from './clock.js';
import type { JwsAlg, JwsKey } from './jws.js';
import type { KeyStore, StoredKey } from '../store/types.js';

const generate = promisify(generateKeyPair);

export interface KeyRingOptions {
  readonly alg: JwsAlg;
  /** The HS256 secret; only with alg HS256. */
  readonly secret?: string | undefined;
  /** Seconds a token lives: how long a retired key must keep verifying. */
  readonly accessTtl: number;
  readonly clockLeeway: number;
}

export interface PublicJwk extends JsonWebKey {
  readonly kid: string;
  readonly alg: JwsAlg;
  readonly use: 'sig';
}

/** A miss on an unknown kid reloads from the store at most this often (another instance may have rotated). */
const RELOAD_THROTTLE_MS = 5_000;
/**
 * Before signing or publishing, keys older than this are re-read, so a rotation made by another
 * process (`tollgate keys rotate`, another instance) is published and used within 30 s: well
 * inside the one-lifetime lead a scheduled key has, and the JWKS max-age.
 */
const FRESHNESS_MS = 30_000;
/** How long an instance that lost the race to create the first key waits for the winner's. */
const FIRST_KEY_WAIT_MS = 5_000;
const FIRST_KEY_POLL_MS = 50;

export class KeyRing {
  readonly #store: KeyStore;
  readonly #options: KeyRingOptions;
  readonly #clock: Clock;
  readonly #hmacKey: JwsKey | undefined;
  #stored: StoredKey[] = [];
  #verifying = new Map<string, { readonly key: JwsKey; readonly until: number }>();
  #signing: JwsKey | undefined;
  #lastReload = 0;
  /** When the signing key must next be re-chosen (a scheduled key activates or the current retires). */
  #switchAt = Infinity;

  private constructor(store: KeyStore, options: KeyRingOptions, clock: Clock) {
    this.#store = store;
    this.#options = options;
    this.#clock = clock;
    this.#hmacKey = options.alg === 'HS256' ? hmacKey(options.secret ?? '') : undefined;
  }

  /** Loads the keys, creating a first key for the configured algorithm if there is none. */
  static async open(store: KeyStore, options: KeyRingOptions, clock: Clock): Promise<KeyRing> {
    const ring = new KeyRing(store, options, clock);
    await ring.reload();
    if (!ring.#signing) {
      // Several instances may start at once on an empty store. One wins the right to create the
      // first key (getOrCreateSecret is atomic); the others wait for it to appear, so they never
      // sign with keys the winner has not loaded. If the winner dies first, we store our own.
      const candidate = await newStoredKey(options.alg, clock.now(), clock.now());
      const winner = await store.getOrCreateSecret(`first-signing-key:${options.alg}`, candidate.kid);
      if (winner !== candidate.kid) await ring.#waitForSigner(FIRST_KEY_WAIT_MS);
      if (!ring.#signing) {
        await store.insertKey(candidate);
        await ring.reload();
      }
    }
    return ring;
  }

  async #waitForSigner(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#signing && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, FIRST_KEY_POLL_MS));
      await this.reload();
    }
  }

  /** The key to sign with now, after re-reading the store if our copy is older than FRESHNESS_MS. */
  async currentSigningKey(): Promise<JwsKey> {
    await this.#refresh();
    return this.signingKey();
  }

  /** The JWKS, after re-reading the store if our copy is older than FRESHNESS_MS. */
  async currentJwks(): Promise<{ keys: PublicJwk[] }> {
    await this.#refresh();
    return this.jwks();
  }

  /** If the store cannot answer we keep the keys we have: the request fails closed elsewhere if it must. */
  async #refresh(): Promise<void> {
    await this.reloadIfStale(FRESHNESS_MS).catch(() => false);
  }

  signingKey(): JwsKey {
    // A key scheduled by `keys rotate` takes over at its activation time without a restart.
    if (this.#clock.now() >= this.#switchAt) this.#selectSigner();
    if (!this.#signing) throw new Error('no signing key');
    return this.#signing;
  }

  /** The verification key for `kid`, if loaded. */
  find(kid: string): JwsKey | undefined {
    const entry = this.#verifying.get(kid);
    // A key past its expiry verifies nothing, even before the next reload notices it is gone.
    return entry && this.#clock.now() < entry.until ? entry.key : undefined;
  }

  /** Reloads from the store unless that was done in the last few seconds; true if it reloaded. */
  async reloadIfStale(maxAgeMs = RELOAD_THROTTLE_MS): Promise<boolean> {
    if (this.#clock.now() - this.#lastReload < maxAgeMs) return false;
    await this.reload();
    return true;
  }

  jwks(): { keys: PublicJwk[] } {
    const now = this.#clock.now();
    return {
      keys: this.#stored
        .filter((k) => (k.expiresAt ?? Infinity) > now)
        .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' as const })),
    };
  }

  async reload(): Promise<void> {
    const now = this.#clock.now();
    this.#lastReload = now;
    const stored = (await this.#store.listKeys()).filter((k) => (k.expiresAt ?? Infinity) > now);
    const verifying = new Map<string, { readonly key: JwsKey; readonly until: number }>();
    for (const k of stored) {
      verifying.set(k.kid, { key: { kid: k.kid, alg: k.alg, key: createPublicKey({ key: k.publicJwk, format: 'jwk' }) }, until: k.expiresAt ?? Infinity });
    }
    if (this.#hmacKey) verifying.set(this.#hmacKey.kid, { key: this.#hmacKey, until: Infinity });
    this.#stored = stored;
    this.#verifying = verifying;
    this.#selectSigner();
  }

  #selectSigner(): void {
    if (this.#hmacKey) {
      this.#signing = this.#hmacKey;
      return;
    }
    const now = this.#clock.now();
    const { alg } = this.#options;
    const chosen = select(this.#stored, alg, now);
    if (chosen && chosen.kid !== this.#signing?.kid) {
      this.#signing = { kid: chosen.kid, alg, key: createPrivateKey({ key: chosen.privateJwk, format: 'jwk' }) };
    } else if (!chosen) {
      this.#signing = undefined;
    }
    const upcoming = this.#stored.filter((k) => k.alg === alg && k.activatesAt > now).map((k) => k.activatesAt);
    this.#switchAt = Math.min(chosen?.retiresAt ?? Infinity, ...upcoming);
  }

  /**
   * Schedules a new key: published now, signing from `activatesAt` (one access-token lifetime
   * from now so caches of the JWKS pick it up first, or now with `immediately`). Current keys
   * retire then and stay published until their last token has expired.
   */
  async rotate(options?: { immediately?: boolean }): Promise<StoredKey> {
    if (this.#options.alg === 'HS256') throw new Error('HS256 keys come from TOLLGATE_JWT_SECRET; change the secret to rotate');
    const now = this.#clock.now();
    const lifetimeMs = (this.#options.accessTtl + this.#options.clockLeeway) * 1000;
    const activatesAt = options?.immediately ? now : now + lifetimeMs;
    const key = await newStoredKey(this.#options.alg, now, activatesAt);
    await this.#store.insertKey(key);
    for (const old of this.#stored) {
      // An immediate rotation also brings forward a retirement scheduled by an earlier rotation. A
      // retired key is kept one lifetime after its last token expired, so a just-expired token still
      // verifies and answers token_expired (clients refresh on that) rather than invalid_token.
      if (old.retiresAt === null || old.retiresAt > activatesAt) await this.#store.retireKey(old.kid, activatesAt, activatesAt + 2 * lifetimeMs);
    }
    await this.reload();
    return key;
  }

  /** Every stored key with its state, for `tollgate keys list`. */
  async list(): Promise<StoredKey[]> {
    return this.#store.listKeys();
  }
}

/** The key that signs now: of the configured algorithm, active, not retired; newest activation wins. */
function select(stored: StoredKey[], alg: JwsAlg, now: number): StoredKey | undefined {
  return stored
    .filter((k) => k.alg === alg && k.activatesAt <= now && (k.retiresAt ?? Infinity) > now)
    .sort((a, b) => b.activatesAt - a.activatesAt || a.createdAt - b.createdAt || a.kid.localeCompare(b.kid))[0];
}

function hmacKey(secret: string): JwsKey {
  // The kid names the secret without revealing it: a truncated hash, so a changed secret gets a new kid.
  const kid = `hs-${createHash('sha256').update(`tollgate-kid:${secret}`).digest('base64url').slice(0, 16)}`;
  return { kid, alg: 'HS256', key: createSecretKey(Buffer.from(secret)) };
}

async function newStoredKey(alg: JwsAlg, now: number, activatesAt: number): Promise<StoredKey> {
  const pair = await generatePair(alg);
  const publicJwk = pair.publicKey.export({ format: 'jwk' });
  return {
    kid: thumbprint(publicJwk),
    alg,
    privateJwk: pair.privateKey.export({ format: 'jwk' }),
    publicJwk,
    createdAt: now,
    activatesAt,
    retiresAt: null,
    expiresAt: null,
  };
}

function generatePair(alg: JwsAlg): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (alg) {
    case 'ES256':
      return generate('ec', { namedCurve: 'P-256' });
    case 'EdDSA':
      return generate('ed25519');
    case 'RS256':
      return generate('rsa', { modulusLength: 2048 });
    case 'HS256':
      throw new Error('HS256 keys are not generated');
  }
}

/** RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order. */
export function thumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : jwk.kty === 'OKP' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
    : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

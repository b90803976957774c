import { timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets (or their hashes) in time that does not depend on where they differ, so
 * a secret cannot be learned byte by byte from response times. Lengths are public.
 */
export function equalSecrets(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

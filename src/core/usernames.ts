import { AppError } from '../errors.js';

export interface Username {
  /** As the user typed it, NFKC-normalised: what we show. */
  readonly display: string;
  /** Case-folded form: what uniqueness and lookup use, so "Alice" and "alice" are one account. */
  readonly key: string;
}

// Control, format (zero-width, bidi overrides), line/paragraph separators and surrogates: they make
// names that look alike but differ, or break logs and UIs.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

export function parseUsername(raw: string): Username {
  const display = raw.normalize('NFKC');
  const length = [...display].length;
  if (length < 3 || length > 64) throw new AppError('invalid_request', 'username must be 3 to 64 characters');
  if (INVISIBLE.test(display) || display.trim() !== display) {
    throw new AppError('invalid_request', 'username must not contain control characters or surrounding spaces');
  }
  return { display, key: display.toLowerCase().normalize('NFKC') };
}

/**
 * Refuses passwords from a list of the most common ones (NIST SP 800-63B §5.1.1.2: check new
 * passwords against values known to be commonly used). The list is the ~49k "passwords-common"
 * dictionary maintained by zxcvbn-ts (@zxcvbn-ts/language-common, MIT), drawn from leaked-password
 * frequency data. Loaded once, lazily, into a Set: registration and password change only.
 */
import { dictionary } from '@zxcvbn-ts/language-common';

let common: Set<string> | undefined;

export function isCommonPassword(password: string): boolean {
  common ??= new Set(dictionary['passwords-common'].map((p: string) => p.toLowerCase()));
  return common.has(password.normalize('NFKC').toLowerCase());
}

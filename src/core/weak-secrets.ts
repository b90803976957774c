/**
 * HS256 secrets of 32 bytes or more that are still guessable: placeholders copied from tutorials
 * and .env examples, and low-entropy patterns. Anyone holding one token can test guesses offline
 * (hashcat mode 16500 runs wordlists of JWT secrets), so such a secret is refused at start.
 */

// Substrings that mark a secret as a placeholder someone forgot to replace (compared lower-case,
// with separators removed). Drawn from the seed tutorials and common .env.example files.
const PLACEHOLDER_MARKERS = [
  'changeme', 'changethis', 'replaceme', 'replacethis', 'yoursecret', 'mysecret', 'supersecret',
  'secretkey', 'jwtsecret', 'your256bitsecret', 'examplesecret', 'defaultsecret', 'notsecure',
  'insecure', 'placeholder', 'password', 'qwerty', '123456', 'abcdef', 'tollgate',
];

export function isWeakSecret(secret: string): boolean {
  const folded = secret.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (PLACEHOLDER_MARKERS.some((marker) => folded.includes(marker))) return true;
  // Few distinct characters (e.g. "aaaa…", "abababab…") means little entropy whatever the length.
  if (new Set(secret).size < 10) return true;
  // A short chunk repeated to reach the length requirement ("secret123secret123…").
  return /^(.{1,16}?)\1+$/s.test(secret);
}

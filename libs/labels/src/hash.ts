import { createHash } from 'node:crypto';

/**
 * kube-router's hashed-name scheme: `prefix + base32std(sha256(input))[:16]` (RFC 4648 alphabet,
 * upper case, no padding needed for the first 16 characters). Used for chain and ipset names and
 * for positioned-rule IDs, so that names survive restarts and match kube-router's.
 */
export function hashedName(prefix: string, input: string): string {
  return prefix + base32(createHash('sha256').update(input, 'utf8').digest()).slice(0, 16);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (standard alphabet) without padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

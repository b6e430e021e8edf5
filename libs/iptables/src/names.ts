import { createHash } from 'node:crypto';
import { base32, hashedName } from '@portico/labels';

/**
 * Stable hashed names, kube-router's schemes (netpol spec §2.1, §2.6). Pure.
 *
 * - {@link hashedName} (from @portico/labels): `prefix + base32(sha256(input))[:16]`, for chain and
 *   set names (`KUBE-NWPLCY-…`, `KUBE-SRC-…`).
 * - {@link positionedRuleId}: the ID kube-router appends to the comment of a rule that must sit at
 *   a fixed position, `base32(sha256(chain + join(args, "")))[:16]`, with `args` the rule arguments
 *   before the ID is appended.
 * - {@link tmpSetName}: the temporary set used to swap a set's contents,
 *   `"TMP-" + base32(sha1("tmp:" + options)[:10])` (10 bytes = exactly 16 base32 characters).
 */
export { hashedName };

/** kube-router's positioned-rule ID for a rule of `chain` with arguments `args` (no ID yet). */
export function positionedRuleId(chain: string, args: readonly string[]): string {
  return hashedName('', chain + args.join(''));
}

/**
 * Appends `" - " + ID` to the value of the rule's `--comment` (kube-router's `addUUIDForRuleSpec`)
 * and returns the new arguments and the ID. Throws when the rule has no comment: the ID lives there.
 */
export function withPositionedRuleId(chain: string, args: readonly string[]): { readonly args: string[]; readonly id: string } {
  const id = positionedRuleId(chain, args);
  const i = args.indexOf('--comment');
  if (i < 0 || i + 1 >= args.length) throw new TypeError(`a positioned rule needs a --comment to carry its ID (chain ${chain})`);
  const out = [...args];
  out[i + 1] = `${out[i + 1]} - ${id}`;
  return { args: out, id };
}

/** Temporary set name for the given creation options text, e.g. `tmpSetName('hash:ip timeout 0')`. */
export function tmpSetName(options: string): string {
  return 'TMP-' + base32(createHash('sha1').update('tmp:' + options, 'utf8').digest().subarray(0, 10));
}

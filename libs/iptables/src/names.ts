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
 * - {@link tmpSetName}: THE temporary-set scheme of Portico: the set the planner fills and swaps in
 *   when a set's content is replaced, `"TMP-" + base32(sha256("portico-tmp:" + setName))[:16]`. One
 *   per set name, so one plan can swap many sets at once (kube-router names its temporary set after
 *   the creation options, `TMP-` + sha1("tmp:" + options), one for every set of a type, because it
 *   swaps sets one at a time; Portico does not use that name). Leftovers of either scheme match
 *   {@link TMP_SET_PATTERN} and are destroyed by the planner.
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

/** The temporary set used to replace the content of set `setName` (ipset names are at most 31 characters). */
export function tmpSetName(setName: string): string {
  return 'TMP-' + base32(createHash('sha256').update('portico-tmp:' + setName).digest()).slice(0, 16);
}

/** Any temporary set name (Portico's or kube-router's): `TMP-` and 16 base32 characters. */
export const TMP_SET_PATTERN = /^TMP-[A-Z2-7]{16}$/;

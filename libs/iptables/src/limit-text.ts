/**
 * Match values whose text iptables-save prints differently from how they were given (pure).
 */

/** libxt_limit's rate scale and its units, largest first, in 1/XT_LIMIT_SCALE seconds. */
const XT_LIMIT_SCALE = 10000;
const LIMIT_RATES = [
  { name: 'day', mult: XT_LIMIT_SCALE * 86400 },
  { name: 'hour', mult: XT_LIMIT_SCALE * 3600 },
  { name: 'min', mult: XT_LIMIT_SCALE * 60 },
  { name: 'sec', mult: XT_LIMIT_SCALE },
] as const;

/**
 * A `limit` rate exactly as iptables-save prints it. iptables stores the rate as a period
 * (10000 * seconds-per-unit / n, integer division) and prints it back in the largest unit that
 * represents it well enough, so `60/minute` reads back as `1/sec` and `600000/minute` as `10000/sec`
 * (libxt_limit's print_rate, checked against iptables 1.8.9). Printing the same text lets the agent
 * compare kernel and desired rules as strings. Input: `<n>[/<unit or a prefix of it>]` (seconds by
 * default); text that does not parse is returned as it is.
 */
export function limitRateText(rate: string): string {
  const m = /^(\d+)(?:\/([a-z]+))?$/i.exec(rate.trim());
  if (!m) return rate;
  const n = Number(m[1]);
  const u = (m[2] ?? 'second').toLowerCase();
  const unit = LIMIT_RATES.find((r) => (r.name === 'min' ? 'minute' : r.name === 'sec' ? 'second' : r.name).startsWith(u));
  if (!unit || n < 1) return rate;
  const period = Math.floor(unit.mult / n);
  if (period === 0) return rate; // iptables refuses it ("Rate too fast")
  let i = 1;
  for (; i < LIMIT_RATES.length; i++) {
    const r = LIMIT_RATES[i]!;
    if (period > r.mult || Math.floor(r.mult / period) < r.mult % period) break;
  }
  const r = LIMIT_RATES[i - 1]!;
  return `${Math.floor(r.mult / period)}/${r.name}`;
}

/**
 * @portico/ip-selection: IP and CIDR parsing (no `node:net`), source ranges (`SRC_RANGES`) and
 * the choice of node addresses for LoadBalancer ingress. Pure functions, no I/O.
 *
 * - {@link parseIP}, {@link parseIPResult}, {@link canonicalIP}, {@link ipFamilyOf}, {@link compareIP}:
 *   addresses; IPv4-mapped IPv6 is classified as IPv4 (Go/K3s parity), see ip.ts.
 * - {@link parseCIDR}, {@link parseCIDRResult}, {@link normalizeCIDR}, {@link cidrContains},
 *   {@link compareCIDR}: blocks, normalized to their network address.
 * - {@link sourceRanges}, {@link sourceRangesEnv}: K3s §5.6, sorted (Portico fix).
 * - {@link ingressAddresses}, {@link filterByIPFamily}: K3s §6 steps 3-5, per-family external
 *   precedence and numeric sort by default (Portico fixes), K3s behaviour behind options.
 */
export * from './ip.ts';
export * from './cidr.ts';
export * from './source-ranges.ts';
export * from './node-addresses.ts';

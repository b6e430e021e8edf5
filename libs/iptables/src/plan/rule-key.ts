import { limitRateText } from '../limit-text.ts';
import { splitWords } from '../tokens.ts';

/**
 * A semantic key for one rule's arguments, so that a rule as rendered and the same rule as
 * `iptables-save` prints it compare equal even when the text differs.
 *
 * The core renders rules in iptables-save 1.8 form, so the plan compares text first and only falls
 * back to this key when the text differs (another iptables version, or rules written by kube-router
 * itself: `--set-mark`, `--limit 10/minute`, a REJECT without `--reject-with`, `icmp` type names).
 * What it canonicalises:
 * - header options (`-s -d -i -o -p`, each possibly negated) are moved to the front in that order;
 * - host addresses get `/32` or `/128`; protocol names are lower-case, `icmpv6` is `ipv6-icmp`;
 * - the implicit protocol match (`-m tcp` after `-p tcp`) is made explicit at its position;
 * - inside one match module and inside the target, option order does not matter (NFLOG's options
 *   come back reordered); module order does (it is evaluation order);
 * - marks are hex, `--set-mark v/m` becomes `--set-xmark v/(m|v)`, limit units are abbreviated,
 *   ICMP type names become numbers, conntrack state lists are sorted,
 *   `REJECT` gets its default `--reject-with` for the family.
 */
export function ruleKey(args: string, ipv6: boolean): string {
  const words = splitWords(args);
  const header = new Map<string, string>();
  const modules: { name: string; opts: string[][] }[] = [];
  let target: { name: string; opts: string[][] } | undefined;
  let proto: string | undefined;
  let current: { name: string; opts: string[][] } | undefined;
  let negate = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '!') {
      negate = true;
      continue;
    }
    const neg = negate ? '! ' : '';
    negate = false;
    if (HEADER.has(w) || w === '--source' || w === '--destination' || w === '--protocol') {
      const flag = LONG_HEADER[w] ?? w;
      let v = words[++i] ?? '';
      if (flag === '-s' || flag === '-d') v = hostPrefix(v);
      if (flag === '-p') {
        v = v.toLowerCase();
        if (v === 'icmpv6') v = 'ipv6-icmp';
        proto = v;
      }
      header.set(flag, neg + v);
      continue;
    }
    if (w === '-m' || w === '--match') {
      const name = normModule(words[++i] ?? '');
      current = { name, opts: [] };
      modules.push(current);
      continue;
    }
    if (w === '-j' || w === '--jump' || w === '-g' || w === '--goto') {
      target = { name: (w === '-g' || w === '--goto' ? 'goto:' : '') + (words[++i] ?? ''), opts: [] };
      current = target;
      continue;
    }
    if (w.startsWith('-')) {
      // An option of the current module or target; implicit protocol options open the protocol module.
      if (!current || (current !== target && IMPLICIT.has(w) && !moduleHasOption(current.name, w))) {
        const name = normModule(proto ?? '');
        current = { name, opts: [] };
        modules.push(current);
      }
      const values: string[] = [];
      while (i + 1 < words.length && !isOption(words[i + 1]!)) values.push(words[++i]!);
      current.opts.push([neg + w, ...values]);
      continue;
    }
    // A stray value (should not happen); keep it so that different rules never compare equal.
    if (!current) {
      current = { name: '?', opts: [] };
      modules.push(current);
    }
    current.opts.push([w]);
  }
  const parts: string[] = [];
  for (const flag of ['-s', '-d', '-i', '-o', '-p', '-f']) {
    const v = header.get(flag);
    if (v !== undefined) parts.push(`${flag} ${v}`);
  }
  for (const m of modules) {
    // The implicit protocol match and an explicit `-m tcp` are the same thing.
    parts.push(`-m ${m.name} ` + canonOpts(m.name, m.opts, ipv6).join(' '));
  }
  if (target) {
    const opts = canonTargetOpts(target.name, target.opts, ipv6);
    parts.push(`-j ${target.name}${opts.length ? ' ' + opts.join(' ') : ''}`);
  }
  return parts.join(' | ');
}

const HEADER = new Set(['-s', '-d', '-i', '-o', '-p', '-f', '--in-interface', '--out-interface']);
const LONG_HEADER: Record<string, string> = {
  '--source': '-s',
  '--destination': '-d',
  '--protocol': '-p',
  '--in-interface': '-i',
  '--out-interface': '-o',
};
const IMPLICIT = new Set(['--dport', '--sport', '--destination-port', '--source-port', '--tcp-flags', '--syn', '--icmp-type', '--icmpv6-type', '--chunk-types']);

function moduleHasOption(module: string, opt: string): boolean {
  if (module === 'multiport') return false;
  return IMPLICIT.has(opt) && ['tcp', 'udp', 'sctp', 'icmp', 'icmp6'].includes(module);
}

function isOption(w: string): boolean {
  return w === '!' || (w.startsWith('-') && !/^-\d/.test(w));
}

function normModule(name: string): string {
  const n = name.toLowerCase();
  if (n === 'ipv6-icmp' || n === 'icmpv6') return 'icmp6';
  return n;
}

function hostPrefix(addr: string): string {
  if (addr.includes('/')) return addr.toLowerCase();
  return addr.includes(':') ? `${addr.toLowerCase()}/128` : `${addr}/32`;
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/** `value[/mask]` with any number base -> hex; `mask` defaults to all ones. */
function markPair(text: string): { value: number; mask: number } {
  const [v, m] = text.split('/');
  return { value: Number(v), mask: m === undefined ? 0xffffffff : Number(m) };
}

const LIMIT_UNITS: Record<string, string> = { s: 'sec', second: 'sec', sec: 'sec', m: 'min', minute: 'min', min: 'min', h: 'hour', hour: 'hour', d: 'day', day: 'day' };

const ICMP4: Record<string, string> = { 'echo-reply': '0', 'destination-unreachable': '3', 'echo-request': '8', 'time-exceeded': '11', 'parameter-problem': '12' };
const ICMP6: Record<string, string> = {
  'destination-unreachable': '1',
  'packet-too-big': '2',
  'time-exceeded': '3',
  'parameter-problem': '4',
  'echo-request': '128',
  'echo-reply': '129',
  'router-solicitation': '133',
  'router-advertisement': '134',
  'neighbor-solicitation': '135',
  'neighbour-solicitation': '135',
  'neighbor-advertisement': '136',
  'neighbour-advertisement': '136',
};

function canonOpts(module: string, opts: string[][], _ipv6: boolean): string[] {
  const out = opts.map(([flag, ...vals]) => {
    const f = flag!;
    let v = vals;
    if (module === 'mark' && /--mark$/.test(f) && v[0]) {
      const p = markPair(v[0]);
      v = [`${hex(p.value)}/${hex(p.mask)}`];
    } else if (module === 'limit' && f === '--limit' && v[0]) {
      // iptables stores a rate as a period and prints it in its own unit (60/minute reads back 1/sec).
      const canon = limitRateText(v[0]);
      const [n, unit] = canon.split('/');
      v = [`${n}/${LIMIT_UNITS[unit ?? 'sec'] ?? unit}`];
    } else if (module === 'limit' && f === '--limit-burst' && v[0] === '5') {
      return ''; // iptables' default burst, which iptables-save leaves out
    } else if (module === 'icmp' && /--icmp-type$/.test(f) && v[0]) {
      v = [ICMP4[v[0]] ?? v[0]];
    } else if (module === 'icmp6' && /--icmpv6-type$/.test(f) && v[0]) {
      v = [ICMP6[v[0]] ?? v[0]];
    } else if (module === 'conntrack' && /--ctstate$/.test(f) && v[0]) {
      v = [v[0].split(',').sort().join(',')];
    } else if ((f === '--destination-port' || f === '--dport') && v[0]) {
      return ['--dport', ...v].join(' ');
    } else if ((f === '--source-port' || f === '--sport') && v[0]) {
      return ['--sport', ...v].join(' ');
    }
    return [f, ...v].join(' ');
  });
  // Order inside a module does not change its meaning (set matches are separate modules).
  return out.filter((o) => o !== '').sort();
}

function canonTargetOpts(target: string, opts: string[][], ipv6: boolean): string[] {
  let out = opts.map(([flag, ...vals]) => {
    if (target === 'MARK' && (flag === '--set-mark' || flag === '--set-xmark') && vals[0]) {
      const p = markPair(vals[0]);
      // --set-mark v/m == --set-xmark v/(m|v) (iptables' own translation).
      const mask = flag === '--set-mark' ? (p.mask | p.value) >>> 0 : p.mask;
      return `--set-xmark ${hex(p.value)}/${hex(mask)}`;
    }
    return [flag!, ...vals].join(' ');
  });
  if (target === 'REJECT' && !out.some((o) => o.startsWith('--reject-with'))) {
    out = [...out, `--reject-with ${ipv6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'}`];
  }
  return out.sort();
}

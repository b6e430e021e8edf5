import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { formatIssue, parseFlags } from '@portico/service-kit';
import { DEFAULT_METRICS_ADDR, netpolConfig, resolveFamilies, runConfig, runFlags, type RunConfig } from './config.ts';

function parse(argv: string[], env: Record<string, string> = {}): { config?: RunConfig; issues: string[] } {
  const p = parseFlags(runFlags(), argv, env);
  if (!p.ok) return { issues: p.issues.map(formatIssue) };
  const r = runConfig(p.values);
  return 'issues' in r ? { issues: r.issues.map(formatIssue) } : { config: r.config, issues: [] };
}

describe('run config', () => {
  it('defaults are what K3s hands kube-router', () => {
    const { config, issues } = parse(['--node-name', 'n1']);
    assert.deepEqual(issues, []);
    assert.equal(config!.nodeName, 'n1');
    assert.deepEqual(config!.serviceCIDRs, ['10.43.0.0/16']);
    assert.equal(config!.nodePortRange, '30000-32767');
    assert.equal(config!.families, 'auto');
    assert.equal(config!.defaultDeny, true);
    assert.equal(config!.profile, 'upstream');
    assert.deepEqual(config!.nflog, { perPolicy: false, group: 100, limit: '10/minute', burst: 10 });
    assert.equal(config!.iptablesBackend, 'auto');
    assert.equal(config!.resyncPeriodMs, 300_000);
    assert.equal(config!.metricsAddr, DEFAULT_METRICS_ADDR);
    assert.ok(Object.isFrozen(config));
  });

  it('the metrics port stays clear of kubelet, kube-proxy, the control plane and kube-router', () => {
    const port = Number(DEFAULT_METRICS_ADDR.split(':').pop());
    assert.ok(![10248, 10249, 10250, 10255, 10256, 10257, 10258, 10259, 20244, 8080].includes(port));
  });

  it('reads NODE_NAME and PORTICO_* variables', () => {
    const { config } = parse([], { NODE_NAME: 'n7', PORTICO_SERVICE_CIDRS: '10.43.0.0/16,fd43::/112', PORTICO_NETPOL_FAMILIES: 'ipv6,ipv4', PORTICO_NETPOL_PROFILE: 'k3s-fork' });
    assert.equal(config!.nodeName, 'n7');
    assert.deepEqual(config!.serviceCIDRs, ['10.43.0.0/16', 'fd43::/112']);
    assert.deepEqual(config!.families, ['IPv4', 'IPv6']);
    assert.equal(config!.nflog.perPolicy, true, 'k3s-fork turns the per-policy NFLOG rule on');
  });

  it('reports every bad value with its field (table)', () => {
    const cases: [string[], string][] = [
      [['--pod-cidrs', '10.42.0.0/24,nope'], 'invalid --pod-cidrs / PORTICO_POD_CIDRS: "10.42.0.0/24,nope": not a CIDR: nope'],
      [['--service-cidrs', '10.43.0.0/16,::/0'], 'invalid --service-cidrs / PORTICO_SERVICE_CIDRS: "10.43.0.0/16,::/0": a /0 service range would exempt all traffic of its family from policy; give the cluster service CIDR'],
      [['--service-cidrs', '0.0.0.0/0'], 'invalid --service-cidrs / PORTICO_SERVICE_CIDRS: "0.0.0.0/0": a /0 service range would exempt all traffic of its family from policy; give the cluster service CIDR'],
      [['--service-cidrs', '10.43.0.0/16,fd43::/112,10.44.0.0/16'], 'invalid --service-cidrs / PORTICO_SERVICE_CIDRS: "10.43.0.0/16,fd43::/112,10.44.0.0/16": at most two ranges (primary and secondary)'],
      [['--node-port-range', '30000'], 'invalid --node-port-range / PORTICO_NODE_PORT_RANGE: "30000": must be <low>-<high> (or <low>:<high>)'],
      [['--node-port-range', '0-100'], 'invalid --node-port-range / PORTICO_NODE_PORT_RANGE: "0-100": ports must be within 1-65535'],
      [['--nflog-limit', '20000/second'], 'invalid --nflog-limit / PORTICO_NFLOG_LIMIT: "20000/second": iptables rejects more than 10000/second ("Rate too fast"): at most 10000/second'],
      [['--nflog-limit', '600001/minute'], 'invalid --nflog-limit / PORTICO_NFLOG_LIMIT: "600001/minute": iptables rejects more than 10000/second ("Rate too fast"): at most 600000/minute'],
      [['--nflog-limit', '10/fortnight'], 'invalid --nflog-limit / PORTICO_NFLOG_LIMIT: "10/fortnight": must be <n>/<second|minute|hour|day>'],
      [['--nflog-limit-burst', '0'], 'invalid --nflog-limit-burst / PORTICO_NFLOG_LIMIT_BURST: "0": must be a positive integer'],
      [['--nflog-limit-burst', '10001'], 'invalid --nflog-limit-burst / PORTICO_NFLOG_LIMIT_BURST: "10001": iptables accepts at most 10000'],
      [['--nflog-group', '65536'], 'invalid --nflog-group / PORTICO_NFLOG_GROUP: "65536": must be 0-65535'],
      [['--resync-period', '0s'], 'invalid --resync-period / PORTICO_RESYNC_PERIOD: "0s": must be greater than 0'],
      [['--metrics-addr', 'localhost'], 'invalid --metrics-addr / PORTICO_METRICS_ADDR: "localhost": must be host:port, [ipv6]:port, :port or 0 to disable'],
      [['--families', 'IPv6', '--service-cidrs', '10.43.0.0/16'], 'invalid --service-cidrs / PORTICO_SERVICE_CIDRS: "10.43.0.0/16": no range of an enabled family (IPv6)'],
      [['--default-deny=maybe'], 'invalid --default-deny / PORTICO_NETPOL_DEFAULT_DENY: "maybe": must be true or false'],
    ];
    for (const [argv, issue] of cases) {
      const r = parse(['--node-name', 'n1', ...argv]);
      assert.deepEqual(r.issues, [issue], argv.join(' '));
    }
  });

  it('resolves auto families from node addresses, IPv4 when none are known', () => {
    const { config } = parse(['--node-name', 'n1']);
    assert.deepEqual(resolveFamilies(config!, ['192.168.1.1', 'fd00::1']), ['IPv4', 'IPv6']);
    assert.deepEqual(resolveFamilies(config!, ['fd00::1']), ['IPv6']);
    assert.deepEqual(resolveFamilies(config!, []), ['IPv4']);
    const fixed = parse(['--node-name', 'n1', '--families', 'IPv4']).config!;
    assert.deepEqual(resolveFamilies(fixed, ['fd00::1']), ['IPv4']);
  });

  it('maps to the core config (profile -> accept placement)', () => {
    const up = netpolConfig(parse(['--node-name', 'n1', '--pod-cidrs', '10.42.0.0/24']).config!, ['IPv4']);
    assert.equal(up.acceptPlacement, 'chain-end');
    assert.deepEqual(up.podCIDRs, ['10.42.0.0/24']);
    const fork = netpolConfig(parse(['--node-name', 'n1', '--profile', 'k3s-fork', '--nflog-per-policy=false']).config!, ['IPv4']);
    assert.equal(fork.acceptPlacement, 'after-kube-rules');
    assert.equal(fork.nflog?.perPolicy, false, 'an explicit flag wins over the profile');
    assert.equal(fork.podCIDRs, undefined, 'pod CIDRs come from the Node unless given');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { parsedConfig, runCli } from '@portico/servicelb-runtime/testing';
import { createProgram } from './cli.ts';
import { DEFAULT_FORWARDER_IMAGE, DEFAULT_LEASE_NAME, runConfigFrom, runFlags, VERSION, type RunConfig } from './config.ts';

const program = createProgram();

const config = (argv: string[], env: Record<string, string> = {}): RunConfig => parsedConfig(runFlags, runConfigFrom, argv, env);
const run = (argv: string[], env: Record<string, string> = {}) => runCli(program, argv, env);

describe('run config', () => {
  it('defaults: K3s ServiceLB settings, Portico forwarder image, leader election on', () => {
    const c = config([]);
    assert.deepEqual(c.core, { namespace: 'kube-system', image: DEFAULT_FORWARDER_IMAGE, defaultPriorityClassName: 'system-node-critical', program: 'k3s', rootless: false, forwardingMode: 'init-container' });
    assert.equal(DEFAULT_FORWARDER_IMAGE, `ghcr.io/portico/lb-forwarder:${VERSION}`);
    assert.equal(c.metricsAddr, ':10270');
    assert.equal(c.leaderElect, true);
    assert.equal(c.leaseName, DEFAULT_LEASE_NAME);
    assert.equal(c.leaseNamespace, 'kube-system', 'no POD_NAMESPACE: the LB namespace');
    assert.deepEqual([c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs], [15_000, 10_000, 2_000]);
    assert.equal(c.workers, 4);
    assert.equal(c.resyncPeriodMs, 600_000);
    assert.match(c.identity, /^.+_[0-9a-f]{8}$/);
    assert.ok(Object.isFrozen(c));
  });

  it('every setting has an environment equivalent; a flag wins over its variable', () => {
    const env = {
      PORTICO_LB_NAMESPACE: 'svclb',
      PORTICO_FORWARDER_IMAGE: 'rancher/klipper-lb:v0.4.17',
      PORTICO_FORWARDING_MODE: 'sysctls',
      PORTICO_DEFAULT_PRIORITY_CLASS: '',
      PORTICO_PROGRAM: 'rke2',
      PORTICO_ROOTLESS: 'true',
      PORTICO_LEADER_ELECT: 'false',
      PORTICO_LEASE_NAME: 'my-lease',
      PORTICO_LEADER_ELECT_LEASE_DURATION: '6s',
      PORTICO_LEADER_ELECT_RENEW_DEADLINE: '4s',
      PORTICO_LEADER_ELECT_RETRY_PERIOD: '1s',
      POD_NAMESPACE: 'portico',
      POD_NAME: 'slb-0',
      NODE_NAME: 'node-7',
      PORTICO_WORKERS: '8',
      PORTICO_RESYNC_PERIOD: '0',
      PORTICO_METRICS_ADDR: '127.0.0.1:9999',
      PORTICO_LOG_LEVEL: 'debug',
    };
    const c = config([], env);
    assert.deepEqual(c.core, { namespace: 'svclb', image: 'rancher/klipper-lb:v0.4.17', defaultPriorityClassName: '', program: 'rke2', rootless: true, forwardingMode: 'sysctls' });
    assert.equal(c.leaderElect, false);
    assert.equal(c.leaseName, 'my-lease');
    assert.equal(c.leaseNamespace, 'portico', 'POD_NAMESPACE');
    assert.deepEqual([c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs], [6000, 4000, 1000]);
    assert.equal(c.identity, 'slb-0');
    assert.equal(c.nodeName, 'node-7');
    assert.equal(c.workers, 8);
    assert.equal(c.resyncPeriodMs, 0);
    assert.equal(c.metricsAddr, '127.0.0.1:9999');
    assert.equal(c.logLevel, 'debug');

    const f = config(['--lb-namespace', 'other', '--leader-elect-namespace', 'ctl', '--leader-elect'], env);
    assert.equal(f.core.namespace, 'other');
    assert.equal(f.leaseNamespace, 'ctl');
    assert.equal(f.leaderElect, true);
  });
});

describe('run: bad values exit 2, one line per problem naming the flag and the value', () => {
  const cases: [string[], RegExp][] = [
    [['--lb-namespace', 'Kube_System'], /^servicelb-controller run: invalid --lb-namespace \/ PORTICO_LB_NAMESPACE: "Kube_System": /],
    [['--forwarder-image', 'bad image'], /^servicelb-controller run: invalid --forwarder-image \/ PORTICO_FORWARDER_IMAGE: "bad image": /],
    [['--default-priority-class', 'Not Valid'], /^servicelb-controller run: invalid --default-priority-class \/ PORTICO_DEFAULT_PRIORITY_CLASS: "Not Valid": /],
    [['--forwarding-mode', 'magic'], /^servicelb-controller run: invalid --forwarding-mode \/ PORTICO_FORWARDING_MODE: "magic": must be one of sysctls, init-container/],
    [['--forwarder-image', 'rancher/klipper-lb:v0.4.17'], /^servicelb-controller run: invalid --forwarding-mode \/ PORTICO_FORWARDING_MODE: "init-container": needs Portico's lb-forwarder image/],
    [['--program', 'k3s.io'], /^servicelb-controller run: invalid --program \/ PORTICO_PROGRAM: "k3s.io": /],
    [['--rootless=maybe'], /^servicelb-controller run: invalid --rootless \/ PORTICO_ROOTLESS: "maybe": /],
    [['--leader-elect=perhaps'], /^servicelb-controller run: invalid --leader-elect \/ PORTICO_LEADER_ELECT: "perhaps": /],
    [['--leader-elect-namespace', 'A.B'], /^servicelb-controller run: invalid --leader-elect-namespace \/ PORTICO_LEADER_ELECT_NAMESPACE: "A.B": /],
    [['--lease-name', '-x-'], /^servicelb-controller run: invalid --lease-name \/ PORTICO_LEASE_NAME: "-x-": /],
    [['--leader-elect-lease-duration', 'soon'], /^servicelb-controller run: invalid --leader-elect-lease-duration \/ PORTICO_LEADER_ELECT_LEASE_DURATION: "soon": /],
    [['--leader-elect-lease-duration', '5s', '--leader-elect-renew-deadline', '10s'], /invalid --leader-elect-lease-duration \/ --leader-elect-renew-deadline \/ --leader-elect-retry-period: "lease-duration=5000ms renew-deadline=10000ms retry-period=2000ms": leaseDuration/],
    [['--workers', '0'], /^servicelb-controller run: invalid --workers \/ PORTICO_WORKERS: "0": must be between 1 and 64/],
    [['--metrics-addr', 'localhost'], /^servicelb-controller run: invalid --metrics-addr \/ PORTICO_METRICS_ADDR: "localhost": /],
    [['--log-level', 'loud'], /^servicelb-controller run: invalid --log-level \/ PORTICO_LOG_LEVEL: "loud": /],
    [['--resync-period', 'daily'], /^servicelb-controller run: invalid --resync-period \/ PORTICO_RESYNC_PERIOD: "daily": /],
  ];
  for (const [argv, want] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(['run', ...argv]);
      assert.equal(r.code, 2);
      assert.equal(r.err.length, 1, r.err.join('\n'));
      assert.match(r.err[0]!, want);
      assert.equal(r.out, '');
    });
  }

  it('reports every problem at once, from flags and environment alike', async () => {
    const r = await run(['run', '--workers', '99', '--program', 'X'], { PORTICO_LB_NAMESPACE: 'NO' });
    assert.equal(r.code, 2);
    assert.equal(r.err.length, 3, r.err.join('\n'));
    assert.ok(r.err.some((l) => l.includes('"NO"') && l.includes('--lb-namespace')));
    assert.ok(r.err.some((l) => l.includes('"X"') && l.includes('--program')));
    assert.ok(r.err.some((l) => l.includes('"99"') && l.includes('--workers')));
  });

  it('an unusable kubeconfig is reported and exits 2 before anything starts', async () => {
    const r = await run(['run', '--kubeconfig', '/nonexistent/kubeconfig', '--metrics-addr', '0']);
    assert.equal(r.code, 2);
    assert.match(r.err.join('\n'), /\/nonexistent\/kubeconfig/);
  });

  it('--help lists every flag with its environment variable', async () => {
    const r = await run(['run', '--help']);
    assert.equal(r.code, 0);
    for (const f of runFlags) {
      assert.ok(r.out.includes(`--${f.name}`), f.name);
      if (f.env) assert.ok(r.out.includes(`env ${f.env}`), f.env);
    }
  });
});

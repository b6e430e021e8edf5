import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { parsedConfig, runCli } from '@portico/servicelb-runtime/testing';
import { assertHelpIsTrue } from '@portico/service-kit/testing';
import { createProgram } from './cli.ts';
import { runConfigFrom, runFlags, type RunConfig } from './config.ts';

const program = createProgram();

const config = (argv: string[], env: Record<string, string> = {}): RunConfig => parsedConfig(runFlags, runConfigFrom, argv, env);
const run = (argv: string[], env: Record<string, string> = {}) => runCli(program, argv, env);

describe('ccm run config', () => {
  it('defaults: ServiceLB hosted, K3s names, K3s CCM Lease for nodes, the ServiceLB Lease shared with servicelb-controller, port 10258', () => {
    const c = config([]);
    assert.equal(c.metricsAddr, ':10258');
    assert.equal(c.program, 'k3s');
    assert.equal(c.leaseName, 'k3s-cloud-controller-manager');
    assert.equal(c.serviceLBLeaseName, 'portico-servicelb-controller');
    assert.equal(c.leaseNamespace, 'kube-system');
    assert.equal(c.nodeResyncPeriodMs, 60_000);
    assert.equal(c.serviceLB?.namespace, 'kube-system');
    assert.equal(c.serviceLB?.forwardingMode, 'init-container');
    assert.ok(Object.isFrozen(c));
  });

  it('--disable servicelb, as K3s spells it: repeated, comma lists, other K3s names accepted; and from the environment', () => {
    assert.equal(config(['--disable', 'servicelb']).serviceLB, undefined);
    assert.equal(config(['--disable', 'traefik', '--disable', 'servicelb']).serviceLB, undefined);
    assert.equal(config(['--disable', 'traefik,servicelb,coredns']).serviceLB, undefined);
    assert.notEqual(config(['--disable', 'traefik,metrics-server']).serviceLB, undefined);
    assert.equal(config([], { PORTICO_DISABLE: 'servicelb' }).serviceLB, undefined);
  });

  it('--program rke2 names the node Lease rke2-cloud-controller-manager; --lease-name overrides', () => {
    assert.equal(config(['--program', 'rke2']).leaseName, 'rke2-cloud-controller-manager');
    assert.equal(config(['--lease-name', 'my-ccm']).leaseName, 'my-ccm');
    assert.equal(config(['--node-status-update-frequency', '0']).nodeResyncPeriodMs, 0);
  });

  it('with ServiceLB disabled its flags are not checked (only --program, which names the node keys)', () => {
    assert.equal(config(['--disable', 'servicelb', '--forwarder-image', 'rancher/klipper-lb:v0.4.17']).serviceLB, undefined);
  });
});

describe('ccm run: bad values exit 2, one line per problem naming the flag and the value', () => {
  const cases: [string[], RegExp][] = [
    [['--disable', 'servicelb,nginx'], /^ccm run: invalid --disable \/ PORTICO_DISABLE: "servicelb,nginx": unknown name\(s\) nginx/],
    [['--lease-name', 'Bad_Lease'], /^ccm run: invalid --lease-name \/ PORTICO_LEASE_NAME: "Bad_Lease": /],
    [['--servicelb-lease-name', 'k3s-cloud-controller-manager'], /^ccm run: invalid --lease-name \/ PORTICO_LEASE_NAME and --servicelb-lease-name \/ PORTICO_SERVICELB_LEASE_NAME: "k3s-cloud-controller-manager": must differ/],
    [['--node-status-update-frequency', 'often'], /^ccm run: invalid --node-status-update-frequency \/ PORTICO_NODE_STATUS_UPDATE_FREQUENCY: "often": /],
    [['--program', 'K3S', '--disable', 'servicelb'], /^ccm run: invalid --program \/ PORTICO_PROGRAM: "K3S": /],
    [['--forwarding-mode', 'both'], /^ccm run: invalid --forwarding-mode \/ PORTICO_FORWARDING_MODE: "both": /],
    [['--workers', '0'], /^ccm run: invalid --workers \/ PORTICO_WORKERS: "0": must be between 1 and 64/],
    [['--metrics-addr', 'nowhere'], /^ccm run: invalid --metrics-addr \/ PORTICO_METRICS_ADDR: "nowhere": /],
  ];
  for (const [argv, want] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(['run', ...argv]);
      assert.equal(r.code, 2, r.err.join('\n'));
      assert.equal(r.err.length, 1, r.err.join('\n'));
      assert.match(r.err[0]!, want);
      assert.equal(r.out, '');
    });
  }

  it('an unusable kubeconfig exits 2 before anything starts', async () => {
    const r = await run(['run', '--kubeconfig', '/nonexistent/kubeconfig', '--metrics-addr', '0']);
    assert.equal(r.code, 2);
    assert.match(r.err.join('\n'), /\/nonexistent\/kubeconfig/);
  });

  it('--help lists every flag with its variable and the default port', async () => {
    const r = await run(['run', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /default :10258\b/);
    for (const f of runFlags) {
      assert.ok(r.out.includes(`--${f.name}`), f.name);
      if (f.env) assert.ok(r.out.includes(`env ${f.env}`), f.env);
    }
  });

  it('help is true: only commands that exist; every duration default in units (1m, not 60000)', async () => {
    await assertHelpIsTrue(program, { minDurations: 5 });
  });
});

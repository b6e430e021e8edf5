import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Resources, type KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { createLogger, runProgram } from '@portico/service-kit';
import { createProgram } from './cli.ts';
import { daemonSetDone, waitAgentsGone, waitDaemonSetDone } from './uninstall-wait.ts';

const log = createLogger({ app: 'test', level: 'silent' });
const NS = 'kube-system';

const ds = (generation: number, status: Record<string, number>): KubeObject & { spec?: unknown; status: Record<string, number> } => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'portico-netpol-cleanup', namespace: NS, generation },
  spec: {},
  status,
});
const pod = (name: string, labels: Record<string, string>): KubeObject & { spec?: unknown } => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec: { nodeName: 'w1' } });

describe('netpol-agent cleanup-wait (the chart\'s post-delete hook Jobs)', () => {
  it('a DaemonSet is done only when its status is observed and every wanted pod is up to date and Ready', () => {
    assert.equal(daemonSetDone(ds(1, { observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3 })).done, true);
    assert.equal(daemonSetDone(ds(1, { observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3 })).done, false, 'one node still cleaning (or failing)');
    assert.equal(daemonSetDone(ds(2, { observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3 })).done, false, 'status of an older generation');
    assert.equal(daemonSetDone(ds(1, {})).done, false, 'not observed yet');
    assert.deepEqual(daemonSetDone(ds(1, { observedGeneration: 1, desiredNumberScheduled: 4, numberReady: 1, updatedNumberScheduled: 4 })).seen, '1/4 ready, 4 up to date');
  });

  it('--daemonset-done waits for the last node, and fails naming what it saw when a node never gets Ready', async () => {
    const fake = new FakeKube();
    fake.put(ds(1, { observedGeneration: 1, desiredNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2 }));
    setTimeout(() => fake.put(ds(1, { observedGeneration: 1, desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2 })), 100);
    await waitDaemonSetDone(fake.client, log, NS, 'portico-netpol-cleanup', 3000, 20);

    const stuck = new FakeKube();
    stuck.put(ds(1, { observedGeneration: 1, desiredNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2 }));
    await assert.rejects(waitDaemonSetDone(stuck.client, log, NS, 'portico-netpol-cleanup', 200, 20), /DaemonSet kube-system\/portico-netpol-cleanup to be Ready on every node .*last seen: 1\/2 ready/);
  });

  it('--agents-gone waits until no pod matches the selector (other pods do not count)', async () => {
    const fake = new FakeKube();
    fake.put(pod('agent-a', { 'app.kubernetes.io/name': 'netpol-agent' }), pod('other', { 'app.kubernetes.io/name': 'netpol-cleanup' }));
    setTimeout(() => fake.remove(Resources.Pod, { namespace: NS, name: 'agent-a' }), 100);
    await waitAgentsGone(fake.client, log, NS, 'app.kubernetes.io/name=netpol-agent', 3000, 20);

    const stuck = new FakeKube();
    stuck.put(pod('agent-b', { 'app.kubernetes.io/name': 'netpol-agent' }));
    await assert.rejects(waitAgentsGone(stuck.client, log, NS, 'app.kubernetes.io/name=netpol-agent', 200, 20), /last seen: agent-b on w1/);
  });
});

describe('netpol-agent cleanup-wait: bad input is exit 2, naming the flag', () => {
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    const out: string[] = [];
    const sink = { write: (s: string) => (out.push(s), true) };
    const code = await runProgram(createProgram(), ['cleanup-wait', ...argv], { stdout: sink, stderr: sink, env });
    return { code, text: out.join('') };
  };
  it('neither wait given', async () => {
    const r = await run(['--namespace=kube-system']);
    assert.equal(r.code, 2);
    assert.match(r.text, /--agents-gone \/ --daemonset-done: "": give at least one of them/);
  });
  it('an empty or malformed selector, a bad namespace, a bad DaemonSet name', async () => {
    const r = await run(['--agents-gone=', '--daemonset-done=Bad_Name'], { POD_NAMESPACE: 'Kube System' });
    assert.equal(r.code, 2);
    assert.match(r.text, /invalid --namespace \/ POD_NAMESPACE: "Kube System"/);
    assert.match(r.text, /invalid --agents-gone: "": must select something/);
    assert.match(r.text, /invalid --daemonset-done: "Bad_Name"/);
  });
  it('an unusable kubeconfig', async () => {
    const r = await run(['--namespace=kube-system', '--daemonset-done=x', '--kubeconfig=/nonexistent/kubeconfig']);
    assert.equal(r.code, 2);
    assert.match(r.text, /netpol-agent cleanup-wait: .*\/nonexistent\/kubeconfig/);
  });
});

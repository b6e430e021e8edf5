// HelmController's run path for an invalid HelmChart (issue 15): the chart is never acted on (no
// claim annotation, no finalizer, no Job); one Warning `InvalidHelmChart` Event and one log line name
// the field and the value, once per change (a resync does not repeat them).
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { createLogger, createRegistry } from '@portico/service-kit';
import { eventually } from '@portico/testing';
import type { CoreConfig } from './config.ts';
import { HelmChartConfigResource, HelmChartResource, HelmController, JobResource } from './helm-controller.ts';
import { createAddonMetrics } from './metrics.ts';

/** The settings HelmController reads (the rest of CoreConfig is the addon loop's). */
const core = { controllerName: 'portico-addon-manager', helmJobImage: 'example.com/klipper-helm:test', jobClusterRole: 'cluster-admin', apiserverPort: 6443 } as CoreConfig;

describe('HelmController: an invalid HelmChart', () => {
  it('gets a Warning InvalidHelmChart Event and a log line naming field and value, once; no claim, no finalizer, no Job', async () => {
    const fake = new FakeKube({ resources: [HelmChartResource, HelmChartConfigResource, JobResource] });
    const chart = { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'web', namespace: 'kube-system' }, spec: { chart: 'web', backOffLimit: 2.5 } };
    fake.put(chart as KubeObject);
    const events: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const ctl = new HelmController({
      client: fake.client,
      core,
      log: createLogger({ app: 'test', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } }),
      events: { event: (obj, type, reason, message) => void events.push(`${obj.kind} ${type} ${reason}: ${message}`), flush: () => Promise.resolve() },
      metrics: createAddonMetrics(createRegistry('test', '0')),
      mode: 'true',
      resyncMs: 50,
    });
    const stop = new AbortController();
    const running = ctl.lead(stop.signal);
    try {
      await eventually(() => assert.equal(events.length, 1, JSON.stringify(lines.map((l) => l['event']))), 'the Event', 10_000, 20);
      assert.match(events[0]!, /^HelmChart Warning InvalidHelmChart: HelmChart kube-system\/web: spec\.backOffLimit: "2\.5": must be an integer, not a fraction; no Job is created$/);
      const logged = lines.filter((l) => l['event'] === 'chartInvalid');
      assert.equal(logged.length, 1);
      assert.equal(logged[0]!['level'], 'warn');
      assert.equal(logged[0]!['chart'], 'kube-system/web');
      await new Promise((r) => setTimeout(r, 300)); // several resyncs
      assert.equal(events.length, 1, 'once per change, not per resync');
      assert.equal(lines.filter((l) => l['event'] === 'chartInvalid').length, 1);
      const live = fake.get<KubeObject>(HelmChartResource, { namespace: 'kube-system', name: 'web' })!;
      assert.equal(live.metadata?.annotations?.['helmcharts.cattle.io/managed-by'], undefined, 'not claimed');
      assert.deepEqual(live.metadata?.finalizers ?? [], [], 'no finalizer');
      assert.equal(fake.list(JobResource).length, 0, 'no Job');
      assert.ok(!fake.requests.some((r) => r.method !== 'GET'), `nothing written: ${fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`).join(', ')}`);

    } finally {
      stop.abort();
      await running.catch((err: unknown) => assert.equal((err as Error).name, 'AbortError', String(err)));
    }
  });
});

// `cleanup`: undo everything ServiceLB wrote, for `helm uninstall` (the chart's post-delete hook)
// or for a user who turns ServiceLB off. It first takes the ServiceLB Lease, so it never races a
// controller (servicelb-controller or ccm hosting ServiceLB) that is still writing: a stopping
// controller releases the Lease, a killed one lets it expire. Holding it, it
//  1. deletes every svclb DaemonSet (label svccontroller.<program>.cattle.io/svcname) in the LB
//     namespace (their pods go with them);
//  2. for every Service ServiceLB served (the cleanup finalizer, or K3s's legacy finalizer, and no
//     spec.loadBalancerClass): clears status.loadBalancer.ingress and the LoadBalancerReady
//     condition, then removes the finalizers, so the Service can be deleted and another load
//     balancer can take it;
// and releases the Lease. Every step is idempotent: a second run finds nothing to do.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { connectForCommand, isNotFound, LeaderElector, type KubeClient, type KubeObject, Resources } from '@portico/kube';
import { type Clock } from '@portico/runner';
import { isValidProgram, programNames } from '@portico/labels';
import { hasCleanupFinalizer, wantsLoadBalancer, type Service } from '@portico/servicelb';
import { createLogger, createRegistry, ExitCode, fieldName, formatIssue, logLevelFlag, type CommandContext, type FlagSpec, type Issue, type Logger, type LogLevel } from '@portico/service-kit';
import { serviceLBCoreFlags } from './config.ts';
import { checkLeaseName, leaderConfigFrom, leaderElectionFlags } from '@portico/service-kit/controller';
import { createControllerMetrics } from './metrics.ts';
import { CLEANUP_FINALIZER, Writer } from './writer.ts';

export interface CleanupOptions {
  readonly client: KubeClient;
  readonly log: Logger;
  /** The <program> of svccontroller.<program>.cattle.io labels (k3s). */
  readonly program: string;
  readonly lbNamespace: string;
  /** Delete the svclb DaemonSets (false when the LB namespace is being deleted with them). */
  readonly deleteDaemonSets: boolean;
  readonly fieldManager: string;
  /** The ServiceLB Lease to hold while cleaning up; undefined: no Lease (leader election off). */
  readonly lease?: { readonly namespace: string; readonly name: string; readonly identity: string; readonly leaseDurationMs: number; readonly renewDeadlineMs: number; readonly retryPeriodMs: number };
  /** Give up (throw) when the Lease is not ours within this time. */
  readonly timeoutMs: number;
  readonly clock?: Clock;
}

export interface CleanupResult {
  readonly daemonSetsDeleted: readonly string[];
  readonly servicesReleased: readonly string[];
}

/** Runs the cleanup (under the Lease when `lease` is set). */
export async function cleanupServiceLB(o: CleanupOptions): Promise<CleanupResult> {
  if (!o.lease) return cleanupNow(o);
  const lease = o.lease;
  let result: Promise<CleanupResult> | undefined;
  const elector = new LeaderElector({
    client: o.client,
    namespace: lease.namespace,
    name: lease.name,
    identity: lease.identity,
    leaseDurationMs: lease.leaseDurationMs,
    renewDeadlineMs: lease.renewDeadlineMs,
    retryPeriodMs: lease.retryPeriodMs,
    clock: o.clock,
    logger: o.log,
    onStartedLeading: () => {
      o.log.info({ event: 'leaseAcquired', lease: `${lease.namespace}/${lease.name}` }, 'holding the ServiceLB Lease: no controller writes while cleaning up');
      result = cleanupNow(o);
      // Release the Lease once done, whatever the outcome.
      void result.then(
        () => elector.stop(),
        () => elector.stop(),
      );
    },
  });
  o.log.info({ event: 'waitingForLease', lease: `${lease.namespace}/${lease.name}` }, 'waiting for the ServiceLB Lease (a running controller holds it until it stops)');
  const timer = setTimeout(() => void elector.stop(), o.timeoutMs);
  try {
    await elector.run();
  } finally {
    clearTimeout(timer);
  }
  if (!result) throw new Error(`the ServiceLB Lease ${lease.namespace}/${lease.name} was not free within ${Math.round(o.timeoutMs / 1000)}s (holder: ${elector.observedLeader() || 'unknown'}); is a ServiceLB controller still running?`);
  return result;
}

async function cleanupNow(o: CleanupOptions): Promise<CleanupResult> {
  const names = programNames(o.program);
  const writer = new Writer(o.client, o.fieldManager, createControllerMetrics(createRegistry('servicelb-cleanup', '0')));
  const daemonSetsDeleted: string[] = [];
  if (o.deleteDaemonSets) {
    const ds = await o.client.listAll<KubeObject>(Resources.DaemonSet, { namespace: o.lbNamespace, labelSelector: names.svcNameLabel });
    for (const d of ds.items) {
      const name = d.metadata!.name!;
      if (await writer.deleteDaemonSet(o.lbNamespace, name)) {
        daemonSetsDeleted.push(`${o.lbNamespace}/${name}`);
        o.log.info({ event: 'daemonSetDeleted', obj: { kind: 'DaemonSet', ns: o.lbNamespace, name } }, 'deleted a svclb DaemonSet');
      }
    }
  }
  const servicesReleased: string[] = [];
  const services = await o.client.listAll<Service & KubeObject>(Resources.Service);
  for (const svc of services.items) {
    const finalizers = svc.metadata?.finalizers ?? [];
    const ours = !svc.spec?.loadBalancerClass && (hasCleanupFinalizer(svc) || finalizers.includes(names.legacyFinalizer));
    if (!ours) continue;
    const id = `${svc.metadata!.namespace}/${svc.metadata!.name}`;
    try {
      let current: Service | undefined = svc;
      if (wantsLoadBalancer(svc) || (svc.status?.loadBalancer?.ingress ?? []).length > 0) {
        current = await writer.writeStatus(svc, { loadBalancer: {}, conditions: [] });
      }
      for (const f of [CLEANUP_FINALIZER, names.legacyFinalizer]) if (current) current = await writer.removeFinalizer(current, f);
      servicesReleased.push(id);
      o.log.info({ event: 'serviceReleased', obj: { kind: 'Service', ns: svc.metadata!.namespace, name: svc.metadata!.name } }, 'cleared the ServiceLB status and finalizer');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  o.log.info({ event: 'cleanupDone', daemonSetsDeleted: daemonSetsDeleted.length, servicesReleased: servicesReleased.length }, 'ServiceLB cleanup done');
  return { daemonSetsDeleted, servicesReleased };
}

const coreFlag = (name: string): FlagSpec => serviceLBCoreFlags.find((f) => f.name === name)!;

/** Flags of `cleanup` (servicelb-controller; the same Lease flags as `run`). */
export function cleanupFlags(leaseNameFlag: FlagSpec): FlagSpec[] {
  return [
    { name: 'kubeconfig', type: 'string', description: 'Path to a kubeconfig; else $KUBECONFIG, else in-cluster config, else ~/.kube/config' },
    logLevelFlag(),
    coreFlag('lb-namespace'),
    coreFlag('program'),
    {
      name: 'delete-daemonsets',
      type: 'bool',
      env: 'PORTICO_DELETE_DAEMONSETS',
      default: true,
      description: 'Delete the svclb DaemonSets in --lb-namespace (false when that namespace is being deleted with them)',
    },
    { name: 'timeout', type: 'duration', env: 'PORTICO_TIMEOUT', default: 120_000, description: 'Give up (exit 1) when the ServiceLB Lease is not free within this time' },
    ...leaderElectionFlags('--lb-namespace'),
    leaseNameFlag,
  ];
}

/** The `cleanup` command's handler. */
export function cleanupCommand(opts: { readonly name: string; readonly version: string; readonly fieldManager: string; readonly leaseNameFlag: FlagSpec }): (ctx: CommandContext) => Promise<number> {
  return async (ctx) => {
    const v = ctx.values;
    const issues: Issue[] = [];
    const program = String(v['program']);
    if (!isValidProgram(program)) issues.push({ field: fieldName(coreFlag('program')), value: program, reason: 'must be a DNS-1123 label' });
    const lbNamespace = String(v['lb-namespace']);
    if (!(lbNamespace.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(lbNamespace))) issues.push({ field: fieldName(coreFlag('lb-namespace')), value: lbNamespace, reason: 'must be a DNS-1123 label (a namespace name)' });
    const leader = leaderConfigFrom(v, ctx.io.env, lbNamespace, () => `${hostname()}_cleanup_${randomBytes(4).toString('hex')}`, issues);
    const leaseName = String(v[opts.leaseNameFlag.name]);
    checkLeaseName(opts.leaseNameFlag, leaseName, issues);
    const timeoutMs = v['timeout'] as number;
    if (!(timeoutMs > 0)) issues.push({ field: '--timeout / PORTICO_TIMEOUT', value: String(timeoutMs), reason: 'must be more than 0' });
    if (issues.length > 0) {
      for (const i of issues) ctx.io.stderr.write(`${opts.name} cleanup: ${formatIssue(i)}\n`);
      return ExitCode.usage;
    }
    const log = createLogger({ app: opts.name, level: v['log-level'] as LogLevel });
    const client = await connectForCommand({ kubeconfig: (v['kubeconfig'] as string | undefined) || undefined, env: ctx.io.env, userAgent: `portico-${opts.name}/${opts.version}`, prefix: `${opts.name} cleanup`, stderr: ctx.io.stderr });
    if (!client) return ExitCode.usage;
    try {
      await cleanupServiceLB({
        client,
        log,
        program,
        lbNamespace,
        deleteDaemonSets: v['delete-daemonsets'] === true,
        fieldManager: opts.fieldManager,
        lease: leader.leaderElect ? { namespace: leader.leaseNamespace, name: leaseName, identity: leader.identity, leaseDurationMs: leader.leaseDurationMs, renewDeadlineMs: leader.renewDeadlineMs, retryPeriodMs: leader.retryPeriodMs } : undefined,
        timeoutMs,
      });
      return ExitCode.ok;
    } catch (err) {
      log.error({ event: 'cleanupFailed', err }, `ServiceLB cleanup failed: ${(err as Error).message}`);
      return ExitCode.failure;
    } finally {
      client.close();
    }
  };
}

// `netpol-agent cleanup-wait`: the API side of the chart's post-delete cleanup. netpol-agent's
// rules live in every node's kernel, so `helm uninstall` runs `netpol-agent cleanup` once per node
// (an init container of a hook DaemonSet). Helm waits only for hook Jobs, so two Jobs around that
// DaemonSet use this command:
//   --agents-gone SELECTOR   before it: wait until no agent pod is left (a terminating agent would
//                            program its rules again after the cleanup);
//   --daemonset-done NAME    after it: wait until the DaemonSet's pod is Ready on every node it
//                            wants (Ready only after its cleanup init container exited 0).
// A node whose cleanup fails keeps its pod unready: the wait times out naming it, and helm reports
// the hook as failed (the DaemonSet stays for `kubectl logs`).

import { connectForCommand, parseLabelSelector, pollUntil, Resources, type KubeClient, type KubeObject } from '@portico/kube';
import { createLogger, ExitCode, formatIssue, logLevelFlag, type CommandContext, type FlagSpec, type Issue, type Logger, type LogLevel } from '@portico/service-kit';

const NAME = 'netpol-agent';

export const cleanupWaitFlags: readonly FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', description: 'Path to a kubeconfig; else $KUBECONFIG, else in-cluster config, else ~/.kube/config' },
  logLevelFlag(),
  { name: 'namespace', type: 'string', env: 'POD_NAMESPACE', required: true, description: 'Namespace of the agent pods and of the cleanup DaemonSet' },
  { name: 'agents-gone', type: 'string', description: 'Wait until no pod matches this label selector (the agent DaemonSet\'s pods)' },
  { name: 'daemonset-done', type: 'string', description: 'Wait until this DaemonSet has a Ready, up-to-date pod on every node it schedules to' },
  { name: 'timeout', type: 'duration', env: 'PORTICO_TIMEOUT', default: 300_000, description: 'Give up (exit 1) after this long' },
];

interface DaemonSetStatus {
  observedGeneration?: number;
  desiredNumberScheduled?: number;
  numberReady?: number;
  updatedNumberScheduled?: number;
}

/** Whether a DaemonSet's status shows every wanted pod up to date and Ready; `seen` describes it. */
export function daemonSetDone(ds: KubeObject & { status?: DaemonSetStatus }): { done: boolean; seen: string } {
  const s = ds.status ?? {};
  const desired = s.desiredNumberScheduled ?? 0;
  const observed = (s.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 1);
  const done = observed && (s.updatedNumberScheduled ?? 0) >= desired && (s.numberReady ?? 0) >= desired;
  return { done, seen: `${s.numberReady ?? 0}/${desired} ready, ${s.updatedNumberScheduled ?? 0} up to date${observed ? '' : ', status not observed yet'}` };
}

export async function waitAgentsGone(client: KubeClient, log: Logger, namespace: string, selector: string, timeoutMs: number, pollMs = 2000): Promise<void> {
  log.info({ event: 'waitingForAgents', namespace, selector }, 'waiting until no netpol-agent pod is left');
  await pollUntil(
    `no pod matching ${selector} in ${namespace}`,
    async () => {
      const pods = (await client.listAll<KubeObject & { spec?: { nodeName?: string } }>(Resources.Pod, { namespace, labelSelector: selector })).items;
      return { done: pods.length === 0, seen: pods.map((p) => `${p.metadata?.name} on ${p.spec?.nodeName ?? '?'}`).join(', ') };
    },
    { timeoutMs, intervalMs: pollMs },
  );
}

export async function waitDaemonSetDone(client: KubeClient, log: Logger, namespace: string, name: string, timeoutMs: number, pollMs = 2000): Promise<void> {
  log.info({ event: 'waitingForCleanup', daemonSet: `${namespace}/${name}` }, 'waiting for the cleanup to finish on every node');
  await pollUntil(
    `DaemonSet ${namespace}/${name} to be Ready on every node (its init container runs netpol-agent cleanup)`,
    async () => daemonSetDone(await client.get(Resources.DaemonSet, { namespace, name })),
    { timeoutMs, intervalMs: pollMs },
  );
}

export async function cleanupWaitCommand(ctx: CommandContext): Promise<number> {
  const v = ctx.values;
  const issues: Issue[] = [];
  const namespace = String(v['namespace'] ?? '');
  const selector = v['agents-gone'] as string | undefined;
  const daemonSet = v['daemonset-done'] as string | undefined;
  const timeoutMs = v['timeout'] as number;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) issues.push({ field: '--namespace / POD_NAMESPACE', value: namespace, reason: 'must be a DNS-1123 label (a namespace name)' });
  if (selector === undefined && daemonSet === undefined) issues.push({ field: '--agents-gone / --daemonset-done', value: '', reason: 'give at least one of them' });
  if (selector !== undefined) {
    try {
      if (parseLabelSelector(selector).length === 0) issues.push({ field: '--agents-gone', value: selector, reason: 'must select something (an empty selector matches every pod)' });
    } catch (e) {
      issues.push({ field: '--agents-gone', value: selector, reason: `not a label selector: ${(e as Error).message}` });
    }
  }
  if (daemonSet !== undefined && !/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(daemonSet)) issues.push({ field: '--daemonset-done', value: daemonSet, reason: 'must be a DaemonSet name' });
  if (!(timeoutMs > 0)) issues.push({ field: '--timeout / PORTICO_TIMEOUT', value: String(timeoutMs), reason: 'must be more than 0' });
  if (issues.length > 0) {
    for (const i of issues) ctx.io.stderr.write(`${NAME} cleanup-wait: ${formatIssue(i)}\n`);
    return ExitCode.usage;
  }
  const log = createLogger({ app: NAME, level: v['log-level'] as LogLevel });
  const client = await connectForCommand({ kubeconfig: (v['kubeconfig'] as string | undefined) || undefined, env: ctx.io.env, userAgent: `portico-${NAME}`, prefix: `${NAME} cleanup-wait`, stderr: ctx.io.stderr });
  if (!client) return ExitCode.usage;
  try {
    if (selector !== undefined) await waitAgentsGone(client, log, namespace, selector, timeoutMs);
    if (daemonSet !== undefined) await waitDaemonSetDone(client, log, namespace, daemonSet, timeoutMs);
    log.info({ event: 'done' }, 'done');
    return ExitCode.ok;
  } catch (err) {
    log.error({ event: 'waitFailed', err }, `cleanup-wait failed: ${(err as Error).message}`);
    return ExitCode.failure;
  } finally {
    client.close();
  }
}

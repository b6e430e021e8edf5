// `addon-manager cleanup`: remove what addon-manager created, for `helm uninstall`. In order:
//  1. (--objects charts|all) every HelmChart this instance manages (annotation
//     helmcharts.cattle.io/managed-by = --controller-name) is deleted, and the command waits until
//     each is gone: the running HelmChart loop runs its delete Job (helm uninstall of the chart) and
//     drops the finalizer. So this needs addon-manager running: the chart's pre-delete hook;
//  2. (charts|all) every HelmChartConfig whose HelmChart is gone (HelmChartConfigs of charts another
//     controller manages, e.g. K3s's helm-controller, stay);
//  3. (--objects addons|all) every Addon addon-manager wrote (annotation applyset.kubernetes.io/tooling
//     = portico-addon-manager/v1). A running addon-manager writes the Addon of a file again (its
//     status is its record), so this needs addon-manager stopped: the chart's post-delete hook.
//     The objects a manifest deployed stay, as in K3s: they are the user's.
// HelmCharts of other controllers and their configs are never touched. Idempotent.

import { connectForCommand, isNotFound, pollUntil, type KubeClient, type KubeObject, type ResourceType } from '@portico/kube';
import { AddonApi, ApplySet, Helm } from '@portico/addon';
import { createLogger, ExitCode, fieldName, formatIssue, logLevelFlag, type CommandContext, type FlagSpec, type Issue, type Logger, type LogLevel } from '@portico/service-kit';
import { AddonResource } from './addon-controller.ts';
import { coreFlags, VERSION } from './config.ts';
import { HelmChartConfigResource, HelmChartResource } from './helm-controller.ts';

const NAME = 'addon-manager';

const controllerNameFlag = coreFlags.find((f) => f.name === 'controller-name')!;

export const cleanupFlags: readonly FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', description: 'Path to a kubeconfig; else $KUBECONFIG, else in-cluster config, else ~/.kube/config' },
  logLevelFlag(),
  controllerNameFlag,
  {
    name: 'objects',
    type: 'string',
    env: 'PORTICO_CLEANUP_OBJECTS',
    default: 'all',
    choices: ['charts', 'addons', 'all'],
    description: 'What to delete: charts (HelmCharts and their configs; addon-manager must run), addons (its Addons; addon-manager must be stopped) or all',
  },
  { name: 'timeout', type: 'duration', env: 'PORTICO_TIMEOUT', default: 300_000, description: 'Give up (exit 1) when the HelmCharts are not gone within this time (their delete Jobs run helm uninstall)' },
];

export interface CleanupResult {
  readonly helmCharts: readonly string[];
  readonly helmChartConfigs: readonly string[];
  readonly addons: readonly string[];
}

const id = (o: KubeObject): string => `${o.metadata?.namespace}/${o.metadata?.name}`;

/** Lists `res` everywhere; [] when the API server does not serve it (CRD not installed). */
async function listOrNone(client: KubeClient, res: ResourceType, namespace?: string): Promise<KubeObject[]> {
  try {
    return (await client.listAll<KubeObject>(res, namespace ? { namespace } : {})).items;
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function deleteAll(client: KubeClient, res: ResourceType, objs: readonly KubeObject[], log: Logger): Promise<string[]> {
  const done: string[] = [];
  for (const o of objs) {
    try {
      await client.delete(res, { namespace: o.metadata?.namespace, name: o.metadata!.name! });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    done.push(id(o));
    log.info({ event: 'deleted', obj: { kind: res.kind, ns: o.metadata?.namespace, name: o.metadata?.name } }, `deleted ${res.kind} ${id(o)}`);
  }
  return done;
}

/** Runs the cleanup; throws when a HelmChart is not gone within `timeoutMs`. */
export async function cleanupAddons(o: {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly controllerName: string;
  readonly timeoutMs: number;
  readonly objects?: 'charts' | 'addons' | 'all';
  readonly pollMs?: number;
}): Promise<CleanupResult> {
  const { client, log } = o;
  const objects = o.objects ?? 'all';
  const charts = objects === 'addons' ? { helmCharts: [], helmChartConfigs: [] } : await cleanupCharts(o);
  const addons = objects === 'charts' ? [] : await deleteAll(client, AddonResource, (await listOrNone(client, AddonResource, AddonApi.namespace)).filter((a) => a.metadata?.annotations?.[ApplySet.tooling] === ApplySet.porticoTooling), log);
  log.info({ event: 'cleanupDone', objects, helmCharts: charts.helmCharts.length, helmChartConfigs: charts.helmChartConfigs.length, addons: addons.length }, 'addon-manager cleanup done');
  return { ...charts, addons };
}

async function cleanupCharts(o: { readonly client: KubeClient; readonly log: Logger; readonly controllerName: string; readonly timeoutMs: number; readonly pollMs?: number }): Promise<Omit<CleanupResult, 'addons'>> {
  const { client, log } = o;
  const allCharts = await listOrNone(client, HelmChartResource);
  const ours = allCharts.filter((c) => c.metadata?.annotations?.[Helm.managedBy] === o.controllerName);
  const helmCharts = await deleteAll(client, HelmChartResource, ours, log);
  if (ours.length > 0) {
    log.info({ event: 'waitingForHelmCharts', charts: helmCharts }, 'waiting for the HelmChart delete Jobs (helm uninstall) to finish');
    const wanted = new Set(helmCharts);
    await pollUntil(
      `HelmCharts ${helmCharts.join(', ')} to be deleted (their delete Jobs run helm uninstall; is addon-manager running?)`,
      async () => {
        const left = (await listOrNone(client, HelmChartResource)).filter((c) => wanted.has(id(c))).map(id);
        return { done: left.length === 0, seen: `still there: ${left.join(', ')}` };
      },
      { timeoutMs: o.timeoutMs, intervalMs: o.pollMs ?? 2000 },
    );
  }
  const remaining = new Set((await listOrNone(client, HelmChartResource)).map(id));
  const configs = (await listOrNone(client, HelmChartConfigResource)).filter((c) => !remaining.has(id(c)));
  const helmChartConfigs = await deleteAll(client, HelmChartConfigResource, configs, log);
  return { helmCharts, helmChartConfigs };
}

/** The `cleanup` command. */
export async function cleanupCommand(ctx: CommandContext): Promise<number> {
  const v = ctx.values;
  const issues: Issue[] = [];
  const controllerName = String(v['controller-name']);
  if (controllerName.trim() === '' || controllerName.length > 63) issues.push({ field: fieldName(controllerNameFlag), value: controllerName, reason: 'must be 1 to 63 characters' });
  const timeoutMs = v['timeout'] as number;
  if (!(timeoutMs > 0)) issues.push({ field: '--timeout / PORTICO_TIMEOUT', value: String(timeoutMs), reason: 'must be more than 0' });
  if (issues.length > 0) {
    for (const i of issues) ctx.io.stderr.write(`${NAME} cleanup: ${formatIssue(i)}\n`);
    return ExitCode.usage;
  }
  const log = createLogger({ app: NAME, level: v['log-level'] as LogLevel });
  const client = await connectForCommand({ kubeconfig: (v['kubeconfig'] as string | undefined) || undefined, env: ctx.io.env, userAgent: `portico-${NAME}/${VERSION}`, prefix: `${NAME} cleanup`, stderr: ctx.io.stderr });
  if (!client) return ExitCode.usage;
  try {
    await cleanupAddons({ client, log, controllerName, timeoutMs, objects: v['objects'] as 'charts' | 'addons' | 'all' });
    return ExitCode.ok;
  } catch (err) {
    log.error({ event: 'cleanupFailed', err }, `addon-manager cleanup failed: ${(err as Error).message}`);
    return ExitCode.failure;
  } finally {
    client.close();
  }
}

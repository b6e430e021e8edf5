// The Grafana dashboard the chart ships (files/dashboards/portico.json), described as data and
// rendered to Grafana's JSON model. deploy/src/sync-chart-files.ts writes the file; the unit test
// checks the file is current and that every metric a query names is one the apps export.

/** One time-series or stat panel: a title, a unit and its PromQL queries (legend per query). */
interface PanelSpec {
  readonly title: string;
  readonly kind: 'timeseries' | 'stat';
  readonly unit: string;
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
  readonly description: string;
}

interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

const sel = '{namespace=~"$namespace"}';

const ROWS: readonly RowSpec[] = [
  {
    title: 'Components',
    panels: [
      { title: 'Running components', kind: 'stat', unit: 'none', description: 'Processes per component and version (portico_build_info).', queries: [{ expr: `sum by (component, version) (portico_build_info${sel})`, legend: '{{component}} {{version}}' }] },
      { title: 'Resident memory', kind: 'timeseries', unit: 'bytes', description: 'Resident set size of each Portico process.', queries: [{ expr: `portico_process_resident_memory_bytes${sel}`, legend: '{{pod}}' }] },
      { title: 'CPU', kind: 'timeseries', unit: 'percentunit', description: 'CPU time per second of each Portico process.', queries: [{ expr: `rate(portico_process_cpu_seconds_total${sel}[5m])`, legend: '{{pod}}' }] },
      { title: 'Event loop lag (p99)', kind: 'timeseries', unit: 's', description: 'Node.js event loop lag, 99th percentile.', queries: [{ expr: `portico_nodejs_eventloop_lag_p99_seconds${sel}`, legend: '{{pod}}' }] },
    ],
  },
  {
    title: 'ServiceLB',
    panels: [
      { title: 'Services by state', kind: 'timeseries', unit: 'none', description: 'LoadBalancer Services by ServiceLB state, as the leader last reconciled them.', queries: [{ expr: `max by (state) (portico_servicelb_services${sel} * on (pod) group_left portico_servicelb_leader${sel})`, legend: '{{state}}' }] },
      { title: 'Reconciles', kind: 'timeseries', unit: 'ops', description: 'Service reconciles per second, by result.', queries: [{ expr: `sum by (result) (rate(portico_servicelb_reconciles_total${sel}[5m]))`, legend: '{{result}}' }] },
      { title: 'Reconcile duration (p95)', kind: 'timeseries', unit: 's', description: '95th percentile of one Service reconcile.', queries: [{ expr: `histogram_quantile(0.95, sum by (le) (rate(portico_servicelb_reconcile_duration_seconds_bucket${sel}[5m])))`, legend: 'p95' }] },
      { title: 'API writes', kind: 'timeseries', unit: 'ops', description: 'Writes to the API server per second, by verb, resource and result.', queries: [{ expr: `sum by (verb, resource, result) (rate(portico_servicelb_api_writes_total${sel}[5m]))`, legend: '{{verb}} {{resource}} {{result}}' }] },
      { title: 'Queue depth and leader', kind: 'timeseries', unit: 'none', description: 'Service keys waiting, and which replica leads.', queries: [{ expr: `portico_servicelb_queue_depth${sel}`, legend: 'depth {{pod}}' }, { expr: `portico_servicelb_leader${sel}`, legend: 'leader {{pod}}' }] },
    ],
  },
  {
    title: 'NetworkPolicy',
    panels: [
      { title: 'Nodes whose last sync failed', kind: 'stat', unit: 'none', description: 'Agents whose last sync did not succeed (portico_netpol_last_sync_ok == 0).', queries: [{ expr: `count(portico_netpol_last_sync_ok${sel} == 0) or vector(0)`, legend: 'failing' }] },
      { title: 'Seconds since last successful sync', kind: 'timeseries', unit: 's', description: 'Per node; grows while a node cannot apply its rules.', queries: [{ expr: `time() - portico_netpol_last_sync_success_timestamp_seconds${sel}`, legend: '{{pod}}' }] },
      { title: 'Syncs', kind: 'timeseries', unit: 'ops', description: 'Syncs per second, by result (applied, unchanged, failed).', queries: [{ expr: `sum by (result) (rate(portico_netpol_syncs_total${sel}[5m]))`, legend: '{{result}}' }] },
      { title: 'Sync failures', kind: 'timeseries', unit: 'ops', description: 'Failed syncs per second, by family and phase.', queries: [{ expr: `sum by (family, phase) (rate(portico_netpol_sync_failures_total${sel}[5m]))`, legend: '{{family}} {{phase}}' }] },
      { title: 'Sync time (p95)', kind: 'timeseries', unit: 's', description: '95th percentile of one whole sync (kube-router metric name).', queries: [{ expr: `histogram_quantile(0.95, sum by (le) (rate(kube_router_controller_iptables_sync_time_bucket${sel}[5m])))`, legend: 'p95' }] },
      { title: 'Chains and sets', kind: 'timeseries', unit: 'none', description: 'Pod chains, policy chains and ipsets, summed over nodes and families.', queries: [{ expr: `sum(portico_netpol_pod_chains${sel})`, legend: 'pod chains' }, { expr: `sum(kube_router_controller_policy_chains${sel})`, legend: 'policy chains' }, { expr: `sum(kube_router_controller_policy_ipsets${sel})`, legend: 'ipsets' }] },
      { title: 'Kernel writes', kind: 'timeseries', unit: 'ops', description: 'iptables-restore and ipset restore calls per second, by tool and result.', queries: [{ expr: `sum by (tool, result) (rate(portico_netpol_kernel_writes_total${sel}[5m]))`, legend: '{{tool}} {{result}}' }] },
      { title: 'Drift, leftovers, render problems', kind: 'timeseries', unit: 'none', description: 'Drift repairs (per hour), objects that could not be removed, policy problems in the last sync.', queries: [{ expr: `sum(increase(portico_netpol_drift_repairs_total${sel}[1h]))`, legend: 'drift repairs / h' }, { expr: `sum(portico_netpol_leftover_objects${sel})`, legend: 'leftover objects' }, { expr: `sum by (reason) (portico_netpol_render_problems${sel})`, legend: 'problem: {{reason}}' }] },
    ],
  },
  {
    title: 'Node initialization (ccm)',
    panels: [
      { title: 'Nodes by state', kind: 'timeseries', unit: 'none', description: 'Nodes by ccm state (waiting: tainted with no usable address; initialized), from the leader.', queries: [{ expr: `max by (state) (portico_ccm_nodes${sel} * on (pod) group_left portico_ccm_leader${sel})`, legend: '{{state}}' }] },
      { title: 'Taint removal delay (p95)', kind: 'timeseries', unit: 's', description: 'Node creation to removal of its uninitialized taint, 95th percentile.', queries: [{ expr: `histogram_quantile(0.95, sum by (le) (rate(portico_ccm_taint_removal_delay_seconds_bucket${sel}[15m])))`, legend: 'p95' }] },
      { title: 'Node syncs', kind: 'timeseries', unit: 'ops', description: 'Node reconciles per second by result, and initializations.', queries: [{ expr: `sum by (result) (rate(portico_ccm_node_syncs_total${sel}[5m]))`, legend: '{{result}}' }, { expr: `sum(rate(portico_ccm_node_initializations_total${sel}[5m]))`, legend: 'initialized' }] },
      { title: 'Node writes', kind: 'timeseries', unit: 'ops', description: 'Node writes to the API server per second, by verb, resource and result.', queries: [{ expr: `sum by (verb, resource, result) (rate(portico_ccm_api_writes_total${sel}[5m]))`, legend: '{{verb}} {{resource}} {{result}}' }] },
    ],
  },
  {
    title: 'Add-ons (addon-manager)',
    panels: [
      { title: 'Manifest files by state', kind: 'timeseries', unit: 'none', description: 'Manifest files by state as of the last pass, from the leader.', queries: [{ expr: `max by (state) (portico_addon_files${sel} * on (pod) group_left portico_addon_leader${sel})`, legend: '{{state}}' }] },
      { title: 'Directory passes', kind: 'timeseries', unit: 'ops', description: 'Passes and manifest applies per second, by result.', queries: [{ expr: `sum by (result) (rate(portico_addon_passes_total${sel}[5m]))`, legend: 'pass {{result}}' }, { expr: `sum by (result) (rate(portico_addon_manifest_applies_total${sel}[5m]))`, legend: 'apply {{result}}' }] },
      { title: 'Pass duration (p95)', kind: 'timeseries', unit: 's', description: '95th percentile of one directory pass.', queries: [{ expr: `histogram_quantile(0.95, sum by (le) (rate(portico_addon_pass_duration_seconds_bucket${sel}[5m])))`, legend: 'p95' }] },
      { title: 'HelmCharts and pruning', kind: 'timeseries', unit: 'none', description: 'HelmChart reconciles and Jobs created per hour, objects pruned per hour.', queries: [{ expr: `sum by (result) (increase(portico_addon_helm_reconciles_total${sel}[1h]))`, legend: 'helm reconcile {{result}}' }, { expr: `sum by (kind) (increase(portico_addon_helm_jobs_created_total${sel}[1h]))`, legend: 'job {{kind}}' }, { expr: `sum(increase(portico_addon_pruned_objects_total${sel}[1h]))`, legend: 'pruned' }] },
    ],
  },
  {
    title: 'Kubernetes API',
    panels: [
      { title: 'Watch restarts', kind: 'timeseries', unit: 'ops', description: 'Watches restarted per second, by cache and reason.', queries: [{ expr: `sum by (cache, reason) (rate(portico_kube_watch_restarts_total${sel}[5m]))`, legend: '{{cache}} {{reason}}' }] },
      { title: 'Full LISTs', kind: 'timeseries', unit: 'ops', description: 'Complete LISTs per second, by cache and reason (initial, gone, error).', queries: [{ expr: `sum by (cache, reason) (rate(portico_kube_list_total${sel}[5m]))`, legend: '{{cache}} {{reason}}' }] },
      { title: 'Cached objects', kind: 'timeseries', unit: 'none', description: 'Objects in each list-watch cache, per pod.', queries: [{ expr: `portico_kube_cache_objects${sel}`, legend: '{{pod}} {{cache}}' }] },
      { title: 'Events recorded', kind: 'timeseries', unit: 'ops', description: 'Kubernetes Events per second, by reason and outcome.', queries: [{ expr: `sum by (reason, outcome) (rate(portico_kube_events_total${sel}[5m]))`, legend: '{{reason}} {{outcome}}' }] },
      { title: 'Work queues', kind: 'timeseries', unit: 'none', description: 'Keys waiting in each work queue.', queries: [{ expr: `sum by (queue) (portico_workqueue_depth${sel})`, legend: '{{queue}}' }] },
    ],
  },
];

/** Every PromQL expression of the dashboard (for the metric-name check). */
export function dashboardQueries(): string[] {
  return ROWS.flatMap((r) => r.panels.flatMap((p) => p.queries.map((q) => q.expr)));
}

/** The dashboard as Grafana JSON (schemaVersion 39), with a stable layout and stable ids. */
export function renderDashboard(): string {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((p, i) => {
      const w = p.kind === 'stat' ? 6 : 12;
      panels.push({
        id: id++,
        type: p.kind,
        title: p.title,
        description: p.description,
        datasource: { type: 'prometheus', uid: '${datasource}' },
        gridPos: { h: 8, w, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: p.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] }, textMode: 'value_and_name' } : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: p.queries.map((q, j) => ({ refId: String.fromCharCode(65 + j), expr: q.expr, legendFormat: q.legend, datasource: { type: 'prometheus', uid: '${datasource}' } })),
      });
    });
    y += Math.ceil(row.panels.length / 2) * 8;
  }
  const dashboard = {
    uid: 'portico',
    title: 'Portico',
    description: 'ServiceLB, NetworkPolicy, node initialization, add-ons and Kubernetes API client metrics of the Portico components',
    tags: ['portico', 'kubernetes', 'networking'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        {
          name: 'namespace',
          label: 'Namespace',
          type: 'query',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          query: { query: 'label_values(portico_build_info, namespace)', refId: 'namespace' },
          definition: 'label_values(portico_build_info, namespace)',
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: {},
          refresh: 2,
          hide: 0,
        },
      ],
    },
    panels,
  };
  return JSON.stringify(dashboard, null, 2) + '\n';
}

// `ccm render --snapshot FILE...`: what ccm would write for a snapshot, with no cluster access.
// First one document per Node that ccm would change, carrying only what it writes (labels set,
// spec.providerID and spec.taints when they change, status.addresses when they change), sorted by
// name; then, unless `--disable servicelb`, the hosted ServiceLB's output (servicelb-controller
// render's). Warnings that would be Events (no usable address, invalid values) go to stderr, one
// line per Node and event. Same objects in any order → same bytes.

import { EventReason, programNames } from '@portico/labels';
import { objectProblemText, snapshotFromObjects, validateNode, yamlDocuments } from '@portico/servicelb';
import { objectName } from '@portico/validation';
import { nodeOutcome, type CcmNode } from './instances.ts';

/** The Node documents and the warnings of `render` for `objects`. */
export function renderNodes(objects: readonly unknown[], program: string): { readonly documents: unknown[]; readonly warnings: string[]; readonly problems: string[] } {
  const names = programNames(program);
  const documents: unknown[] = [];
  const warnings: string[] = [];
  const problems: string[] = [];
  // Invalid Nodes (validated as the API server would) are reported and never written from.
  const valid: CcmNode[] = [];
  for (const node of snapshotFromObjects(objects).nodes) {
    const found = validateNode(node);
    if (found.length === 0) valid.push(node as CcmNode);
    else for (const p of found) problems.push(objectProblemText({ kind: 'Node', ...objectName(node), ...p }));
  }
  const nodes = valid.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const node of nodes) {
    const o = nodeOutcome(node, names, { invalid: EventReason.InvalidAnnotation, noAddress: EventReason.NoUsableAddress, synced: EventReason.Synced });
    for (const e of o.events) if (e.type === 'Warning') warnings.push(`node ${o.name}: ${e.type} ${e.reason}: ${e.message}`);
    if (!o.addresses && !o.update) continue;
    const spec = {
      ...(o.update?.providerID !== undefined ? { providerID: o.update.providerID } : {}),
      ...(o.update?.taints !== undefined ? { taints: o.update.taints } : {}),
    };
    documents.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: o.name, ...(o.update && Object.keys(o.update.labels).length > 0 ? { labels: o.update.labels } : {}) },
      ...(Object.keys(spec).length > 0 ? { spec } : {}),
      ...(o.addresses ? { status: { addresses: o.addresses } } : {}),
    });
  }
  return { documents, warnings, problems: problems.sort() };
}

/** The Node part as YAML documents (none when any Node is invalid: then `problems` says why). */
export function renderNodesText(objects: readonly unknown[], program: string): { readonly documents: Iterable<string>; readonly warnings: string[]; readonly problems: string[] } {
  const r = renderNodes(objects, program);
  return { documents: r.problems.length > 0 ? [] : yamlDocuments(r.documents), warnings: r.warnings, problems: r.problems };
}

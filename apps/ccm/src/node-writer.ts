// Every write ccm's node controller makes to the API server, in one place. rbac.yaml grants
// exactly these verbs (plus list/watch of the cache); docs/ccm.md ("RBAC") lists them.
//
//  nodes/status  merge PATCH of status.addresses (the whole list), with the resourceVersion the
//                addresses were computed from as precondition (409 when the Node changed meanwhile,
//                so an address another writer just added is never overwritten); written before the
//                spec update, so a Node never loses its uninitialized taint without its addresses
//  nodes         PUT of the Node with the provider ID, labels and taints changed, based on the
//                object the status write returned (or the cached one), so its resourceVersion is
//                the precondition: a concurrent change gives 409 and the Node is reconciled again

import { isNotFound, Resources, type KubeClient, type KubeObject } from '@portico/kube';
import { countedWrite } from '@portico/service-kit';
import type { CcmNode, NodeAddress, NodeSpecUpdate } from './instances.ts';
import type { CcmMetrics } from './metrics.ts';

export type KubeNode = CcmNode & KubeObject;

export class NodeWriter {
  readonly #client: KubeClient;
  readonly #fieldManager: string;
  readonly #metrics: CcmMetrics;

  constructor(client: KubeClient, fieldManager: string, metrics: CcmMetrics) {
    this.#client = client;
    this.#fieldManager = fieldManager;
    this.#metrics = metrics;
  }

  #write<T>(verb: string, resource: string, call: () => Promise<T>): Promise<T> {
    return countedWrite((v, r, ok) => this.#metrics.countWrite(v, r, ok), verb, resource, call);
  }

  /** Writes status.addresses over `base` (409 when stale); returns the Node as written, or undefined when it is gone. */
  async writeAddresses(base: KubeNode, addresses: readonly NodeAddress[], signal?: AbortSignal): Promise<KubeNode | undefined> {
    const name = base.metadata?.name ?? '';
    const body = { metadata: { resourceVersion: base.metadata?.resourceVersion }, status: { addresses } };
    try {
      return await this.#write('patch', 'nodes/status', () =>
        this.#client.patch<KubeNode>(Resources.Node, { name }, body, { type: 'merge', subresource: 'status', fieldManager: this.#fieldManager, signal }),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Applies `update` to `base` in one PUT (409 when `base` is stale); undefined when the Node is gone. */
  async updateSpec(base: KubeNode, update: NodeSpecUpdate, signal?: AbortSignal): Promise<KubeNode | undefined> {
    const { managedFields: _m, ...meta } = base.metadata ?? {};
    const node = {
      ...base,
      metadata: { ...meta, labels: { ...meta.labels, ...update.labels } },
      spec: {
        ...base.spec,
        ...(update.providerID !== undefined ? { providerID: update.providerID } : {}),
        ...(update.taints !== undefined ? { taints: update.taints } : {}),
      },
    } as KubeNode;
    try {
      return await this.#write('update', 'nodes', () => this.#client.replace(Resources.Node, node, { fieldManager: this.#fieldManager, signal }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

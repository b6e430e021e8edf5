// @portico/kube: the only library that talks to the Kubernetes API (DESIGN.md, Stack).
//
// Importing this index never loads @kubernetes/client-node: createKubeClient() loads it on first
// call (dynamic import). `render` commands and pure tests can use loadSnapshot/parseSnapshot, and
// tests FakeKube and RecordingLogger from @portico/kube/testing. Full guide: docs/kube.md.
//
//   const client = await createKubeClient({ kubeconfig: flags.kubeconfig, env: process.env });
//   const services = new ListWatch<Service>(client, Resources.Service, { transform: stripManagedFields }).start();
//   services.onChange((ev) => queue.add(objectKey(ev.object)));
//   await services.waitForSync({ timeoutMs: 60_000 });
//   await client.apply(desiredDaemonSet, { fieldManager: 'portico-servicelb' });

export * from './types.ts';
export * from './resources.ts';
export * from './errors.ts';
export * from './backoff.ts';
export * from './logger.ts';
export * from './transport.ts';
export * from './client.ts';
export * from './bootstrap.ts';
export * from './list-watch.ts';
export * from './workqueue.ts';
export * from './leader.ts';
export * from './events.ts';
export * from './objects.ts';
export * from './metrics.ts';
export * from './snapshot.ts';
export * from './selectors.ts';
export * from './oneshot.ts';

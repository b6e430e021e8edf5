/**
 * @portico/service-kit/controller: what every leader-elected controller process shares (ServiceLB in
 * servicelb-controller and ccm, addon-manager): the leader-election flags and their validated config
 * ({@link leaderElectionFlags}, {@link leaderConfigFrom}), `--node-name`, and the `run` command
 * ({@link controllerRunCommand}) with its injected {@link ControllerSystem}.
 *
 * A separate entry point, because it uses libs/kube: lb-forwarder, which needs no API server, imports
 * only `@portico/service-kit`.
 */
export * from './leader-config.ts';
export * from './run-command.ts';

import { DEFAULT_PROGRAM, isValidProgram, ServiceLB } from '@portico/labels';
import { FORWARDING_MODES, type Problem, type ServiceLBConfig } from './api.ts';
import { isDnsLabel, isDnsSubdomain } from './validation.ts';

/** K3s's defaults (cloudprovider.go `Config` with no cloud-config file). */
export const DEFAULT_CONFIG: ServiceLBConfig = Object.freeze({
  namespace: ServiceLB.defaultNamespace,
  image: ServiceLB.klipperDefaultImage,
  defaultPriorityClassName: ServiceLB.defaultPriorityClassName,
  program: DEFAULT_PROGRAM,
  rootless: false,
  forwardingMode: 'sysctls',
});

/** {@link DEFAULT_CONFIG} with `overrides` applied, frozen. Does not validate (see {@link validateConfig}). */
export function serviceLBConfig(overrides: Partial<ServiceLBConfig> = {}): ServiceLBConfig {
  return Object.freeze({ ...DEFAULT_CONFIG, ...overrides });
}

/**
 * Every problem with a config, one per field (empty when valid), so the shell can print them all and
 * exit 2. `field` names the config key; the shell maps it to its flag.
 */
export function validateConfig(config: ServiceLBConfig): Problem[] {
  const problems: Problem[] = [];
  if (!isDnsLabel(config.namespace)) {
    problems.push({ field: 'namespace', value: config.namespace, reason: 'must be a DNS-1123 label (a namespace name)' });
  }
  if (config.image.trim() === '' || /\s/.test(config.image)) {
    problems.push({ field: 'image', value: config.image, reason: 'must be a non-empty image reference without whitespace' });
  }
  if (config.defaultPriorityClassName !== '' && !isDnsSubdomain(config.defaultPriorityClassName)) {
    problems.push({ field: 'defaultPriorityClassName', value: config.defaultPriorityClassName, reason: 'must be empty or a DNS-1123 subdomain (a PriorityClass name)' });
  }
  if (!isValidProgram(config.program)) {
    problems.push({ field: 'program', value: config.program, reason: 'must be a DNS-1123 label' });
  }
  if (!(FORWARDING_MODES as readonly string[]).includes(config.forwardingMode)) {
    problems.push({ field: 'forwardingMode', value: config.forwardingMode, reason: `must be one of ${FORWARDING_MODES.join(', ')}` });
  } else if (config.forwardingMode === 'init-container' && /(^|\/)klipper-lb(:|@|$)/.test(config.image)) {
    problems.push({
      field: 'forwardingMode',
      value: config.forwardingMode,
      reason: `needs Portico's lb-forwarder image (its enable-forwarding command); ${config.image} has none: use sysctls with klipper-lb`,
    });
  }
  return problems;
}

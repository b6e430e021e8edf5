// @portico/addon: the pure core of addon-manager (no I/O, no clock): naming, scanning decisions,
// templating, manifest parsing, object-set markers and pruning decisions, HelmChart rendering.
export * from './constants.ts';
export * from './names.ts';
export * from './scan.ts';
export * from './template.ts';
export * from './manifest.ts';
export * from './objectset.ts';
export * from './helm.ts';
export * from './validate.ts';

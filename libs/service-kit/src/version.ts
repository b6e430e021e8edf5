/**
 * The Portico release every app reports (build_info, user agents, `--version`) and the tag of the
 * images it names by default (lb-forwarder, helm-job). The one place the version lives in code;
 * version.test.ts checks that it equals the root package.json version, which tags the images.
 */
export const VERSION = '0.1.0';

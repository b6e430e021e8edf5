// The images and the chart agree without Docker: every app has a Dockerfile on the shared base and
// an Nx `image` target; the scripts build exactly the apps; the chart's default references are the
// tags tools/images/build-image gives (ghcr.io/portico/<app>:<package.json version>).
import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, REPO } from './chart-files.ts';

// Spread: readdirSync's array comes from Node's realm, Jest's test code runs in another (deepEqual checks prototypes).
const APPS = [...readdirSync(join(REPO, 'apps'))].filter((a) => existsSync(join(REPO, 'apps', a, 'project.json'))).sort();
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
/** Images whose process needs root (iptables with NET_ADMIN); the rest run as 65532. */
const ROOT_IMAGES = new Set(['lb-forwarder', 'netpol-agent']);
const VALUE_KEYS: Record<string, string> = { 'servicelb-controller': 'servicelbController', ccm: 'ccm', 'netpol-agent': 'netpolAgent', 'addon-manager': 'addonManager' };

function scriptList(script: string, name: string): string[] {
  const m = readFileSync(join(REPO, 'tools', 'images', script), 'utf8').match(new RegExp(`^${name}=\\(([^)]*)\\)$`, 'm'));
  assert.ok(m, `tools/images/${script} has no ${name}=(...) line`);
  return m[1]!.trim().split(/\s+/).sort();
}
const scriptApps = (script: string): string[] => scriptList(script, 'APPS');

describe('images', () => {
  it('the five apps are the ones the scripts build', () => {
    assert.deepEqual(APPS, ['addon-manager', 'ccm', 'lb-forwarder', 'netpol-agent', 'servicelb-controller']);
    assert.deepEqual(scriptApps('build-image'), APPS);
    assert.deepEqual(scriptApps('build-all'), APPS);
    assert.deepEqual(scriptList('build-all', 'EXTRA_IMAGES'), ['helm-job']);
    assert.deepEqual(scriptList('build-image', 'EXTRA_IMAGES'), ['helm-job']);
  });

  it('helm-job: one stage FROM the shared base, helm and the entry script of apps/addon-manager/job, non-root', () => {
    const df = readFileSync(join(REPO, 'tools/images/helm-job/Dockerfile'), 'utf8');
    assert.deepEqual(df.match(/^FROM .*/gm), ['FROM ${BASE_IMAGE}']);
    assert.match(df, /^COPY helm \/usr\/local\/bin\/helm$/m);
    assert.match(df, /^USER 65532:65532$/m);
    assert.ok(existsSync(join(REPO, 'apps/addon-manager/job/entry.sh')), 'apps/addon-manager/job/entry.sh is missing');
    assert.match(readFileSync(join(REPO, 'tools/images/build-image'), 'utf8'), /apps\/addon-manager\/job\/entry\.sh/);
  });

  for (const app of APPS) {
    it(`${app}: one stage FROM the BASE_IMAGE argument, the public Node ${pkg.devDependencies['node']} slim image by default`, () => {
      const df = readFileSync(join(REPO, 'apps', app, 'Dockerfile'), 'utf8');
      const froms = df.match(/^FROM .*/gm) ?? [];
      assert.deepEqual(froms, ['FROM ${BASE_IMAGE}']);
      assert.match(df, new RegExp(`^ARG BASE_IMAGE=docker\\.io/library/node:${pkg.devDependencies['node']!.replace(/\./g, '\\.')}-bookworm-slim$`, 'm'));
      assert.match(df, new RegExp(`^COPY main\\.js /opt/portico/${app}/main\\.js$`, 'm'));
      const user = df.match(/^USER (.*)$/m)?.[1];
      assert.equal(user, ROOT_IMAGES.has(app) ? undefined : '65532:65532');
    });

    it(`${app}: the Nx image target runs tools/images/build-image`, () => {
      const project = JSON.parse(readFileSync(join(REPO, 'apps', app, 'project.json'), 'utf8')) as { targets: Record<string, { options?: { command?: string } }> };
      assert.equal(project.targets['image']?.options?.command, `bash tools/images/build-image ${app}`);
    });
  }

  it('lb-forwarder and netpol-agent carry iptables (nft and legacy come in one package); netpol-agent also ipset', () => {
    assert.match(readFileSync(join(REPO, 'apps/lb-forwarder/Dockerfile'), 'utf8'), /--no-install-recommends[\s\S]* iptables;/);
    assert.match(readFileSync(join(REPO, 'apps/netpol-agent/Dockerfile'), 'utf8'), /--no-install-recommends[\s\S]* iptables ipset;/);
  });

  it('deploy/cleanup/netpol-cleanup.yaml uses the netpol-agent image of this version', () => {
    const text = readFileSync(join(REPO, 'deploy/cleanup/netpol-cleanup.yaml'), 'utf8');
    const images = [...text.matchAll(/image: (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(images, [`ghcr.io/portico/netpol-agent:${pkg.version}`, `ghcr.io/portico/netpol-agent:${pkg.version}`]);
  });

  it("the chart's default images are ghcr.io/portico/<app> tagged with the chart appVersion = package.json version", () => {
    const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, { image?: { registry: string; repository: string; tag: string }; forwarderImage?: { registry: string; repository: string; tag: string } }>;
    for (const [app, key] of Object.entries(VALUE_KEYS)) {
      const img = values[key]!.image!;
      assert.deepEqual([img.registry, img.repository, img.tag], ['ghcr.io', `portico/${app}`, ''], app);
    }
    const fwd = values['serviceLB']!.forwarderImage!;
    assert.deepEqual([fwd.registry, fwd.repository, fwd.tag], ['ghcr.io', 'portico/lb-forwarder', '']);
    assert.match(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8'), new RegExp(`^appVersion: "${pkg.version.replace(/\./g, '\\.')}"$`, 'm'));
    const script = readFileSync(join(REPO, 'tools/images/build-image'), 'utf8');
    assert.match(script, /^REF=\$REGISTRY\/portico\/\$app:\$VERSION$/m);
    assert.match(script, /^REGISTRY=\$\{PORTICO_IMAGE_REGISTRY:-ghcr\.io\}$/m);
  });
});

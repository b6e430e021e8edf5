// Runs test files in the order the node:test runner used before: apps, libs, e2e, bench, tools,
// deploy, then by path. Used by the serial tiers (dataplane, t2, e2e), whose files share machine
// resources and run one at a time, so a run is reproducible.
const TOP = ['apps', 'libs', 'e2e', 'bench', 'tools', 'deploy'];

export default class PathSequencer {
  constructor({ contexts = [] } = {}) { this.root = contexts[0]?.config.rootDir ?? process.cwd(); }
  key(path) {
    const rel = path.startsWith(this.root + '/') ? path.slice(this.root.length + 1) : path;
    const top = TOP.indexOf(rel.split('/')[0]);
    return [top < 0 ? TOP.length : top, rel];
  }
  sort(tests) {
    return [...tests].sort((a, b) => {
      const [ta, pa] = this.key(a.path);
      const [tb, pb] = this.key(b.path);
      return ta - tb || (pa < pb ? -1 : pa > pb ? 1 : 0);
    });
  }
  allFailedTests(tests) { return tests; }
  shard(tests, { shardIndex, shardCount }) {
    const sorted = this.sort(tests);
    const size = Math.ceil(sorted.length / shardCount);
    return sorted.slice(size * (shardIndex - 1), size * shardIndex);
  }
  cacheResults() {}
}

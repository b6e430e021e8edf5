// Throwaway network namespaces for the T1 tests of libs/iptables (prefix fwd-ipt-). Every command
// runs through `ip netns exec`, so nothing touches the root namespace's rules or sets.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import type { CommandResult, Runner, RunOptions } from '../../src/index.ts';

export function sh(cmd: string, args: readonly string[], input?: string): CommandResult {
  const r = spawnSync(cmd, args, { input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { code: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Fails the test loudly (never skips) when a prerequisite is missing. */
export function requirePrerequisites(binaries: readonly string[]): void {
  assert.equal(process.getuid?.(), 0, 'T1 tests need root (network namespaces, iptables)');
  const missing = binaries.filter((b) => sh('sh', ['-c', `command -v ${b}`]).code !== 0);
  assert.deepEqual(missing, [], `missing binaries for T1 tests: ${missing.join(', ')} (apt-get install iptables ipset iproute2)`);
}

export class Netns {
  readonly name: string;
  constructor(suffix: string) {
    this.name = `fwd-ipt-${suffix}-${process.pid}`;
  }
  create(): void {
    sh('ip', ['netns', 'del', this.name]);
    const r = sh('ip', ['netns', 'add', this.name]);
    assert.equal(r.code, 0, `ip netns add ${this.name}: ${r.stderr}`);
    sh('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
  }
  destroy(): void {
    sh('ip', ['netns', 'del', this.name]);
  }
  exec(cmd: string, args: readonly string[], input?: string): CommandResult {
    return sh('ip', ['netns', 'exec', this.name, cmd, ...args], input);
  }
  /** A {@link Runner} whose commands run inside this namespace. */
  runner(): Runner {
    return {
      run: async (cmd: string, args: readonly string[], opts: RunOptions = {}) => this.exec(cmd, args, opts.input),
    };
  }
}

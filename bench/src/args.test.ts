import { describe, expect, it } from '@jest/globals';
import { stringArg } from '../args.ts';

class UsageExit extends Error {}
const usage = (msg: string): never => {
  throw new UsageExit(msg);
};

describe('stringArg', () => {
  it('returns the value after the flag, else the fallback', () => {
    expect(stringArg('out', 'd.json', usage, ['node', 'x', '--out', 'r.json'])).toBe('r.json');
    expect(stringArg('out', 'd.json', usage, ['node', 'x', '--runs', '3'])).toBe('d.json');
  });
  it('calls usage naming the flag when the value is missing or is another flag', () => {
    expect(() => stringArg('out', '', usage, ['node', 'x', '--out'])).toThrow('--out: missing value');
    expect(() => stringArg('out', '', usage, ['node', 'x', '--out', '--runs', '3'])).toThrow('--out: missing value');
  });
});

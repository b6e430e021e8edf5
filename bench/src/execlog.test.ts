import { describe, expect, test } from '@jest/globals';
import { isWrite, parseExecLog, window } from './execlog.ts';

const LOG = [
  'S 1000 11 iptables-save',
  'E 1000 2000 11 0 0 iptables-save -t filter',
  'S 3000 12 ipset',
  'E 3000 4000 12 0 120 ipset restore -exist',
  'S 4500 13 iptables-restore',
  'E 4500 6000 13 0 900 iptables-restore --noflush --wait',
  'S 7000 14 iptables',
  'E 7000 7100 14 1 0 iptables -t filter -C INPUT -j KUBE-ROUTER-INPUT',
  'S 8000 15 iptables-nft-restore',
  '',
].join('\n');

describe('exec-log', () => {
  test('classifies kernel writes', () => {
    expect(isWrite('iptables-nft-restore', ['--noflush'])).toBe(true);
    expect(isWrite('ip6tables-save', [])).toBe(false);
    expect(isWrite('ipset', ['list', '-n'])).toBe(false);
    expect(isWrite('ipset', ['save'])).toBe(false);
    expect(isWrite('ipset', ['create', 'x', 'hash:ip'])).toBe(true);
    expect(isWrite('iptables', ['-t', 'filter', '-C', 'INPUT', '-j', 'X'])).toBe(false);
    expect(isWrite('iptables', ['-t', 'filter', '-I', 'INPUT', '1', '-j', 'X'])).toBe(true);
    expect(isWrite('iptables', ['-w', '-L', '-n'])).toBe(false);
  });
  test('parses start and end lines; a started tool without its end is running', () => {
    const l = parseExecLog(LOG);
    expect(l.done.length).toBe(4);
    expect(l.running).toBe(1);
    expect(l.lastActivityUs).toBe(8000);
    expect(l.done[1]).toMatchObject({ tool: 'ipset', bytes: 120, write: true, args: ['restore', '-exist'] });
  });
  test('window sums what ended inside it', () => {
    const l = parseExecLog(LOG);
    expect(window(l, 0)).toEqual({ writes: 2, reads: 2, iptablesBytes: 900, ipsetBytes: 120, lastWriteEndUs: 6000, failed: 1 });
    expect(window(l, 4000, 7000)).toEqual({ writes: 1, reads: 0, iptablesBytes: 900, ipsetBytes: 0, lastWriteEndUs: 6000, failed: 0 });
    expect(window(l, 6000).writes).toBe(0);
    expect(Number.isNaN(window(l, 6000).lastWriteEndUs)).toBe(true);
  });
  test('a malformed line is an error naming its number', () => {
    expect(() => parseExecLog('S 1 2 x\ngarbage\n')).toThrow(/line 2/);
    expect(() => parseExecLog('E 1 x 3 0 0 ipset list\n')).toThrow(/line 1: not a number/);
  });
});

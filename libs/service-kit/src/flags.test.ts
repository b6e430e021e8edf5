import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { flagsHelp, formatIssue, parseDuration, parseFlags, splitListenAddr, validateListenAddr, type FlagSpec } from './flags.ts';

const specs: FlagSpec[] = [
  { name: 'name', type: 'string', env: 'NAME', description: 'a name', required: true },
  { name: 'port', type: 'int', env: 'PORT', default: 80, description: 'a port', validate: (v: number) => (v < 1 || v > 65535 ? 'must be 1-65535' : undefined) },
  { name: 'on', type: 'bool', default: false, description: 'a switch' },
  { name: 'item', type: 'list', repeatable: true, default: [], description: 'items' },
  { name: 'every', type: 'duration', default: 30_000, description: 'interval' },
  { name: 'mode', type: 'string', choices: ['a', 'b'], default: 'a', description: 'mode' },
];

const ok: Array<{ name: string; argv: string[]; env?: Record<string, string>; want: Record<string, unknown>; positionals?: string[] }> = [
  { name: 'flag beats env', argv: ['--name', 'x'], env: { NAME: 'y' }, want: { name: 'x', port: 80 } },
  { name: 'env used when flag absent', argv: [], env: { NAME: 'y', PORT: '8080' }, want: { name: 'y', port: 8080 } },
  { name: '--flag=value form', argv: ['--name=x', '--port=9'], want: { name: 'x', port: 9 } },
  { name: 'bare bool is true', argv: ['--name', 'x', '--on'], want: { on: true } },
  { name: 'bool with value', argv: ['--name', 'x', '--on', 'false'], want: { on: false } },
  { name: 'repeatable list accumulates and splits commas', argv: ['--name', 'x', '--item', 'a,b', '--item', 'c'], want: { item: ['a', 'b', 'c'] } },
  { name: 'durations', argv: ['--name', 'x', '--every', '5m'], want: { every: 300_000 } },
  { name: 'positionals kept in order', argv: ['f1', '--name', 'x', 'f2', '-'], want: { name: 'x' }, positionals: ['f1', 'f2', '-'] },
  { name: 'after -- everything is positional', argv: ['--name', 'x', '--', '--port'], want: { port: 80 }, positionals: ['--port'] },
];
for (const c of ok) {
  test(`parseFlags accepts: ${c.name}`, () => {
    const r = parseFlags(specs, c.argv, c.env ?? {});
    assert.ok(r.ok, JSON.stringify(r));
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(r.values[k], v, k);
    if (c.positionals) assert.deepEqual(r.positionals, c.positionals);
    assert.ok(Object.isFrozen(r.values));
  });
}

const bad: Array<{ name: string; argv: string[]; env?: Record<string, string>; want: string[] }> = [
  { name: 'missing required', argv: [], want: ['invalid --name / NAME: "": is required'] },
  { name: 'not an integer, from env', argv: ['--name', 'x'], env: { PORT: 'http' }, want: ['invalid --port / PORT: "http": must be an integer'] },
  { name: 'validator names the value', argv: ['--name', 'x', '--port', '70000'], want: ['invalid --port / PORT: "70000": must be 1-65535'] },
  { name: 'unknown flag', argv: ['--name', 'x', '--nope'], want: ['invalid --nope: "--nope": unknown flag (see --help)'] },
  { name: 'choices', argv: ['--name', 'x', '--mode', 'c'], want: ['invalid --mode: "c": must be one of a, b'] },
  { name: 'bad duration', argv: ['--name', 'x', '--every', 'soon'], want: ['invalid --every: "soon": must be a duration such as 500ms, 30s, 5m or 1h'] },
  { name: 'flag without value', argv: ['--name'], want: ['invalid --name / NAME: "": needs a value'] },
  { name: 'non-repeatable twice', argv: ['--name', 'a', '--name', 'b'], want: ['invalid --name / NAME: "a b": given more than once'] },
  {
    name: 'every problem reported at once',
    argv: ['--port', '0', '--mode', 'z'],
    want: ['invalid --name / NAME: "": is required', 'invalid --port / PORT: "0": must be 1-65535', 'invalid --mode: "z": must be one of a, b'],
  },
];
for (const c of bad) {
  test(`parseFlags rejects: ${c.name}`, () => {
    const r = parseFlags(specs, c.argv, c.env ?? {});
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.issues.map(formatIssue), c.want);
  });
}

test('parseFlags: --help wins over missing required flags', () => {
  const r = parseFlags(specs, ['--help'], {});
  assert.ok(r.ok && r.help);
});

test('flagsHelp lists every flag with env, default and required', () => {
  const text = flagsHelp(specs);
  for (const s of specs) assert.match(text, new RegExp(`--${s.name}\\b`));
  assert.match(text, /a port \(env PORT; default 80\)/);
  assert.match(text, /a name \(env NAME; required\)/);
});

test('flagsHelp shows duration defaults as durations, in the largest exact unit', () => {
  const help = (ms: number) => flagsHelp([{ name: 'd', type: 'duration', default: ms, description: 'd' }]);
  assert.match(help(300_000), /default 5m\)/);
  assert.match(help(30_000), /default 30s\)/);
  assert.match(help(7_200_000), /default 2h\)/);
  assert.match(help(1500), /default 1500ms\)/);
  assert.match(help(90_000), /default 90s\)/);
  assert.match(flagsHelp(specs), /interval \(default 30s\)/);
  for (const ms of [300_000, 1500, 90_000, 1000]) assert.equal(parseDuration(/default (\S+)\)/.exec(help(ms))![1]!), ms, 'what --help shows parses back to the default');
});

test('parseDuration table', () => {
  const cases: Array<[string, number | undefined]> = [['500ms', 500], ['30s', 30_000], ['2m', 120_000], ['1h', 3_600_000], ['7', 7000], ['1.5s', 1500], ['', undefined], ['-1s', undefined], ['1d', undefined]];
  for (const [text, want] of cases) assert.equal(parseDuration(text), want, text);
});

test('listen addresses', () => {
  const valid = ['0', ':8080', '127.0.0.1:10270', '[::1]:9000', '0.0.0.0:1'];
  for (const v of valid) assert.equal(validateListenAddr(v), undefined, v);
  const invalid = ['8080', 'host', ':0', ':65536', '[::1]', '1.2.3.4:'];
  for (const v of invalid) assert.notEqual(validateListenAddr(v), undefined, v);
  assert.deepEqual(splitListenAddr(':8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(splitListenAddr('[::1]:9000'), { host: '::1', port: 9000 });
  assert.equal(splitListenAddr('0'), undefined);
});

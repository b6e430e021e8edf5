#!/usr/bin/env node
// Converts node:test test files to Jest (@jest/globals). Re-runnable: files that no longer import
// 'node:test' are left alone, so it can run after every rebase.
//   node tools/jest/codemod.mjs            every *.test.ts under apps libs e2e bench tools deploy, and
//                                          every project: a node --test `test` target in project.json
//                                          becomes "test": {} (the shared Jest target), and a project
//                                          with src/**/*.test.ts gets a jest.config.mjs
//   node tools/jest/codemod.mjs FILE...    only these test files
//   --check                                change nothing; exit 1 if a file still imports node:test
//                                          or a project's unit tests would not run on Jest
// What it maps:
//   import { describe, it, test, suite, before, after, beforeEach, afterEach } from 'node:test'
//     -> import { describe, it, test, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals'
//     (before( / after( calls are renamed beforeAll( / afterAll(; suite( becomes describe()
//   it(name, { timeout: N }, fn)   -> it(name, fn, N)          (Jest's per-test timeout)
//   it(name, { skip | todo | only }, fn) -> it.skip / it.todo / it.only (a skip still counts as failed)
//   describe(name, { timeout | concurrency }, fn) -> describe(name, fn): Jest has no suite timeout and
//     runs the tests of a file one after another; the tier's testTimeout (tools/jest/preset) applies.
//   it(name, (t) => ...) with t.diagnostic(msg) -> it(name, () => ...) with console.log(msg)
// Anything else node:test-specific (t.after, t.mock, t.test, mock, snapshot, ...) is not guessed: the
// codemod names the file and line and exits 1, and the file is left unchanged.
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
const DIRS = ['apps', 'libs', 'e2e', 'bench', 'tools', 'deploy'];
const HOOKS = { before: 'beforeAll', after: 'afterAll', beforeEach: 'beforeEach', afterEach: 'afterEach' };
const TESTS = { describe: 'describe', suite: 'describe', it: 'it', test: 'test' };

export class Unsupported extends Error {}

/** Marks which characters of `src` are code (not inside a string, template text, comment or regex). */
function codeMask(src) {
  const code = new Uint8Array(src.length);
  let i = 0;
  const tplStack = []; // brace depth at which each open template's ${ started
  let depth = 0;
  let lastSig = ''; // last significant code character, to tell a regex from a division
  let lastWord = '';
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === '/' && n === '/') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (c === '/' && n === '*') { const e = src.indexOf('*/', i + 2); i = e < 0 ? src.length : e + 2; continue; }
    if (c === "'" || c === '"') {
      i++;
      while (i < src.length && src[i] !== c) { if (src[i] === '\\') i++; i++; }
      i++; lastSig = c; continue;
    }
    if (c === '`' || (c === '}' && tplStack.length && tplStack[tplStack.length - 1] === depth)) {
      if (c === '}') tplStack.pop(); else code[i] = 1;
      i++;
      while (i < src.length && src[i] !== '`' && !(src[i] === '$' && src[i + 1] === '{')) { if (src[i] === '\\') i++; i++; }
      if (src[i] === '$') { tplStack.push(depth); i += 2; } else { code[i] = 1; i++; }
      lastSig = '`'; continue;
    }
    if (c === '/' && (lastSig === '' || '(,=:[!&|?{};+-*%<>~^'.includes(lastSig) || ['return', 'typeof', 'case', 'of', 'in'].includes(lastWord))) {
      i++;
      let cls = false;
      while (i < src.length && (cls || src[i] !== '/') && src[i] !== '\n') {
        if (src[i] === '\\') i++; else if (src[i] === '[') cls = true; else if (src[i] === ']') cls = false;
        i++;
      }
      i++;
      while (/[a-z]/.test(src[i] ?? '')) i++;
      lastSig = ')'; continue;
    }
    code[i] = 1;
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (/\w|\$/.test(c)) {
      let j = i; while (j < src.length && /[\w$]/.test(src[j])) { code[j] = 1; j++; }
      lastWord = src.slice(i, j); lastSig = 'w'; i = j; continue;
    }
    if (!/\s/.test(c)) { lastSig = c; lastWord = ''; }
    i++;
  }
  return code;
}

/** Index just past the argument starting at `i` (stops at a top-level ',' or ')'). */
function argEnd(src, code, i) {
  let d = 0;
  for (; i < src.length; i++) {
    if (!code[i]) continue;
    const c = src[i];
    if (c === '(' || c === '[' || c === '{') d++;
    else if (c === ')' || c === ']' || c === '}') { if (d === 0) return i; d--; }
    else if (c === ',' && d === 0) return i;
  }
  throw new Unsupported('unbalanced call');
}

function lineOf(src, i) { return src.slice(0, i).split('\n').length; }

function parseOptions(text, where) {
  const body = text.trim().replace(/^\{|\}$/g, '').trim();
  const opts = {};
  if (!body) return opts;
  for (const part of body.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(timeout|skip|todo|only|concurrency)\s*:\s*(.+)$/s.exec(part) ?? /^(skip|todo|only)$/.exec(part);
    if (!m) throw new Unsupported(`${where}: test option '${part}' has no Jest mapping`);
    opts[m[1]] = m[2] ?? 'true';
  }
  return opts;
}

/** Converts one file's text; returns it unchanged when it does not import node:test. */
export function convert(src, file = '<input>') {
  const importRe = /^import\s*\{([^}]*)\}\s*from\s*['"]node:test['"];?[ \t]*$/m;
  const im = importRe.exec(src);
  if (!im) {
    if (/['"]node:test['"]/.test(src)) throw new Unsupported(`${file}:${lineOf(src, src.search(/['"]node:test['"]/))}: an import of node:test other than "import { ... } from 'node:test'"`);
    return src;
  }
  const local = new Map(); // local name -> jest name
  for (const spec of im[1].split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, alias] = spec.split(/\s+as\s+/).map((s) => s.trim());
    const jestName = TESTS[name] ?? HOOKS[name];
    if (!jestName) throw new Unsupported(`${file}:${lineOf(src, im.index)}: '${name}' from node:test has no Jest mapping`);
    local.set(alias ?? name, jestName);
  }
  let out = src;
  const edits = []; // [start, end, text], applied from the end
  const code = codeMask(out);
  const names = [...local.keys()].join('|');
  const callRe = new RegExp(`(?<![\\w$.])(${names})(\\.(skip|only|todo))?\\s*\\(`, 'g');
  for (let m; (m = callRe.exec(out)); ) {
    if (!code[m.index] || m.index >= im.index && m.index < im.index + im[0].length) continue;
    const name = m[1];
    const jestName = local.get(name);
    const where = `${file}:${lineOf(out, m.index)}`;
    if (Object.values(HOOKS).includes(jestName) && !TESTS[name]) {
      edits.push([m.index, m.index + name.length, jestName]);
      continue;
    }
    const isSuite = jestName === 'describe';
    let modifier = m[2] ?? '';
    const a0 = m.index + m[0].length;
    const a0End = argEnd(out, code, a0);
    if (out[a0End] === ')') continue; // it(name): a todo in node:test as in Jest
    let a1 = a0End + 1;
    while (/\s/.test(out[a1])) a1++;
    let fnStart = a1;
    let timeout;
    if (out[a1] === '{') {
      const a1End = argEnd(out, code, a1);
      const opts = parseOptions(out.slice(a1, a1End), where);
      for (const k of ['skip', 'todo', 'only']) {
        if (opts[k] !== undefined && opts[k] !== 'false') {
          if (modifier) throw new Unsupported(`${where}: both .${modifier.slice(1)} and { ${k} }`);
          modifier = `.${k}`;
        }
      }
      if (opts.timeout !== undefined && !isSuite) timeout = opts.timeout;
      fnStart = a1End + 1;
      while (/\s/.test(out[fnStart])) fnStart++;
      edits.push([a0End, fnStart, ', ']);
    } else if (!/^(async\b|\(|function\b|\w+\s*=>)/.test(out.slice(a1))) {
      throw new Unsupported(`${where}: second argument of ${name}() is neither an options object literal nor a function`);
    }
    const fnEnd = argEnd(out, code, fnStart);
    if (!isSuite) {
      const pm = /^(async\s*)?(?:\(\s*([\w$]+)\s*(?::\s*[\w.]+)?\s*(?:,\s*([\w$]+)\s*(?::[^)]*)?)?\)\s*=>|([\w$]+)\s*=>|function\s*\w*\s*\(\s*([\w$]+)[^)]*\))/.exec(out.slice(fnStart));
      const ctx = pm && (pm[2] ?? pm[4] ?? pm[5]);
      if (pm && pm[3]) throw new Unsupported(`${where}: a (context, done) test function has no Jest mapping`);
      if (ctx) {
        const body = out.slice(fnStart + pm[0].length, fnEnd);
        const bodyStart = fnStart + pm[0].length;
        const useRe = new RegExp(`(?<![\\w$.])${ctx.replace('$', '\\$')}\\b(\\.(\\w+))?`, 'g');
        for (let u; (u = useRe.exec(body)); ) {
          if (!code[bodyStart + u.index]) continue;
          if (u[2] === 'diagnostic') edits.push([bodyStart + u.index, bodyStart + u.index + u[0].length, 'console.log']);
          else throw new Unsupported(`${file}:${lineOf(out, bodyStart + u.index)}: test context use '${u[0]}' has no Jest mapping`);
        }
        const paramText = pm[0];
        const newParam = pm[5] !== undefined ? paramText.replace(/\(\s*[\w$]+[^)]*\)/, '()') : `${pm[1] ?? ''}() =>`;
        edits.push([fnStart, fnStart + paramText.length, newParam]);
      }
    } else if (/^async\b/.test(out.slice(fnStart))) {
      throw new Unsupported(`${where}: an async describe() callback: Jest collects tests synchronously`);
    }
    if (timeout !== undefined) {
      let end = fnEnd;
      while (/\s/.test(out[end - 1])) end--;
      edits.push([end, end, `, ${timeout}`]);
    }
    if (jestName !== name || modifier !== (m[2] ?? '')) edits.push([m.index, m.index + name.length + (m[2] ?? '').length, jestName + modifier]);
  }
  edits.sort((x, y) => y[0] - x[0] || y[1] - x[1]);
  for (const [s, e, t] of edits) out = out.slice(0, s) + t + out.slice(e);
  const jestNames = [...new Set(local.values())].sort();
  out = out.replace(importRe, `import { ${jestNames.join(', ')} } from '@jest/globals';`);
  return out;
}

/** Project roots (directories with a project.json) under DIRS, one or two levels deep. */
function projectDirs() {
  const out = [];
  for (const d of DIRS) {
    const top = join(ROOT, d);
    try { if (statSync(join(top, 'project.json')).isFile()) out.push(top); } catch { /* not a project */ }
    let subs = [];
    try { subs = readdirSync(top); } catch { continue; }
    for (const e of subs) {
      try { if (statSync(join(top, e, 'project.json')).isFile()) out.push(join(top, e)); } catch { /* not a project */ }
    }
  }
  return out;
}

const OLD_TEST_TARGET = /\n(\s*)"test": \{\s*"executor": "nx:run-commands",\s*"options": \{\s*"command": "node --import tsx --test[^\n]*\n\s*\}\s*\}(,?)/;

/**
 * A project's side of the move: its node:test `test` target becomes the shared Jest target
 * (`"test": {}`, nx.json targetDefaults) and it gets a jest.config.mjs. Returns what is wrong
 * (check) or what it changed.
 */
function convertProject(dir, check) {
  const rel = relative(ROOT, dir);
  const notes = [];
  const pj = join(dir, 'project.json');
  const text = readFileSync(pj, 'utf8');
  const hasUnitTests = testFiles(join(dir, 'src'), []).length > 0;
  const old = OLD_TEST_TARGET.exec(text);
  if (old) {
    if (check) notes.push(`${rel}/project.json: its test target still runs node --test (convert it: node tools/jest/codemod.mjs)`);
    else if (hasUnitTests) { writeFileSync(pj, text.replace(OLD_TEST_TARGET, (_m, ind, comma) => `\n${ind}"test": {}${comma}`)); notes.push(`converted ${rel}/project.json`); }
    // No unit tests: Jest would fail with "No tests found", so the target goes.
    else if (old[2] === ',') { writeFileSync(pj, text.replace(OLD_TEST_TARGET, '')); notes.push(`converted ${rel}/project.json (no unit tests: test target removed)`); }
    else notes.push(`${rel}/project.json: remove its node --test target by hand (no unit tests to run)`);
  }
  const cfg = join(dir, 'jest.config.mjs');
  let exists = false;
  try { exists = statSync(cfg).isFile(); } catch { /* none */ }
  if (hasUnitTests && !exists) {
    if (check) notes.push(`${rel}: has src/**/*.test.ts but no jest.config.mjs (create it: node tools/jest/codemod.mjs)`);
    else {
      const up = relative(dir, ROOT) || '.';
      writeFileSync(cfg, `// Unit tests of this project (src/**/*.test.ts) under Jest: \`npx nx test ${dir.split('/').pop()}\`. Settings: jest.preset.mjs.\nimport { projectConfig } from '${up}/jest.preset.mjs';\n\nexport default projectConfig(import.meta.dirname);\n`);
      notes.push(`created ${rel}/jest.config.mjs`);
    }
  }
  if (hasUnitTests && !/"test":/.test(readFileSync(pj, 'utf8'))) notes.push(`${rel}/project.json: no test target (add "test": {} to its targets)`);
  return notes;
}

function testFiles(dir, acc = []) {
  let entries = [];
  try { entries = readdirSync(dir); } catch { return acc; }
  for (const e of entries) {
    if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) testFiles(p, acc);
    else if (e.endsWith('.test.ts')) acc.push(p);
  }
  return acc;
}

function main(argv) {
  const check = argv.includes('--check');
  const args = argv.filter((a) => a !== '--check');
  const files = args.length ? args.map((f) => join(process.cwd(), f)) : DIRS.flatMap((d) => testFiles(join(ROOT, d)));
  let changed = 0;
  const problems = [];
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    const rel = relative(ROOT, f);
    if (check) {
      if (/from\s*['"]node:test['"]|require\(\s*['"]node:test['"]\)|import\(\s*['"]node:test['"]\)/.test(src)) problems.push(`${rel}: still imports node:test (convert it: node tools/jest/codemod.mjs ${rel})`);
      continue;
    }
    try {
      const out = convert(src, rel);
      if (out !== src) { writeFileSync(f, out); changed++; console.log(`converted ${rel}`); }
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      problems.push(e.message);
    }
  }
  if (!args.length) {
    for (const dir of projectDirs()) {
      for (const note of convertProject(dir, check)) {
        if (note.startsWith('converted ') || note.startsWith('created ')) { console.log(note); changed++; } else problems.push(note);
      }
    }
  }
  for (const p of problems) console.error(`codemod: ${p}`);
  if (!check) console.log(`codemod: ${changed} file(s) converted, ${problems.length} left for a manual conversion`);
  else if (!problems.length) console.log(`codemod --check: ${files.length} test file(s), none imports node:test; every project's unit tests run on Jest`);
  process.exit(problems.length ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));

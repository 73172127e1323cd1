#!/usr/bin/env node
// The cost of one question to the supervisor, in microseconds per call, timed
// from inside the program that makes the calls (catbox's start-up is not in
// it). Not a test; see bench/README.md.
//
//   node bench/micro.mjs [--rounds N] [--out FILE]
//
// Lines, each the median of N rounds, alternated so that load hits all alike:
// - a bare seccomp user notification round trip (bench/micro/notify-roundtrip.c),
//   with and without SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
// - a checked open for writing, bare, under `catbox run` (user notification)
//   and under `catbox run` with CATBOX_NO_USER_NOTIF=1 (ptrace stops);
// - readlink of a file that is no symlink (what glibc's realpath does per
//   component), bare and in an overlay environment, where every read is a question.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const CATBOX = path.join(path.dirname(BENCH), 'bin', 'run.js');
const WORK = path.join(BENCH, 'cache', 'micro');

const argv = process.argv.slice(2);
let rounds = 5;
let out = null;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--rounds') rounds = Number(argv[++i]);
  else if (argv[i] === '--out') out = argv[++i];
  else {
    console.error('usage: node bench/micro.mjs [--rounds N] [--out FILE]');
    process.exit(2);
  }
}

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}
const perCall = (stdout) => Number(stdout.trim().split('\n').at(-1));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

fs.rmSync(WORK, { recursive: true, force: true });
fs.mkdirSync(WORK, { recursive: true });
const bin = (name) => path.join(WORK, name);
for (const name of ['notify-roundtrip', 'calls']) {
  run('cc', ['-O2', '-o', bin(name), path.join(BENCH, 'micro', `${name}.c`)]);
}
const home = path.join(WORK, 'home');
run('node', [CATBOX, 'env', 'create', 'micro-overlay', '--overlay', '--writable', '/'], { CATBOX_HOME: home });
const target = path.join(WORK, 'f');
const linkless = '/usr/lib/x86_64-linux-gnu/crt1.o';
const readlinkTarget = fs.existsSync(linkless) ? linkless : '/etc/passwd';

const LINES = [
  ['notification round trip, synchronous wake-ups', () => [bin('notify-roundtrip'), ['1', '100000']]],
  ['notification round trip, ordinary wake-ups', () => [bin('notify-roundtrip'), ['0', '20000']]],
  ['open for writing: bare', () => [bin('calls'), ['open-write', target, '100000']]],
  ['open for writing: catbox run (user notification)', () => ['node', [CATBOX, 'run', '-w', WORK, '--', bin('calls'), 'open-write', target, '50000']]],
  ['open for writing: catbox run, CATBOX_NO_USER_NOTIF=1 (ptrace stops)', () => ['node', [CATBOX, 'run', '-w', WORK, '--', bin('calls'), 'open-write', target, '20000']], { CATBOX_NO_USER_NOTIF: '1' }],
  ['readlink of a file: bare', () => [bin('calls'), ['readlink', readlinkTarget, '100000']]],
  ['readlink of a file: catbox exec, overlay', () => ['node', [CATBOX, 'exec', 'micro-overlay', '--', bin('calls'), 'readlink', readlinkTarget, '50000']], { CATBOX_HOME: home }],
];

const samples = LINES.map(() => []);
for (let r = 0; r < rounds; r++) {
  LINES.forEach(([, cmd, env], i) => {
    const [c, a] = cmd();
    samples[i].push(perCall(run(c, a, env)));
  });
}

const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const rows = LINES.map(([label], i) => `| ${label} | ${median(samples[i]).toFixed(2)} µs | ${Math.min(...samples[i]).toFixed(2)} – ${Math.max(...samples[i]).toFixed(2)} |`);
const report = `# catbox micro bench — ${new Date().toISOString().slice(0, 10)} on ${os.hostname()}

Microseconds per call, timed inside the calling program; median of ${rounds} rounds
(lines alternated within each round). Linux ${os.release()}, ${os.cpus().length} CPUs,
load average at the end ${load}.

| line | per call | min – max |
|---|--:|--:|
${rows.join('\n')}
`;
console.log(report);
if (out) fs.writeFileSync(out, report);
fs.rmSync(WORK, { recursive: true, force: true });

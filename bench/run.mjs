#!/usr/bin/env node
// catbox benchmark: `catbox run` against a bare run of the same real work,
// reported as ratios measured in one run. Not a test. See bench/README.md.
//
//   node bench/run.mjs            full run (~10 min), writes bench/results/<date>-<host>.md
//   node bench/run.mjs --quick    sanity check (~1 min), skips the hello build
//
// Only Node built-ins are used. External tools: hyperfine (installed with
// apt-get if missing), strace (optional peer), cc/make/tar/find/xargs/stat.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const CACHE = path.join(BENCH, 'cache');
const RESULTS = path.join(BENCH, 'results');
const CATBOX_BIN = path.join(ROOT, 'bin', 'run.js');

// ---------------------------------------------------------------- options --

function usage(code) {
  console.log(`usage: node bench/run.mjs [--quick] [--only NAME[,NAME]] [--no-strace] [--out FILE]

  --quick        fewer runs, skip the hello build; result goes to bench/cache/, not bench/results/
  --only LIST    run only these workloads: startup, procs, files, hello
  --no-strace    leave out the strace peers even if strace is installed
  --out FILE     write the Markdown report to FILE instead of the default place`);
  process.exit(code);
}

const argv = process.argv.slice(2);
const opt = { quick: false, only: null, strace: true, out: null };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') opt.quick = true;
  else if (a === '--no-strace') opt.strace = false;
  else if (a === '--only') opt.only = (argv[++i] ?? usage(2)).split(',');
  else if (a === '--out') opt.out = argv[++i] ?? usage(2);
  else if (a === '-h' || a === '--help') usage(0);
  else { console.error(`unknown argument: ${a}`); usage(2); }
}

// Rounds x runs per round. Every round is one hyperfine invocation with all of
// the workload's commands, so changes in machine load hit every command alike
// (hyperfine itself runs one command's runs back to back); few runs per round
// and many rounds interleave them finely.
const PLAN = opt.quick
  ? { startup: [2, 3], procs: [3, 1], files: [3, 1], hello: null }
  : { startup: [10, 3], procs: [12, 1], files: [10, 1], hello: [5, 1] };
// The two strace peers take ~4x a bare hello build (~45 s each here); they get
// only this many of hello's rounds so that the whole run stays near 10 minutes.
const HELLO_STRACE_ROUNDS = 2;
const NFILES = 2000; // files in the syscall-heavy tarball: 40 dirs x 50

// ---------------------------------------------------------------- helpers --

const t0 = Date.now();
const log = (msg) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);

function sh(cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...o });
  return { code: r.status ?? (r.signal ? 128 : 1), signal: r.signal, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
function must(cmd, args, o = {}) {
  const r = sh(cmd, args, o);
  if (r.code !== 0) {
    console.error(`bench: \`${[cmd, ...args].join(' ')}\` failed (exit ${r.code}):\n${r.err || r.out}`);
    process.exit(1);
  }
  return r;
}
const have = (name) => sh('sh', ['-c', `command -v ${name}`]).code === 0;
const firstLine = (s) => s.split('\n').find((l) => l.trim()) ?? '';
// POSIX single quoting; hyperfine -N splits commands with shell-words rules.
const q = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const cmdline = (args) => args.map(q).join(' ');
const isRoot = process.getuid?.() === 0;

function aptInstall(pkgs, why) {
  console.log(`bench: ${why}: installing ${pkgs.join(' ')} with apt-get`);
  if (!isRoot) {
    console.error(`bench: not root; install it yourself: sudo apt-get install ${pkgs.join(' ')}`);
    return false;
  }
  const upd = sh('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (upd.code !== 0) console.error(`bench: apt-get update failed:\n${upd.err}`);
  const r = sh('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], {
    stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.code === 0;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function fmtTime(sec) {
  if (sec == null) return '–';
  if (sec >= 10) return `${sec.toFixed(1)} s`;
  if (sec >= 1) return `${sec.toFixed(2)} s`;
  return `${(sec * 1000).toFixed(sec >= 0.1 ? 0 : 1)} ms`;
}

// ------------------------------------------------------------ preflight --

if (!have('hyperfine') && !aptInstall(['hyperfine'], 'hyperfine is missing (Debian package "hyperfine")')) {
  console.error('bench: hyperfine is required'); process.exit(1);
}
if (!fs.existsSync(path.join(ROOT, 'dist', 'commands'))) {
  log('dist/ is missing: running `npm run build`');
  must('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}
if (!fs.existsSync(path.join(ROOT, 'native', 'build', 'Release', 'catbox_native.node'))) {
  console.error('bench: native/build/Release/catbox_native.node is missing; run `npm run build:native` first');
  process.exit(1);
}
const useStrace = opt.strace && have('strace');

fs.mkdirSync(CACHE, { recursive: true });
const SCRATCH = path.join(CACHE, 'scratch');
fs.rmSync(SCRATCH, { recursive: true, force: true });
fs.mkdirSync(SCRATCH, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const RUNDIR = path.join(CACHE, 'runs', stamp + (opt.quick ? '-quick' : ''));
fs.mkdirSync(RUNDIR, { recursive: true });

const machine = {
  date: new Date().toISOString(),
  host: os.hostname(),
  nproc: firstLine(sh('nproc', []).out),
  cpu: (os.cpus()[0]?.model ?? '?').trim(),
  memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
  kernel: `${os.type()} ${os.release()} ${os.machine?.() ?? os.arch()}`,
  loadStart: fs.readFileSync('/proc/loadavg', 'utf8').trim(),
  os: (() => { try { return /PRETTY_NAME="?([^"\n]*)/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1]; } catch { return '?'; } })(),
  node: process.version,
  hyperfine: firstLine(sh('hyperfine', ['--version']).out),
  strace: have('strace') ? firstLine(sh('strace', ['-V']).out) : 'not installed',
  cc: have('cc') ? firstLine(sh('cc', ['--version']).out) : 'not installed',
  catbox: (() => {
    const head = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).out.trim();
    const dirty = sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'native', 'bin']).out.trim();
    return head ? `${head}${dirty ? ' (+ uncommitted changes in src/native/bin)' : ''}` : '?';
  })(),
};
log(`host ${machine.host}, ${machine.nproc} CPUs, load ${machine.loadStart}`);

// ------------------------------------------------------------ inputs --

// A tarball of a few thousand small files, generated once (deterministic).
function ensureFilesTarball() {
  const tarball = path.join(CACHE, `files-${NFILES}.tar`);
  if (fs.existsSync(tarball)) return tarball;
  log(`generating bench/cache/${path.basename(tarball)} (${NFILES} small files)`);
  const gen = path.join(CACHE, 'files-gen');
  fs.rmSync(gen, { recursive: true, force: true });
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let d = 0; d < NFILES / 50; d++) {
    const dir = path.join(gen, 'tree', `d${String(d).padStart(2, '0')}`, `sub${d % 7}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 50; f++) {
      const size = 64 + Math.floor(rnd() * 2000);
      fs.writeFileSync(path.join(dir, `f${f}.txt`), 'x'.repeat(size - 1) + '\n');
    }
  }
  must('tar', ['-cf', tarball + '.tmp', '-C', gen, 'tree']);
  fs.renameSync(tarball + '.tmp', tarball);
  fs.rmSync(gen, { recursive: true, force: true });
  return tarball;
}

// The apt source to mirror for deb-src: the one serving the release codename.
function debianMirror(codename) {
  const found = [];
  const files = ['/etc/apt/sources.list'];
  try { for (const f of fs.readdirSync('/etc/apt/sources.list.d')) files.push(path.join('/etc/apt/sources.list.d', f)); } catch {}
  for (const f of files) {
    let text; try { text = fs.readFileSync(f, 'utf8'); } catch { continue; }
    if (f.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const m = /^\s*deb(-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
        if (m) found.push({ src: !!m[1], uri: m[2], suites: [m[3]], comps: m[4].split(/\s+/) });
      }
    } else if (f.endsWith('.sources')) {
      for (const block of text.split(/\n\s*\n/)) {
        const field = (k) => new RegExp(`^${k}:\\s*(.*)$`, 'mi').exec(block)?.[1].trim().split(/\s+/) ?? [];
        if (/^Enabled:\s*no/mi.test(block)) continue;
        const types = field('Types');
        for (const uri of field('URIs')) found.push({ src: types.includes('deb-src'), types, uri, suites: field('Suites'), comps: field('Components') });
      }
    }
  }
  const main = found.filter((e) => e.suites.includes(codename) && e.comps.includes('main'));
  return {
    hasSrc: main.some((e) => e.src || e.types?.includes('deb-src')),
    uri: main[0]?.uri ?? 'http://deb.debian.org/debian',
  };
}

// GNU hello from Debian's source archive, fetched once into bench/cache/hello/.
function ensureHelloSource() {
  const dir = path.join(CACHE, 'hello');
  const srcDir = path.join(dir, 'src');
  if (fs.existsSync(path.join(srcDir, 'configure'))) return srcDir;
  fs.mkdirSync(dir, { recursive: true });
  let dsc = fs.readdirSync(dir).find((f) => /^hello_.*\.dsc$/.test(f));
  if (!dsc) {
    const codename = /VERSION_CODENAME=(\S+)/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'bookworm';
    const { hasSrc, uri } = debianMirror(codename);
    if (!hasSrc || sh('apt-cache', ['showsrc', 'hello']).out.trim() === '') {
      if (!isRoot) throw new Error(`no deb-src entry for ${codename}; as root add "deb-src ${uri} ${codename} main" and run apt-get update`);
      const list = '/etc/apt/sources.list.d/catbox-bench-src.list';
      if (!hasSrc) {
        log(`adding ${list}: deb-src ${uri} ${codename} main`);
        fs.writeFileSync(list, `# added by catbox bench/run.mjs to fetch GNU hello's source\ndeb-src ${uri} ${codename} main\n`);
      }
      log('apt-get update');
      must('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    log('apt-get source --download-only hello');
    must('apt-get', ['source', '--download-only', 'hello'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    dsc = fs.readdirSync(dir).find((f) => /^hello_.*\.dsc$/.test(f));
    if (!dsc) throw new Error('apt-get source did not produce a hello_*.dsc');
  }
  const tmp = path.join(dir, 'src.tmp');
  fs.rmSync(tmp, { recursive: true, force: true });
  if (have('dpkg-source')) {
    must('dpkg-source', ['-x', dsc, 'src.tmp'], { cwd: dir });
  } else {
    const orig = fs.readdirSync(dir).find((f) => /^hello_.*\.orig\.tar\.\w+$/.test(f));
    fs.mkdirSync(tmp);
    must('tar', ['-xf', orig, '-C', tmp, '--strip-components=1'], { cwd: dir });
  }
  fs.renameSync(tmp, srcDir);
  return srcDir;
}

function ensureCompiler() {
  // hello's Debian Build-Depends (debhelper, help2man, texinfo) are for
  // packaging and regenerating docs; the upstream tarball ships hello.1 and
  // hello.info, so configure && make need only a C compiler and make.
  const missing = [];
  if (!have('cc')) missing.push('gcc', 'libc6-dev');
  if (!have('make')) missing.push('make');
  if (missing.length) return aptInstall(missing, 'the hello build needs a C compiler and make');
  return true;
}

// ------------------------------------------------------------ workloads --

const catbox = (writable, cmd) => ['node', CATBOX_BIN, 'run', ...writable.flatMap((w) => ['--writable', w]), '--', ...cmd];

// The operation log is recorded by `catbox exec` in a named environment: one
// per workload, with the same rules as the catbox run line, in a CATBOX_HOME
// under the scratch directory (never the user's environments).
process.env.CATBOX_HOME = path.join(SCRATCH, 'catbox-home');
function benchEnv(dir) {
  const name = `bench-${path.basename(dir)}`;
  if (!fs.existsSync(path.join(process.env.CATBOX_HOME, 'envs', name))) {
    must('node', [CATBOX_BIN, 'env', 'create', name, '--writable', dir, '--writable', '/tmp']);
  }
  return name;
}
const catboxExec = (env, flags, cmd) => ['node', CATBOX_BIN, 'exec', env, ...flags, '--', ...cmd];

function tools(work, dir) {
  // work: argv of the bare command; dir: its scratch directory
  const env = benchEnv(dir);
  const t = [
    { id: 'bare', label: 'bare', argv: work },
    { id: 'catbox', label: 'catbox run (enforce)', argv: catbox([dir, '/tmp'], work) },
    { id: 'catbox-trace-exec', label: 'catbox exec --trace=exec', argv: catboxExec(env, ['--trace=exec'], work) },
    { id: 'catbox-trace-all', label: 'catbox exec --trace=all', argv: catboxExec(env, ['--trace=all'], work) },
  ];
  if (useStrace) {
    t.push({ id: 'strace', label: 'strace -f', argv: ['strace', '-f', '-o', '/dev/null', ...work] });
    t.push({ id: 'strace-bpf', label: 'strace -f --seccomp-bpf -e trace=%file', argv: ['strace', '-f', '--seccomp-bpf', '-e', 'trace=%file', '-o', '/dev/null', ...work] });
  }
  return t;
}

function workloads() {
  const list = [];
  const dir = (name) => { const d = path.join(SCRATCH, name); fs.mkdirSync(d, { recursive: true }); return d; };

  {
    const d = dir('startup');
    list.push({
      id: 'startup', title: 'start-up: `true`', baseline: 'node',
      note: 'ratios are to `node -e 0` (catbox is a Node CLI); `true` alone shows the floor',
      cwd: d,
      tools: [
        { id: 'bare', label: 'bare `true`', argv: ['true'] },
        { id: 'node', label: '`node -e 0`', argv: ['node', '-e', '0'] },
        { id: 'catbox-true', label: 'catbox run -- true', argv: catbox([], ['true']) },
        { id: 'catbox', label: 'catbox run (enforce) -- true', argv: catbox([d, '/tmp'], ['true']) },
        // What the trace lines pay for exec itself (lock, run record) before any tracing.
        { id: 'catbox-exec', label: 'catbox exec (no trace) -- true', argv: catboxExec(benchEnv(d), [], ['true']) },
      ],
    });
  }
  {
    const d = dir('procs');
    const work = ['sh', '-c', 'i=0; while [ $i -lt 500 ]; do sh -c true; i=$((i+1)); done'];
    list.push({ id: 'procs', title: 'process start: 500 × `sh -c true`', baseline: 'bare', cwd: d, tools: tools(work, d) });
  }
  {
    const d = dir('files');
    const tarball = ensureFilesTarball();
    const work = ['sh', '-c', `tar -xf ${q(tarball)} && find . -type f | xargs stat > /dev/null && rm -rf tree`];
    list.push({
      id: 'files', title: `syscall-heavy: untar ${NFILES} files, stat all, rm -rf`, baseline: 'bare', cwd: d,
      prepare: ['sh', '-c', `rm -rf ${q(path.join(d, 'tree'))}`],
      tools: tools(work, d),
    });
  }
  if (PLAN.hello) {
    const d = dir('hello');
    const item = { id: 'hello', title: 'GNU hello: configure && make -j2 && make install', baseline: 'bare', cwd: d };
    try {
      if (!ensureCompiler()) throw new Error('no C compiler / make (see above)');
      const src = ensureHelloSource();
      const tree = path.join(d, 'src');
      const prefix = path.join(d, 'prefix');
      const work = ['sh', '-c', `cd ${q(tree)} && ./configure --prefix=${q(prefix)} >/dev/null && make -j2 >/dev/null && make install >/dev/null`];
      item.prepare = ['sh', '-c', `rm -rf ${q(tree)} ${q(prefix)} && cp -a ${q(src)} ${q(tree)}`];
      item.tools = tools(work, d);
      for (const t of item.tools) if (t.id.startsWith('strace') || t.id === 'catbox-trace-all') t.rounds = HELLO_STRACE_ROUNDS;
      item.source = fs.readdirSync(path.dirname(src)).find((f) => f.endsWith('.dsc'));
    } catch (e) {
      item.error = String(e.message ?? e);
      item.tools = [];
    }
    list.push(item);
  }
  return opt.only ? list.filter((w) => opt.only.includes(w.id)) : list;
}

// ------------------------------------------------------------ measuring --

// One untimed run of every command first: it warms the caches and tells a
// failing command apart, with its own error message, before any timing.
function check(w, t) {
  if (w.prepare) must(w.prepare[0], w.prepare.slice(1), { cwd: w.cwd });
  const r = sh(t.argv[0], t.argv.slice(1), { cwd: w.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.code === 0) return null;
  const tail = (r.err || r.out).trim().split('\n').slice(-15).join('\n');
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}: ${tail || '(no output)'}`;
}

function measure(w) {
  const [rounds, runs] = PLAN[w.id];
  for (const t of w.tools) {
    // The check doubles as hello's warm-up; the strace peers skip it there
    // (~45 s each) and rely on hyperfine's exit codes instead.
    if (w.id === 'hello' && t.rounds) continue;
    log(`${w.id}: check ${t.label}`);
    t.failure = check(w, t);
    if (t.failure) log(`${w.id}: ${t.label} FAILED: ${firstLine(t.failure)}`);
  }
  for (const t of w.tools) { t.times = []; t.exitCodes = []; }
  for (let r = 0; r < rounds; r++) {
    const active = w.tools.filter((t) => !t.failure && (t.rounds ?? rounds) > r);
    if (!active.length) break;
    const json = path.join(RUNDIR, `${w.id}-round${r + 1}.json`);
    const args = ['-N', '--style', 'basic', '--runs', String(runs), '--warmup', w.id === 'hello' || r > 0 ? '0' : '1',
      '-i', '--export-json', json];
    if (w.prepare) args.push('--prepare', cmdline(w.prepare));
    for (const t of active) args.push('-n', t.label, cmdline(t.argv));
    log(`${w.id}: round ${r + 1}/${rounds} (${active.length} commands × ${runs} run${runs > 1 ? 's' : ''})`);
    const res = sh('hyperfine', args, { cwd: w.cwd });
    fs.appendFileSync(path.join(RUNDIR, 'hyperfine.log'), `\n$ hyperfine ${args.map(q).join(' ')}\n${res.out}${res.err}`);
    if (res.code !== 0) {
      log(`${w.id}: hyperfine failed (exit ${res.code}), see ${path.relative(ROOT, RUNDIR)}/hyperfine.log`);
      for (const t of active) t.failure ??= `hyperfine exit ${res.code}: ${firstLine(res.err)}`;
      break;
    }
    const data = JSON.parse(fs.readFileSync(json, 'utf8'));
    data.results.forEach((res, i) => {
      active[i].times.push(...res.times);
      active[i].exitCodes.push(...res.exit_codes);
    });
  }
  for (const t of w.tools) {
    const bad = t.exitCodes.filter((c) => c !== 0);
    if (bad.length && !t.failure) t.failure = `exit codes ${[...new Set(bad)].join(',')} in ${bad.length} of ${t.exitCodes.length} timed runs`;
    if (t.times.length) Object.assign(t, { median: median(t.times), min: Math.min(...t.times), max: Math.max(...t.times) });
  }
}

// ------------------------------------------------------------ main --

const list = workloads();
for (const w of list) {
  if (w.error) { log(`${w.id}: SKIPPED: ${w.error}`); continue; }
  measure(w);
}
machine.loadEnd = fs.readFileSync('/proc/loadavg', 'utf8').trim();

// ------------------------------------------------------------ report --

const rows = [];
rows.push('| workload | tool | runs | median | min – max | ratio |', '|---|---|--:|--:|--:|--:|');
const failures = [];
for (const w of list) {
  if (w.error) {
    rows.push(`| ${w.title} | (all) | 0 | – | – | not run |`);
    failures.push(`- **${w.title}**: not run: ${w.error}`);
    continue;
  }
  const base = w.tools.find((t) => t.id === w.baseline);
  for (const t of w.tools) {
    const ratio = t.failure && !t.median ? 'FAILED'
      : base?.median && t.median ? `${(t.median / base.median).toFixed(2)}×${t.failure ? ' (FAILED)' : ''}` : '–';
    rows.push(`| ${w.title} | ${t.label} | ${t.times?.length ?? 0} | ${fmtTime(t.median)} | ${t.median ? `${fmtTime(t.min)} – ${fmtTime(t.max)}` : '–'} | ${ratio} |`);
    if (t.failure) failures.push(`- **${w.title}**, ${t.label}: ${t.failure.includes('\n') ? `\n\n  \`\`\`\n  ${t.failure.replace(/\n/g, '\n  ')}\n  \`\`\`\n` : t.failure}\n  reproduce: \`cd ${w.cwd} && ${w.prepare ? `${cmdline(w.prepare)} && ` : ''}${cmdline(t.argv)}\``);
  }
}

const st = list.find((w) => w.id === 'startup');
const ms = (id) => st?.tools.find((t) => t.id === id)?.median;
const overhead = [];
if (ms('catbox-true') && ms('node')) {
  overhead.push(`catbox start-up overhead: ${((ms('catbox-true') - ms('node')) * 1000).toFixed(0)} ms ` +
    `(median \`catbox run -- true\` ${fmtTime(ms('catbox-true'))} − median \`node -e 0\` ${fmtTime(ms('node'))})`);
  if (ms('catbox')) overhead.push(`with two --writable rules: ${((ms('catbox') - ms('node')) * 1000).toFixed(0)} ms`);
}

const plan = Object.entries(PLAN).filter(([, v]) => v).map(([k, [r, n]]) => `${k} ${r}×${n}`).join(', ');
const md = `# catbox bench — ${machine.date.slice(0, 10)} on ${machine.host}${opt.quick ? ' (quick)' : ''}

Wall-clock medians from one \`node bench/run.mjs${opt.quick ? ' --quick' : ''}\` run. Ratio = median / median of
the workload's baseline (bare, or \`node -e 0\` for start-up). The machine is shared
and noisy: compare ratios within this file, not absolute times across files.

${rows.join('\n')}

${overhead.map((l) => `- ${l}`).join('\n') || '- catbox start-up overhead: not measured'}

${failures.length ? `## Failures\n\n${failures.join('\n')}\n` : 'No failures: every command exited 0 in every run.\n'}
## Machine

- host: ${machine.host}; ${machine.os}; kernel ${machine.kernel}
- CPU: ${machine.nproc} × ${machine.cpu}; RAM ${machine.memGiB} GiB
- load average at start: ${machine.loadStart}; at end: ${machine.loadEnd}
- node ${machine.node}; ${machine.hyperfine}; ${machine.strace}; ${machine.cc}
- catbox commit ${machine.catbox}
${list.find((w) => w.source) ? `- hello source: ${list.find((w) => w.source).source} (Debian source archive)\n` : ''}
## Method

- rounds × runs per command: ${plan}${PLAN.hello ? `; the strace peers and catbox --trace=all run in ${HELLO_STRACE_ROUNDS} of hello's rounds` : ''}.
  Each round is one \`hyperfine -N -i\` invocation over all of the workload's commands, so the
  commands alternate round by round; the first round adds \`--warmup 1\` (hello: none, its untimed
  check run is the warm-up).
- every command first ran once untimed and had to exit 0; a failing command is reported above and not timed.
- catbox runs as \`node bin/run.js run --writable <scratch> --writable /tmp -- CMD\` (enforce mode); the
  trace lines as \`node bin/run.js exec bench-<workload> --trace=exec|all -- CMD\`, in an environment
  with the same two rules (each run also writes its record and its operation log).
- catbox exec start-up overhead (vs catbox run): \`catbox exec (no trace) -- true\` in the start-up table.
- hyperfine JSON exports and log: bench/cache/runs/${path.basename(RUNDIR)}/ (not committed).
- total bench time: ${((Date.now() - t0) / 60000).toFixed(1)} min.
`;

const outFile = opt.out ?? (opt.quick
  ? path.join(CACHE, 'results', `${machine.date.slice(0, 10)}-${machine.host}-quick.md`)
  : path.join(RESULTS, `${machine.date.slice(0, 10)}-${machine.host}.md`));
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, md);
fs.writeFileSync(path.join(RUNDIR, 'summary.json'), JSON.stringify({ machine, plan: PLAN, workloads: list.map((w) => ({
  id: w.id, title: w.title, baseline: w.baseline, error: w.error,
  tools: w.tools.map(({ id, label, argv, times, exitCodes, median: m, failure }) => ({ id, label, argv, median: m, times, exitCodes, failure })),
})) }, null, 2));

console.log('\n' + md);
console.log(`written to ${path.relative(process.cwd(), outFile)}`);
process.exitCode = failures.length ? 1 : 0;

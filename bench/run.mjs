#!/usr/bin/env node
// catbox benchmark: `catbox run` against a bare run of the same real work,
// reported as ratios measured in one run. Not a test. See bench/README.md.
//
//   node bench/run.mjs            full run (~30 min), writes bench/results/<date>-<host>.md
//   node bench/run.mjs --quick    sanity check (~3 min), skips the hello build
//
// Only Node built-ins are used. External tools: hyperfine (installed with
// apt-get if missing), the optional peers strace, proot, fakeroot and bwrap
// (each left out, with a note, when it is not installed), and
// cc/make/ar/tar/find/xargs/stat/timeout.

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
  console.log(`usage: node bench/run.mjs [--quick] [--only NAME[,NAME]] [--no-strace] [--no-peers] [--out FILE]

  --quick        fewer runs, skip the hello build; result goes to bench/cache/, not bench/results/
  --only LIST    run only these workloads: startup, procs, files, hello, lua
  --no-strace    leave out the strace peers even if strace is installed
  --no-peers     leave out the proot, fakeroot and bwrap peers even if they are installed
  --out FILE     write the Markdown report to FILE instead of the default place`);
  process.exit(code);
}

const argv = process.argv.slice(2);
const opt = { quick: false, only: null, strace: true, peers: true, out: null };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') opt.quick = true;
  else if (a === '--no-strace') opt.strace = false;
  else if (a === '--no-peers') opt.peers = false;
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
  ? { startup: [2, 3], procs: [3, 1], files: [3, 1], hello: null, lua: [2, 1] }
  : { startup: [10, 3], procs: [12, 1], files: [10, 1], hello: [5, 1], lua: [6, 1] };
// The slow lines of the hello build (the two strace peers, proot and catbox
// --trace=all: 1.3x to 5x a bare build of ~13 s) get only this many of hello's
// rounds, so that the whole run stays near half an hour.
const HELLO_SLOW_ROUNDS = 2;
const HELLO_SLOW = new Set(['strace', 'strace-bpf', 'proot', 'catbox-trace-all']);
// Every run of a command is ended (with its whole process group, by
// timeout(1)) after TIME_LIMIT_FACTOR times the bare command's check run took,
// within these bounds: a line that hangs is reported, not waited for.
const TIME_LIMIT_FACTOR = 20;
const TIME_LIMIT_MIN_S = 60;
const TIME_LIMIT_MAX_S = 1800;
// A check run that failed (not by the time limit) is tried once more this much later.
const CHECK_RETRY_S = 30;
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

// The Debian package's version, or just "installed" off Debian.
function pkgVersion(pkg) {
  const r = sh('dpkg-query', ['-W', '-f', '${Version}', pkg]);
  return r.code === 0 && r.out.trim() ? r.out.trim() : 'installed';
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

// Peers that run the command in the host's own root, each at its own cost:
// proot (ptrace path translation; -r / is its default guest root, the host's,
// so nothing is translated away), fakeroot (LD_PRELOAD plus the faked daemon)
// and bwrap (namespaces, no supervisor at all: the floor of a sandbox).
const PEERS = [
  { id: 'proot', label: 'proot -r /', bin: 'proot', pkg: 'proot', prefix: ['proot', '-r', '/'] },
  { id: 'fakeroot', label: 'fakeroot', bin: 'fakeroot', pkg: 'fakeroot', prefix: ['fakeroot'] },
  { id: 'bwrap', label: 'bwrap --dev-bind / /', bin: 'bwrap', pkg: 'bubblewrap', prefix: ['bwrap', '--dev-bind', '/', '/'] },
];
const skippedTools = []; // notes for the report: peers left out, and why
if (!useStrace) skippedTools.push(opt.strace ? 'strace: not installed (`apt-get install strace`)' : 'strace: left out (--no-strace)');
const peers = PEERS.filter((p) => {
  if (!opt.peers) { skippedTools.push(`${p.bin}: left out (--no-peers)`); return false; }
  if (!have(p.bin)) { skippedTools.push(`${p.bin}: not installed (\`apt-get install ${p.pkg}\`)`); return false; }
  return true;
});
for (const n of skippedTools) log(`note: ${n}`);

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
  peers: PEERS.map((p) => `${p.bin} ${have(p.bin) ? pkgVersion(p.pkg) : 'not installed'}`).join('; '),
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
    uri: main[0]?.uri,
  };
}

// A package from Debian's source archive, fetched once into bench/cache/<dir>/
// and unpacked there into src/: GNU hello, and lua5.4. `marker` is a file the
// unpacked tree has; `skipPatches` unpacks the upstream tree without Debian's
// patches (lua5.4's replace the upstream Makefile with a libtool one).
function ensureDebianSource(pkg, { dir: sub, marker, skipPatches = false }) {
  const dir = path.join(CACHE, sub);
  const srcDir = path.join(dir, 'src');
  if (fs.existsSync(path.join(srcDir, marker))) return srcDir;
  fs.mkdirSync(dir, { recursive: true });
  const esc = pkg.replace(/[.+]/g, '\\$&');
  const findFile = (re) => fs.readdirSync(dir).find((f) => re.test(f));
  let dsc = findFile(new RegExp(`^${esc}_.*\\.dsc$`));
  if (!dsc) {
    const codename = /VERSION_CODENAME=(\S+)/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'bookworm';
    const { hasSrc, uri } = debianMirror(codename);
    if (!hasSrc && !uri) {
      throw new Error(`no deb-src entry for ${codename}, and no deb entry in /etc/apt/sources.list.d/ to derive one from; add a deb-src line for ${codename} main and run apt-get update`);
    }
    if (!hasSrc || sh('apt-cache', ['showsrc', pkg]).out.trim() === '') {
      if (!isRoot) throw new Error(`no deb-src entry for ${codename}; as root add "deb-src ${uri} ${codename} main" and run apt-get update`);
      const list = '/etc/apt/sources.list.d/catbox-bench-src.list';
      if (!hasSrc) {
        log(`adding ${list}: deb-src ${uri} ${codename} main`);
        fs.writeFileSync(list, `# added by catbox bench/run.mjs to fetch the source of its build workloads\ndeb-src ${uri} ${codename} main\n`);
      }
      log('apt-get update');
      must('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    log(`apt-get source --download-only ${pkg}`);
    must('apt-get', ['source', '--download-only', pkg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    dsc = findFile(new RegExp(`^${esc}_.*\\.dsc$`));
    if (!dsc) throw new Error(`apt-get source did not produce a ${pkg}_*.dsc`);
  }
  const tmp = path.join(dir, 'src.tmp');
  fs.rmSync(tmp, { recursive: true, force: true });
  if (have('dpkg-source')) {
    must('dpkg-source', [...(skipPatches ? ['--skip-patches'] : []), '-x', dsc, 'src.tmp'], { cwd: dir });
  } else {
    const orig = findFile(new RegExp(`^${esc}_.*\\.orig\\.tar\\.\\w+$`));
    fs.mkdirSync(tmp);
    must('tar', ['-xf', orig, '-C', tmp, '--strip-components=1'], { cwd: dir });
  }
  fs.renameSync(tmp, srcDir);
  return srcDir;
}

function ensureCompiler() {
  // hello's Debian Build-Depends (debhelper, help2man, texinfo) are for
  // packaging and regenerating docs; the upstream tarball ships hello.1 and
  // hello.info, so configure && make need only a C compiler and make. Lua's
  // upstream `make linux` needs the same, plus ar (binutils, with gcc).
  const missing = [];
  if (!have('cc') || !have('ar')) missing.push('gcc', 'libc6-dev');
  if (!have('make')) missing.push('make');
  if (missing.length) return aptInstall(missing, 'the build workloads need a C compiler and make');
  return true;
}

// ------------------------------------------------------------ workloads --

const catbox = (writable, cmd) => ['node', CATBOX_BIN, 'run', ...writable.flatMap((w) => ['--writable', w]), '--', ...cmd];

// The operation log, fake root and the overlay belong to `catbox exec` in a
// named environment: a few per workload, all in a CATBOX_HOME under the
// scratch directory (never the user's environments). Creating one may fail
// (a flag the CLI does not know yet): that line is then reported as failing.
process.env.CATBOX_HOME = path.join(SCRATCH, 'catbox-home');
function benchEnv(dir, suffix = '', flags = ['--writable', dir, '--writable', '/tmp']) {
  const name = `bench-${path.basename(dir)}${suffix}`;
  if (fs.existsSync(path.join(process.env.CATBOX_HOME, 'envs', name))) return { name };
  const r = sh('node', [CATBOX_BIN, 'env', 'create', name, ...flags]);
  if (r.code === 0) return { name };
  return { name, error: `\`catbox env create ${name} ${cmdline(flags)}\` failed (exit ${r.code}): ${(r.err || r.out).trim().split('\n').slice(-5).join('\n')}` };
}
const catboxExec = (env, flags, cmd) => ['node', CATBOX_BIN, 'exec', env, ...flags, '--', ...cmd];
// Empties an environment's root (the overlay's upper directory) and its
// ownership journal before every timed run, so no run inherits the last one's.
const catboxReset = (env) => ['sh', '-c', `${cmdline(['node', CATBOX_BIN, 'env', 'reset', env, '--force'])} >/dev/null`];
// catbox says so on stderr while it does not apply an environment's overlay;
// such a run is not an overlay run, and is reported as failing.
const OVERLAY_NOT_APPLIED = /overlay[^\n]*(not appl|does not apply)/i;

function tools(work, dir) {
  // work: argv of the bare command; dir: its scratch directory
  const env = benchEnv(dir);
  const fakeRoot = benchEnv(dir, '-fakeroot', ['--fake-root', '--writable', dir, '--writable', '/tmp']);
  const overlay = benchEnv(dir, '-overlay', ['--overlay', '--writable', '/']);
  const t = [
    { id: 'bare', label: 'bare', argv: work },
    { id: 'catbox', label: 'catbox run (enforce)', argv: catbox([dir, '/tmp'], work) },
    // The same with every question a ptrace stop, as before user notification.
    { id: 'catbox-ptrace', label: 'catbox run (enforce, ptrace stops only)', argv: ['env', 'CATBOX_NO_USER_NOTIF=1', ...catbox([dir, '/tmp'], work)] },
    { id: 'catbox-trace-exec', label: 'catbox exec --trace=exec', argv: catboxExec(env.name, ['--trace=exec'], work), failure: env.error },
    { id: 'catbox-trace-all', label: 'catbox exec --trace=all', argv: catboxExec(env.name, ['--trace=all'], work), failure: env.error },
    { id: 'catbox-fakeroot', label: 'catbox exec (fake root)', argv: catboxExec(fakeRoot.name, [], work),
      prepare: catboxReset(fakeRoot.name), failure: fakeRoot.error },
    { id: 'catbox-overlay', label: 'catbox exec (overlay, writable /)', argv: catboxExec(overlay.name, [], work),
      prepare: catboxReset(overlay.name), failure: overlay.error, rejectStderr: OVERLAY_NOT_APPLIED, mayFail: true },
  ];
  if (useStrace) {
    t.push({ id: 'strace', label: 'strace -f', argv: ['strace', '-f', '-o', '/dev/null', ...work] });
    t.push({ id: 'strace-bpf', label: 'strace -f --seccomp-bpf -e trace=%file', argv: ['strace', '-f', '--seccomp-bpf', '-e', 'trace=%file', '-o', '/dev/null', ...work] });
  }
  for (const p of peers) t.push({ id: p.id, label: p.label, argv: [...p.prefix, ...work], mayFail: true });
  return t;
}

// A build from a pristine copy of its source, every run: `prepare` makes the copy.
function buildWorkload({ id, title, pkg, marker, skipPatches, script }) {
  const d = path.join(SCRATCH, id);
  fs.mkdirSync(d, { recursive: true });
  const item = { id, title, baseline: 'bare', cwd: d, build: true };
  try {
    if (!ensureCompiler()) throw new Error('no C compiler / make (see above)');
    const src = ensureDebianSource(pkg, { dir: id, marker, skipPatches });
    const tree = path.join(d, 'src');
    const prefix = path.join(d, 'prefix');
    item.prepare = ['sh', '-c', `rm -rf ${q(tree)} ${q(prefix)} && cp -a ${q(src)} ${q(tree)}`];
    item.tools = tools(['sh', '-c', `cd ${q(tree)} && ${script(prefix)}`], d);
    item.source = fs.readdirSync(path.dirname(src)).find((f) => f.endsWith('.dsc')) + (skipPatches ? ', unpacked without the Debian patches' : '');
  } catch (e) {
    item.error = String(e.message ?? e);
    item.tools = [];
  }
  return item;
}

function workloads() {
  const list = [];
  const dir = (name) => { const d = path.join(SCRATCH, name); fs.mkdirSync(d, { recursive: true }); return d; };
  const wanted = (id) => PLAN[id] && (!opt.only || opt.only.includes(id));

  if (wanted('startup')) {
    const d = dir('startup');
    const env = benchEnv(d);
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
        { id: 'catbox-exec', label: 'catbox exec (no trace) -- true', argv: catboxExec(env.name, [], ['true']), failure: env.error },
        ...peers.map((p) => ({ id: p.id, label: `${p.label} true`, argv: [...p.prefix, 'true'], mayFail: true })),
      ],
    });
  }
  if (wanted('procs')) {
    const d = dir('procs');
    const work = ['sh', '-c', 'i=0; while [ $i -lt 500 ]; do sh -c true; i=$((i+1)); done'];
    list.push({ id: 'procs', title: 'process start: 500 × `sh -c true`', baseline: 'bare', cwd: d, tools: tools(work, d) });
  }
  if (wanted('files')) {
    const d = dir('files');
    const tarball = ensureFilesTarball();
    const work = ['sh', '-c', `tar -xf ${q(tarball)} && find . -type f | xargs stat > /dev/null && rm -rf tree`];
    list.push({
      id: 'files', title: `syscall-heavy: untar ${NFILES} files, stat all, rm -rf`, baseline: 'bare', cwd: d,
      prepare: ['sh', '-c', `rm -rf ${q(path.join(d, 'tree'))}`],
      tools: tools(work, d),
    });
  }
  if (wanted('hello')) {
    const item = buildWorkload({
      id: 'hello', title: 'GNU hello: configure && make -j2 && make install', pkg: 'hello', marker: 'configure',
      script: (prefix) => `./configure --prefix=${q(prefix)} >/dev/null && make -j2 >/dev/null && make install >/dev/null`,
    });
    for (const t of item.tools) if (HELLO_SLOW.has(t.id)) t.rounds = HELLO_SLOW_ROUNDS;
    list.push(item);
  }
  if (wanted('lua')) {
    // Debian's patches swap Lua's Makefile for one that compiles through a
    // libtool that debian/rules first generates with autoreconf, and builds
    // shared and C++ libraries too (autoconf, libtool, libreadline-dev); the
    // upstream Makefile's `linux` target (without readline since 5.4) needs
    // only cc, make and ar.
    list.push(buildWorkload({
      id: 'lua', title: 'Lua 5.4: make -j2 linux', pkg: 'lua5.4', marker: 'src/lua.c', skipPatches: true,
      script: () => 'make -j2 linux >/dev/null',
    }));
  }
  return list;
}

// ------------------------------------------------------------ measuring --

// What runs before every run of a command: the workload's fresh copy, then the
// line's own (a catbox environment's reset), or null.
function prepareOf(w, t) {
  const script = (argv) => (argv[0] === 'sh' && argv[1] === '-c' && argv.length === 3 ? argv[2] : cmdline(argv));
  if (w.prepare && t.prepare) return ['sh', '-c', `${script(w.prepare)} && ${script(t.prepare)}`];
  return t.prepare ?? w.prepare ?? null;
}

// One untimed run of every command first: it warms the caches and tells a
// failing command apart, with its own error message, before any timing. A
// failing command is left out of the timing and its row says "fails"; the
// bench goes on with the others.
function check(w, t) {
  if (w.prepare) must(w.prepare[0], w.prepare.slice(1), { cwd: w.cwd });
  if (t.prepare) {
    const p = sh(t.prepare[0], t.prepare.slice(1), { cwd: w.cwd });
    if (p.code !== 0) return `its preparation \`${cmdline(t.prepare)}\` failed (exit ${p.code}): ${(p.err || p.out).trim().split('\n').slice(-5).join('\n')}`;
  }
  const started = Date.now();
  const r = sh('timeout', ['-k', '10', String(w.limit ?? TIME_LIMIT_MAX_S), ...t.argv], { cwd: w.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  t.checkSeconds = (Date.now() - started) / 1000;
  if (r.code === 124 || r.code === 137) { t.timedOut = true; return `ended after the time limit of ${w.limit ?? TIME_LIMIT_MAX_S} s`; }
  if (r.code !== 0) {
    const tail = (r.err || r.out).trim().split('\n').slice(-15).join('\n');
    return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}: ${tail || '(no output)'}`;
  }
  const said = t.rejectStderr && r.err.split('\n').find((l) => t.rejectStderr.test(l));
  return said ? `exit 0, but not what this line measures: ${said.trim()}` : null;
}

// One hyperfine invocation over `active`: { results } in `active`'s order, or
// { error } if hyperfine itself failed.
function hyperfine(w, active, runs, warmup, json) {
  const args = ['-N', '--style', 'basic', '--runs', String(runs), '--warmup', String(warmup), '-i', '--export-json', json];
  // --prepare: once for all commands, or once per command when a line has its own.
  if (active.some((t) => t.prepare)) for (const t of active) args.push('--prepare', cmdline(prepareOf(w, t) ?? ['true']));
  else if (w.prepare) args.push('--prepare', cmdline(w.prepare));
  // The same time limit as the check run's, for every line alike (the bare one
  // too, so they all pay for the extra exec); not for start-up, whose lines
  // are a few milliseconds long.
  const limit = w.id === 'startup' ? [] : ['timeout', '-k', '10', String(w.limit ?? TIME_LIMIT_MAX_S)];
  for (const t of active) args.push('-n', t.label, cmdline([...limit, ...t.argv]));
  fs.rmSync(json, { force: true });
  const res = sh('hyperfine', args, { cwd: w.cwd });
  fs.appendFileSync(path.join(RUNDIR, 'hyperfine.log'), `\n$ hyperfine ${args.map(q).join(' ')}\n${res.out}${res.err}`);
  if (res.code !== 0) return { error: `hyperfine exit ${res.code}: ${firstLine(res.err)}` };
  return { results: JSON.parse(fs.readFileSync(json, 'utf8')).results };
}

function measure(w) {
  const [rounds, runs] = PLAN[w.id];
  for (const t of w.tools) {
    if (t.failure) { log(`${w.id}: ${t.label} fails: ${firstLine(t.failure)}`); continue; }
    // The check doubles as a build's warm-up; hello's slow lines skip it
    // (up to a minute each) and rely on hyperfine's exit codes instead.
    if (w.id === 'hello' && t.rounds) continue;
    log(`${w.id}: check ${t.label}`);
    t.failure = check(w, t);
    if (t.id === 'bare' && !t.failure) {
      w.limit = Math.round(Math.min(TIME_LIMIT_MAX_S, Math.max(TIME_LIMIT_MIN_S, TIME_LIMIT_FACTOR * t.checkSeconds)));
    }
    if (t.failure && !t.timedOut) {
      // Once more, a little later, before giving up on the line: on a shared
      // machine a passing hiccup (a binary being rebuilt) is not the line's fault.
      log(`${w.id}: ${t.label} failed its check (${firstLine(t.failure)}); trying again in ${CHECK_RETRY_S} s`);
      sh('sleep', [String(CHECK_RETRY_S)]);
      const first = t.failure;
      t.failure = check(w, t);
      if (!t.failure) t.hiccup = `its first check run failed, the second passed: ${first}`;
    }
    if (t.failure) log(`${w.id}: ${t.label} fails: ${firstLine(t.failure)}`);
  }
  for (const t of w.tools) { t.times = []; t.exitCodes = []; }
  for (let r = 0; r < rounds; r++) {
    const active = w.tools.filter((t) => !t.failure && (t.rounds ?? rounds) > r);
    if (!active.length) break;
    const warmup = w.build || r > 0 ? 0 : 1;
    log(`${w.id}: round ${r + 1}/${rounds} (${active.length} commands × ${runs} run${runs > 1 ? 's' : ''})`);
    let res = hyperfine(w, active, runs, warmup, path.join(RUNDIR, `${w.id}-round${r + 1}.json`));
    let results = res.results;
    if (!results) {
      // hyperfine gave up on the round as a whole (a preparation failed, a
      // program could not be started): time each command alone, so that only
      // the one at fault is lost.
      log(`${w.id}: ${res.error}; timing the round's commands one by one (see ${path.relative(ROOT, RUNDIR)}/hyperfine.log)`);
      results = active.map((t, i) => {
        const one = hyperfine(w, [t], runs, warmup, path.join(RUNDIR, `${w.id}-round${r + 1}-${i + 1}.json`));
        if (!one.results) { t.failure = one.error; log(`${w.id}: ${t.label} fails: ${one.error}`); }
        return one.results?.[0] ?? null;
      });
    }
    // Only the runs that exited 0 are timings of the work; the others are
    // counted, and the line stays in the next rounds.
    results.forEach((res, i) => {
      if (!res) return;
      res.times.forEach((time, k) => { if (res.exit_codes[k] === 0) active[i].times.push(time); });
      active[i].exitCodes.push(...res.exit_codes);
      if (res.exit_codes.some((c) => c !== 0)) log(`${w.id}: ${active[i].label} exited non-zero in a timed run (left out of its times)`);
    });
  }
  for (const t of w.tools) {
    const bad = t.exitCodes.filter((c) => c !== 0);
    if (bad.length && !t.failure) t.failure = `exit codes ${[...new Set(bad)].join(',')} in ${bad.length} of ${t.exitCodes.length} timed runs (left out of the times)`;
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
const hiccups = []; // lines whose first check failed and second passed
let catboxFailed = false; // a failure of a line that is expected to work (not a peer, not the overlay)
for (const w of list) {
  if (w.error) {
    rows.push(`| ${w.title} | (all) | 0 | – | – | not run |`);
    failures.push(`- **${w.title}**: not run: ${w.error}`);
    catboxFailed = true;
    continue;
  }
  const base = w.tools.find((t) => t.id === w.baseline);
  for (const t of w.tools) {
    // "fails": the line failed its check run and was not timed; "N× (fails)":
    // it was timed, but some timed runs exited non-zero (see Failures).
    const ratio = t.failure && !t.median ? 'fails'
      : base?.median && t.median ? `${(t.median / base.median).toFixed(2)}×${t.failure ? ' (fails)' : ''}` : '–';
    rows.push(`| ${w.title} | ${t.label} | ${t.times?.length ?? 0} | ${fmtTime(t.median)} | ${t.median ? `${fmtTime(t.min)} – ${fmtTime(t.max)}` : '–'} | ${ratio} |`);
    if (t.hiccup) hiccups.push(`- **${w.title}**, ${t.label}: ${firstLine(t.hiccup)}`);
    if (!t.failure) continue;
    if (!t.mayFail) catboxFailed = true;
    const pre = prepareOf(w, t);
    failures.push(`- **${w.title}**, ${t.label}: ${t.failure.includes('\n') ? `\n\n  \`\`\`\n  ${t.failure.replace(/\n/g, '\n  ')}\n  \`\`\`\n` : t.failure}\n  reproduce: \`cd ${w.cwd} && ${pre ? `${cmdline(pre)} && ` : ''}${cmdline(t.argv)}\``);
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

const plan = list.map((w) => `${w.id} ${PLAN[w.id][0]}×${PLAN[w.id][1]}`).join(', ');
const md = `# catbox bench — ${machine.date.slice(0, 10)} on ${machine.host}${opt.quick ? ' (quick)' : ''}

Wall-clock medians from one \`node bench/run.mjs${opt.quick ? ' --quick' : ''}\` run. Ratio = median / median of
the workload's baseline (bare, or \`node -e 0\` for start-up). The machine is shared
and noisy: compare ratios within this file, not absolute times across files.

${rows.join('\n')}

${[...(overhead.length ? overhead : ['catbox start-up overhead: not measured']), ...skippedTools.map((l) => `peer left out: ${l}`)].map((l) => `- ${l}`).join('\n')}

${failures.length ? `## Failures\n\n${failures.join('\n')}\n` : 'No failures: every command exited 0 in every run.\n'}${hiccups.length ? `\nChecks that passed only the second time (${CHECK_RETRY_S} s later):\n\n${hiccups.join('\n')}\n` : ''}
## Machine

- host: ${machine.host}; ${machine.os}; kernel ${machine.kernel}
- CPU: ${machine.nproc} × ${machine.cpu}; RAM ${machine.memGiB} GiB
- load average at start: ${machine.loadStart}; at end: ${machine.loadEnd}
- node ${machine.node}; ${machine.hyperfine}; ${machine.strace}; ${machine.cc}
- peers (Debian package versions): ${machine.peers}
- catbox commit ${machine.catbox}
${list.filter((w) => w.source).map((w) => `- ${w.id} source: ${w.source} (from Debian's source archive)\n`).join('')}
## Method

- rounds × runs per command: ${plan}${list.some((w) => w.id === 'hello') ? `; the slow lines (${[...HELLO_SLOW].join(', ')}) run in ${HELLO_SLOW_ROUNDS} of hello's rounds` : ''}.
  Each round is one \`hyperfine -N -i\` invocation over all of the workload's commands, so the
  commands alternate round by round; the first round adds \`--warmup 1\` (the builds: none, the
  untimed check run is the warm-up).
- every command first ran once untimed and had to exit 0, or failing that a second time
  ${CHECK_RETRY_S} s later (hello's slow lines excepted); a command that failed is reported above as
  "fails" and not timed. A timed run that exited non-zero is left out of the times, and its line
  reads "N× (fails)". Every run but start-up's is ended after ${TIME_LIMIT_FACTOR}× the bare check run
  (${TIME_LIMIT_MIN_S}–${TIME_LIMIT_MAX_S} s): \`timeout -k 10 LIMIT CMD\`, for the bare line too.
- catbox runs as \`node bin/run.js run --writable <scratch> --writable /tmp -- CMD\` (enforce mode); the
  trace lines as \`node bin/run.js exec bench-<workload> --trace=exec|all -- CMD\`, in an environment
  with the same two rules (each run also writes its record and its operation log).
- fake root: \`node bin/run.js exec bench-<workload>-fakeroot -- CMD\`, an environment made with
  \`--fake-root\` and the same two rules; overlay: \`node bin/run.js exec bench-<workload>-overlay -- CMD\`,
  made with \`--overlay --writable /\`. Both environments are emptied with \`catbox env reset --force\`
  before every run (untimed), and the overlay line counts as failing while catbox says it does not
  apply the overlay.
- peers: \`proot -r / CMD\`, \`fakeroot CMD\`, \`bwrap --dev-bind / / CMD\`, \`strace -f -o /dev/null CMD\`,
  \`strace -f --seccomp-bpf -e trace=%file -o /dev/null CMD\`; none of them enforces write rules.
- catbox exec start-up overhead (vs catbox run): \`catbox exec (no trace) -- true\` in the start-up table.
- hyperfine JSON exports and log: bench/cache/runs/${path.basename(RUNDIR)}/ (not committed).
- total bench time: ${((Date.now() - t0) / 60000).toFixed(1)} min.
`;

let outFile = opt.out ?? (opt.quick
  ? path.join(CACHE, 'results', `${machine.date.slice(0, 10)}-${machine.host}-quick.md`)
  : path.join(RESULTS, `${machine.date.slice(0, 10)}-${machine.host}.md`));
// A full run never overwrites an earlier result of the same day and host.
for (let n = 2; !opt.out && !opt.quick && fs.existsSync(outFile); n++) {
  outFile = path.join(RESULTS, `${machine.date.slice(0, 10)}-${machine.host}-${n}.md`);
}
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, md);
fs.writeFileSync(path.join(RUNDIR, 'summary.json'), JSON.stringify({ machine, plan: PLAN, workloads: list.map((w) => ({
  id: w.id, title: w.title, baseline: w.baseline, error: w.error,
  tools: w.tools.map(({ id, label, argv, times, exitCodes, median: m, failure }) => ({ id, label, argv, median: m, times, exitCodes, failure })),
})) }, null, 2));

console.log('\n' + md);
console.log(`written to ${path.relative(process.cwd(), outFile)}`);
// Exit 1 only when a line that should work failed: the peers and the overlay
// line may fail without making the bench fail.
process.exitCode = catboxFailed ? 1 : 0;

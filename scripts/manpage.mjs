#!/usr/bin/env node
// Writes man/catbox.1 (npm run build does, after the oclif manifest): one
// section per command, made from the same definitions `catbox COMMAND --help`
// shows (summary, usage, arguments, flags, description, examples, aliases),
// read through oclif's Config, which reads oclif.manifest.json and the
// plugins' manifests. The surrounding sections (exit status, environment,
// files) are written here. `--stdout` prints the page instead (the test suite
// compares the two).
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Config} from '@oclif/core'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'man', 'catbox.1')

// Roff ---------------------------------------------------------------------

/** Text for a roff line: backslashes and hyphens escaped, non-ASCII as \[uXXXX]. */
function text(s) {
  return String(s)
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(/[^\u0000-\u007F]/gu, (c) => `\\[u${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`)
}

/** Lines of running text: a line that starts with "." or "'" would be a request. */
const lines = (s) =>
  text(s)
    .split('\n')
    .map((line) => line.replace(/^\s+/, '').replace(/^([.'])/, '\\&$1'))
    .filter((line) => line !== '')
    .join('\n')

/** One argument of a macro, quoted. */
const arg = (s) => `"${text(s).replaceAll('"', '\\(dq')}"`

const bold = (s) => `\\fB${text(s)}\\fR`
const italic = (s) => `\\fI${text(s)}\\fR`

/** Paragraphs, as oclif's help splits them: at blank lines. */
const paragraphs = (s) =>
  String(s)
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `.PP\n${lines(p)}`)
    .join('\n')

// Commands -------------------------------------------------------------------

const config = await Config.load(root)
const bin = config.bin
const render = (s) => String(s ?? '').replaceAll(/<%=\s*config\.bin\s*%>/g, bin)
const spoken = (id) => id.replaceAll(':', ' ')

const visibleFlags = (command) => Object.values(command.flags ?? {}).filter((f) => !f.hidden)

/** -w, --writable=RULE ; --[no-]collect-only ; --network=full|loopback|none */
function flagTag(flag) {
  const long = flag.allowNo ? `\\fB\\-\\-\\fR[\\fBno\\-\\fR]${bold(flag.name)}` : bold(`--${flag.name}`)
  let tag = flag.char ? `${bold(`-${flag.char}`)}, ${long}` : long
  if (flag.type === 'option') {
    tag += '=' + (flag.helpValue ? italic(flag.helpValue) : flag.options ? flag.options.map(italic).join('|') : italic('VALUE'))
    if (flag.multiple) tag += '...'
  }
  return tag
}

function flagText(flag) {
  let s = render(flag.description ?? flag.summary ?? '')
  if (flag.options && flag.helpValue) s += ` (one of: ${flag.options.join(', ')})`
  if (flag.default !== undefined && flag.default !== false && typeof flag.default !== 'function') s += ` [default: ${flag.default}]`
  return lines(s)
}

/** The usage lines: the command's own (as its help shows them), or made like oclif's. */
function usages(command) {
  const given = [command.usage ?? []].flat().filter(Boolean)
  if (given.length > 0) return given.map((u) => `${bin} ${render(u)}`)
  const args = Object.values(command.args ?? {}).map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`))
  const flags = visibleFlags(command).map((f) => {
    const name = f.char ? `-${f.char}` : `--${f.allowNo ? '[no-]' : ''}${f.name}`
    const value = f.type === 'option' ? ` ${f.helpValue ?? (f.options ? f.options.join('|') : 'VALUE')}` : ''
    return `[${name}${value}]`
  })
  return [[bin, spoken(command.id), ...args, ...flags].join(' ')]
}

function commandSection(command) {
  const summary = render(command.summary ?? String(command.description ?? '').split('\n')[0])
  const description = render(command.summary ? command.description : String(command.description ?? '').split('\n').slice(1).join('\n'))
  const parts = [`.SS ${arg(`${bin} ${spoken(command.id)}`)}`, lines(summary)]
  parts.push('.PP', usages(command).map((u) => text(u).replace(/^([.'])/, '\\&$1')).join('\n.br\n'))
  const aliases = (command.aliases ?? []).map((a) => `${bin} ${spoken(a)}`)
  if (aliases.length > 0) parts.push('.PP', `Also: ${aliases.map(bold).join(', ')}.`)
  const args = Object.values(command.args ?? {}).filter((a) => a.description)
  if (args.length > 0) {
    parts.push('.PP', 'Arguments:')
    for (const a of args) parts.push('.TP', italic(a.name.toUpperCase()), lines(render(a.description)))
  }
  const flags = visibleFlags(command).sort((a, b) => a.name.localeCompare(b.name))
  if (flags.length > 0) {
    parts.push('.PP', 'Flags:')
    for (const f of flags) parts.push('.TP', flagTag(f), flagText(f))
  }
  if (description.trim()) parts.push(paragraphs(description))
  const examples = [command.examples ?? []].flat()
  if (examples.length > 0) {
    parts.push('.PP', 'Examples:')
    for (const example of examples) {
      const {description: about, command: line} = typeof example === 'string' ? {command: example} : example
      if (about) parts.push('.PP', lines(render(about)))
      parts.push('.PP', '.RS 4', '.nf', ...render(line).split('\n').map((l) => `$ ${text(l.replace(/^\$ /, ''))}`), '.fi', '.RE')
    }
  }
  return parts.join('\n')
}

const commands = config.commands
  .filter((c) => !c.hidden && !(c.aliases ?? []).includes(c.id))
  .sort((a, b) => a.id.localeCompare(b.id))
const topics = config.topics.filter((t) => !t.hidden && commands.some((c) => c.id.startsWith(`${t.name}:`)))

// The page ---------------------------------------------------------------------

const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const about = pjson.description.replace(/^catbox:\s*/, '')

const page = `.\\" Made by scripts/manpage.mjs from catbox's command definitions; do not edit.
.TH CATBOX 1 "" ${arg(`${pjson.name} ${pjson.version}`)} "User Commands"
.nh
.SH NAME
catbox \\- ${text(about)}
.SH SYNOPSIS
.nf
${bold(bin)} ${italic('COMMAND')} [${italic('FLAGS')}] [${italic('ARGUMENTS')}]
${bold(bin)} ${bold('run')} [${italic('FLAGS')}] ${bold('--')} ${italic('CMD')} [${italic('ARGS')}...]
${bold(bin)} ${bold('exec')} ${italic('NAME')} [${italic('FLAGS')}] ${bold('--')} ${italic('CMD')} [${italic('ARGS')}...]
${bold(bin)} ${italic('COMMAND')} ${bold('-h')}|${bold('--help')}
${bold(bin)} ${bold('-v')}|${bold('--version')}
.fi
.SH DESCRIPTION
${lines(`catbox is ${about}.`)}
${paragraphs(`A command run in catbox may write only where its rules allow; a write elsewhere fails with EACCES and is reported as a violation. catbox run runs a command once with the rules given on its command line; a named environment (catbox env create) keeps rules, maps, fake root, an overlay and the records of its runs, for catbox exec and catbox shell.

Everything after "--" is the command to run and its arguments, passed on unchanged; catbox's own flags go before it.

Every command takes -h and --help. A mistyped command or flag is refused with the nearest one ("Did you mean"), and every error is said as "catbox: what happened", then what to do.

The commands below are described as catbox COMMAND --help describes them.`)}
.SH COMMANDS
${topics.map((t) => `.PP\n${bold(`${bin} ${spoken(t.name)}`)}: ${lines(render(t.description))}`).join('\n')}
${commands.map(commandSection).join('\n')}
.SH "EXIT STATUS"
${lines('catbox run, catbox exec and catbox shell exit with the status of the command they ran (128+N when signal N killed it), or:')}
.TP
.B 1
${lines('with --fail-on-violation, the command exited 0 and there was at least one violation; or the environment cannot be used (it does not exist, is busy or broken)')}
.TP
.B 2
${lines('a usage error: an unknown command or flag, a bad value or rule, no command after "--"')}
.TP
.B 126
${lines('the command was found but cannot be executed')}
.TP
.B 127
${lines('the command was not found')}
.PP
${lines('The other commands exit 0 when they did what was asked, 2 on a usage error and 1 otherwise.')}
.SH ENVIRONMENT
.TP
.B CATBOX_HOME
${lines('Where environments are kept (default: $XDG_DATA_HOME/catbox, else ~/.local/share/catbox).')}
.TP
.B SHELL
${lines('The shell catbox shell starts (else /bin/sh).')}
.TP
.B SOURCE_DATE_EPOCH
${lines('The time catbox pack gives every entry of the archive, unless --mtime is given.')}
.TP
.B CATBOX_NO_USER_NOTIF
${lines('When set, the supervisor uses ptrace stops only, not seccomp user notification (to compare).')}
.TP
.B CATBOX_QUICK
${lines('0 makes catbox run and catbox exec load oclif to parse their command line, as the other commands do.')}
.TP
.B XDG_CACHE_HOME
${lines('Where catbox autocomplete keeps the completion scripts it makes (default: ~/.cache).')}
.PP
${lines('A command run by catbox exec or catbox shell gets CATBOX_ENV set to the name of the environment.')}
.SH FILES
.TP
.I $CATBOX_HOME/envs/NAME/env.json
${lines('the settings of environment NAME')}
.TP
.I $CATBOX_HOME/envs/NAME/root/
${lines("what runs wrote into the environment's overlay")}
.TP
.I $CATBOX_HOME/envs/NAME/runs/ID/
${lines('one directory per run: report.json, and events.jsonl with --trace')}
.TP
.I $CATBOX_HOME/envs/NAME/owners.jsonl
${lines("fake root's ownership journal")}
.SH "SEE ALSO"
.BR fakeroot (1),
.BR proot (1),
.BR bwrap (1),
.BR strace (1);
${lines("catbox's README.md, and the docs/ directory beside it.")}
`

if (process.argv.includes('--stdout')) process.stdout.write(page)
else {
  mkdirSync(dirname(out), {recursive: true})
  writeFileSync(out, page)
}

// The man page, man/catbox.1: made at build time by scripts/manpage.mjs from
// the command definitions the help shows, installed with the package. It must
// be what the definitions make now, name every command, argument, flag and
// alias, and render without a warning from man.
import {Config} from '@oclif/core'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {execa} from 'execa'

import {projectRoot} from './helpers/cli.js'

const pagePath = join(projectRoot, 'man', 'catbox.1')
const page = readFileSync(pagePath, 'utf8')
const pjson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {man: string; files: string[]; version: string}

/** The page as man shows it, wide enough that no line wraps. */
const rendered = async (): Promise<{stdout: string; stderr: string}> => {
  const r = await execa('man', ['--warnings', '-l', pagePath], {env: {MANWIDTH: '400', MAN_KEEP_FORMATTING: '', LANG: 'C.UTF-8'}, reject: false})
  expect(r.exitCode).toBe(0)
  return {stdout: String(r.stdout), stderr: String(r.stderr)}
}
const haveMan = spawnSync('sh', ['-c', 'command -v man && command -v groff']).status === 0

let config: Config
beforeAll(async () => {
  config = await Config.load(projectRoot)
})

/** The commands the page must describe: every visible one, catbox's and its plugins', aliases apart. */
const commands = () => config.commands.filter((c) => !c.hidden && !(c.aliases ?? []).includes(c.id)).sort((a, b) => a.id.localeCompare(b.id))

/** The roff source of each command's section (.SS "catbox ID"), by spoken id. */
function sections(): Map<string, string> {
  const found = new Map<string, string>()
  const parts = page.split(/^\.SS /m).slice(1)
  for (const part of parts) {
    const title = /^"catbox ([^"]+)"/.exec(part)?.[1]
    if (title) found.set(title.replaceAll('\\-', '-'), part.split(/^\.SH /m)[0])
  }
  return found
}

test('package.json installs it as the man page, and packs it', () => {
  expect(pjson.man).toBe('./man/catbox.1')
  expect(pjson.files).toContain('man/')
})

test('it is what scripts/manpage.mjs makes from the definitions now', async () => {
  const made = await execa('node', [join(projectRoot, 'scripts', 'manpage.mjs'), '--stdout'], {cwd: projectRoot})
  expect(made.stdout + '\n').toBe(page)
})

test('one section per command, in order, each with its arguments, every flag and its aliases', () => {
  const bySection = sections()
  expect([...bySection.keys()]).toEqual(commands().map((c) => c.id.replaceAll(':', ' ')))
  expect([...bySection.keys()]).toEqual(expect.arrayContaining(['run', 'exec', 'shell', 'env create', 'env rm', 'report', 'pack', 'version', 'help', 'autocomplete']))
  for (const command of commands()) {
    const section = bySection.get(command.id.replaceAll(':', ' ')) ?? ''
    // The flags the section lists (.TP tags), as the help names them.
    const tags = [...section.matchAll(/^\.TP\n(.*)$/gm)].map((m) => m[1].replaceAll('\\-', '-').replaceAll(/\\f[BIR]/g, ''))
    const flagTags = tags.filter((t) => t.startsWith('-'))
    const flags = Object.values(command.flags).filter((f) => !f.hidden)
    expect({id: command.id, flags: flagTags.length}).toEqual({id: command.id, flags: flags.length})
    for (const flag of flags) {
      const long = flag.type === 'boolean' && flag.allowNo ? `--[no-]${flag.name}` : `--${flag.name}`
      const tag = flagTags.find((t) => t.split(/[=, ]/).includes(long))
      expect({id: command.id, flag: long, found: tag !== undefined}).toEqual({id: command.id, flag: long, found: true})
      if (flag.char) expect(tag).toMatch(new RegExp(`^-${flag.char}, `))
    }
    for (const arg of Object.values(command.args).filter((a) => a.description)) {
      expect({id: command.id, arg: tags.includes(arg.name.toUpperCase())}).toEqual({id: command.id, arg: true})
    }
    for (const alias of command.aliases ?? []) expect(section).toContain(`\\fBcatbox ${alias.replaceAll(':', ' ')}\\fR`)
  }
})

;(haveMan ? test : test.skip)('man renders it without a warning (skipped where man or groff is not installed); the text has every command\'s summary and usage', async () => {
  const {stdout, stderr} = await rendered()
  expect(stderr).toBe('')
  expect(stdout).toMatch(new RegExp(`^CATBOX\\(1\\) .* User Commands .* CATBOX\\(1\\)$`, 'm'))
  expect(stdout).toContain(`catbox-sandbox ${pjson.version}`)
  for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'SEE ALSO']) {
    expect(stdout).toMatch(new RegExp(`^${section}$`, 'm'))
  }
  for (const command of commands()) {
    const summary = String(command.summary ?? command.description ?? '').split('\n')[0].replaceAll('<%= config.bin %>', 'catbox')
    expect(stdout).toContain(`   catbox ${command.id.replaceAll(':', ' ')}\n       ${summary}`)
  }
  // A usage line as the help shows it, hyphens and all (copied from the page, it must work).
  expect(stdout).toContain('catbox run [--writable RULE]... [--collect-only] [--network full|loopback|none] [--json] [--fail-on-violation] -- CMD [ARGS...]')
  expect(stdout).toContain('$ catbox exec default -- make')
})

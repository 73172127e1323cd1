// catbox env diff through the real CLI, over real files: each test leaves in
// an environment's root/ and whiteouts file what a build under the overlay
// would have left, against host fixtures in a temporary directory (the lower
// layer is the host itself, so a guest path is the fixture's host path).
import {appendFileSync, chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {execa} from 'execa'

import {quotePath} from '../src/env/format.js'
import {cliWithHome, json, tempDir} from './helpers/cli.js'

const work = tempDir('catbox-envdiff-')
const catbox = cliWithHome(work)

interface Env {
  name: string
  dir: string
  /** Make an upper entry at guest path: a file with text (default), a directory, or a symlink to target. */
  upper(guest: string, what?: {dir?: true; text?: string; link?: string}): void
  /** Append whiteout records, each ended by a NUL, as the supervisor does. */
  whiteout(...guests: string[]): void
}

let count = 0

async function makeEnv(...flags: string[]): Promise<Env> {
  const name = `d${++count}`
  const created = await catbox(['env', 'create', name, ...flags, '--json'])
  expect(created.exitCode).toBe(0)
  const dir = join(catbox.home, 'envs', name)
  const root = join(dir, 'root')
  return {
    name,
    dir,
    upper(guest, what = {}) {
      const path = join(root, guest)
      mkdirSync(dirname(path), {recursive: true})
      if (what.dir) mkdirSync(path, {recursive: true})
      else if (what.link !== undefined) symlinkSync(what.link, path)
      else writeFileSync(path, what.text ?? 'from the build\n')
    },
    whiteout(...guests) {
      appendFileSync(join(dir, 'whiteouts'), guests.map((g) => `${g}\0`).join(''))
    },
  }
}

/** A host fixture tree: each path ending in "/" is a directory, the others files. */
function hostTree(...entries: string[]): string {
  const base = tempDir('catbox-diff-host-')
  for (const entry of entries) {
    const path = join(base, entry)
    if (entry.endsWith('/')) mkdirSync(path, {recursive: true})
    else {
      mkdirSync(dirname(path), {recursive: true})
      writeFileSync(path, 'from the host\n')
    }
  }
  return base
}

/** "C /tmp", "C /tmp/catbox-diff-host-XXXXXX": the directories above base, which an upper entry below base has in root/ too. */
const parentsOf = (base: string): string[] =>
  base
    .split('/')
    .slice(1)
    .map((_, i, parts) => `C /${parts.slice(0, i + 1).join('/')}`)

async function diffText(env: Env): Promise<string[]> {
  const r = await catbox(['env', 'diff', env.name])
  expect({exitCode: r.exitCode, stderr: r.stderr}).toEqual({exitCode: 0, stderr: ''})
  return r.stdout === '' ? [] : String(r.stdout).split('\n')
}

describe('env diff', () => {
  test('an environment nothing was done in: nothing printed, exit 0; --json gives []', async () => {
    for (const env of [await makeEnv(), await makeEnv('--overlay')]) {
      const r = await catbox(['env', 'diff', env.name])
      expect(r).toMatchObject({exitCode: 0, stdout: '', stderr: ''})
      const j = await catbox(['env', 'diff', env.name, '--json'])
      expect(j.exitCode).toBe(0)
      expect(json(j.stdout)).toEqual([])
    }
  })

  test('A for what the host lacks, C for what it has, D for a hidden host entry; sorted, parents first', async () => {
    const h = hostTree('etc/conf', 'etc/old', 'etc/remade', 'bin/tool', 'etc-x/')
    const env = await makeEnv('--overlay')
    env.upper(`${h}/etc/conf`, {text: 'edited\n'})
    env.upper(`${h}/etc/new`)
    env.upper(`${h}/etc-x/y`)
    env.upper(`${h}/bin/tool`)
    // Deleted, and made again: the host has it, so it is changed (as with sed -i).
    env.whiteout(`${h}/etc/remade`)
    env.upper(`${h}/etc/remade`)
    env.whiteout(`${h}/etc/old`, `${h}/etc/never-on-host`)
    expect(await diffText(env)).toEqual([
      ...parentsOf(h),
      `C ${h}/bin`,
      `C ${h}/bin/tool`,
      `C ${h}/etc`,
      `C ${h}/etc/conf`,
      `A ${h}/etc/new`,
      `D ${h}/etc/old`,
      `C ${h}/etc/remade`,
      `C ${h}/etc-x`,
      `A ${h}/etc-x/y`,
    ])
  })

  test('a deleted directory is one D: what was in it, whiteouts and all, is not listed again', async () => {
    const h = hostTree('tree/sub/deep/f', 'tree/g', 'file-became-dir', 'dir-became-file/inner')
    const env = await makeEnv('--overlay')
    // rm -rf removes the children first; records may repeat.
    env.whiteout(`${h}/tree/sub/deep/f`, `${h}/tree/sub/deep`, `${h}/tree/g`, `${h}/tree/sub`, `${h}/tree`, `${h}/tree`)
    // A directory replaced by a file: the file is the change; a whiteout inside is not listed.
    env.whiteout(`${h}/dir-became-file/inner`, `${h}/dir-became-file`)
    env.upper(`${h}/dir-became-file`)
    expect(await diffText(env)).toEqual([...parentsOf(h), `C ${h}/dir-became-file`, `D ${h}/tree`])
  })

  test('an opaque directory: the host contents are deleted but for what root/ holds again', async () => {
    const h = hostTree('opq/old/y', 'opq/kept-name', 'opq/gone')
    const env = await makeEnv('--overlay')
    // rm -rf opq (its children whited out first), mkdir opq, and new contents.
    env.whiteout(`${h}/opq/old/y`, `${h}/opq/old`, `${h}/opq/kept-name`, `${h}/opq`)
    env.upper(`${h}/opq`, {dir: true})
    env.upper(`${h}/opq/kept-name`)
    env.upper(`${h}/opq/fresh/file`)
    expect(await diffText(env)).toEqual([
      ...parentsOf(h),
      `C ${h}/opq`,
      `A ${h}/opq/fresh`,
      `A ${h}/opq/fresh/file`,
      `D ${h}/opq/gone`,
      `C ${h}/opq/kept-name`,
      `D ${h}/opq/old`,
    ])
    // An opaque directory the host never had is new.
    const other = await makeEnv('--overlay')
    other.whiteout(`${h}/not-on-host`)
    other.upper(`${h}/not-on-host/x`)
    expect(await diffText(other)).toEqual([...parentsOf(h), `A ${h}/not-on-host`, `A ${h}/not-on-host/x`])
  })

  test('a last whiteout record without its NUL is a torn write and is ignored', async () => {
    const h = hostTree('a', 'b', 'c')
    const env = await makeEnv('--overlay')
    env.whiteout(`${h}/a`)
    appendFileSync(join(env.dir, 'whiteouts'), `${h}/b`)
    expect(await diffText(env)).toEqual([`D ${h}/a`])
    // A record appended after a torn one is joined to it: one path, which the host does not have.
    env.whiteout(`${h}/c`)
    expect(await diffText(env)).toEqual([`D ${h}/a`])
  })

  test('--json: change, path and type for each', async () => {
    const h = hostTree('dir/file', 'dir/link-target')
    const env = await makeEnv('--overlay')
    env.upper(`${h}/dir/file`)
    env.upper(`${h}/dir/link`, {link: 'link-target'})
    env.upper(`${h}/newdir`, {dir: true})
    env.whiteout(`${h}/dir/link-target`)
    const r = await catbox(['env', 'diff', env.name, '--json'])
    expect({exitCode: r.exitCode, stderr: r.stderr}).toEqual({exitCode: 0, stderr: ''})
    expect(json(r.stdout)).toEqual([
      ...parentsOf(h).map((line) => ({change: 'C', path: line.slice(2), type: 'dir'})),
      {change: 'C', path: `${h}/dir`, type: 'dir'},
      {change: 'C', path: `${h}/dir/file`, type: 'file'},
      {change: 'A', path: `${h}/dir/link`, type: 'symlink'},
      {change: 'D', path: `${h}/dir/link-target`, type: 'file'},
      {change: 'A', path: `${h}/newdir`, type: 'dir'},
    ])
  })

  test('names that are not UTF-8 or hold control characters are quoted in text, exact in --json', async () => {
    const h = hostTree('n/')
    const env = await makeEnv('--overlay')
    const odd = Buffer.concat([Buffer.from(`${h}/n/`), Buffer.from([0xff]), Buffer.from('é')])
    mkdirSync(join(env.dir, 'root', h, 'n'), {recursive: true})
    writeFileSync(Buffer.concat([Buffer.from(join(env.dir, 'root')), odd]), '')
    env.upper(`${h}/n/two\nlines`)
    expect(await diffText(env)).toEqual([...parentsOf(h), `C ${h}/n`, `A "${h}/n/two\\nlines"`, `A "${h}/n/\\377é"`])
    const entries = json((await catbox(['env', 'diff', env.name, '--json'])).stdout)
    expect(entries.at(-2)).toEqual({change: 'A', path: `${h}/n/two\nlines`, type: 'file'})
    expect(entries.at(-1)).toEqual({change: 'A', path: `${h}/n/\ufffdé`, type: 'file', pathBytes: odd.toString('base64')})
  })

  test.each([
    ['/usr/bin/cc', '/usr/bin/cc'],
    ['/a b/ü', '/a b/ü'],
    ['/tab\there', '"/tab\\there"'],
    ['/quote"d', '"/quote\\"d"'],
    ['/back\\slash', '"/back\\\\slash"'],
    ['/del\x7f', '"/del\\177"'],
  ])('quotePath(%j) is %s', (path, shown) => {
    expect(quotePath(Buffer.from(path))).toBe(shown)
  })

  test('quotePath escapes each byte that is not part of a UTF-8 character, a cut-off one included', () => {
    expect(quotePath(Buffer.from([0x2f, 0xc3, 0xa9, 0xe2, 0x82, 0x2f, 0x80]))).toBe('"/é\\342\\202/\\200"')
  })

  // root reads any directory, whatever its mode.
  const unlessRoot = process.getuid?.() === 0 ? test.skip : test
  unlessRoot('a directory of root/ it cannot read is named on stderr; the rest is listed', async () => {
    const h = hostTree()
    const env = await makeEnv('--overlay')
    env.upper(`${h}/locked/inside`)
    env.upper(`${h}/open`)
    const locked = join(env.dir, 'root', h, 'locked')
    chmodSync(locked, 0o000)
    try {
      const r = await catbox(['env', 'diff', env.name])
      expect(r.exitCode).toBe(0)
      expect(r.stderr).toBe(`catbox: warning: cannot read ${h}/locked in the root of environment "${env.name}" (EACCES); what is below it is not listed.`)
      expect(String(r.stdout).split('\n')).toEqual([...parentsOf(h), `A ${h}/locked`, `A ${h}/open`])
    } finally {
      chmodSync(locked, 0o755)
    }
  })

  test('runs while a build changes root/: entries that vanish are skipped', async () => {
    const h = hostTree()
    const env = await makeEnv('--overlay')
    env.upper(`${h}/stable`)
    const churn = join(env.dir, 'root', h, 'churn')
    const writer = execa('sh', ['-c', `while :; do mkdir -p ${churn}/a/b/c && touch ${churn}/a/b/c/f ${churn}/a/g && rm -rf ${churn}; done`], {reject: false})
    try {
      for (let i = 0; i < 15; i++) {
        const r = await catbox(['env', 'diff', env.name, '--json'])
        expect({exitCode: r.exitCode, stderr: r.stderr}).toEqual({exitCode: 0, stderr: ''})
        expect(json(r.stdout)).toContainEqual({change: 'A', path: `${h}/stable`, type: 'file'})
      }
    } finally {
      writer.kill()
      await writer
    }
  })

  test('env reset clears root/, the whiteouts and the merged listings: the environment shows the host again', async () => {
    const h = hostTree('x', 'y/')
    const env = await makeEnv('--overlay')
    env.upper(`${h}/y/new`)
    env.whiteout(`${h}/x`)
    mkdirSync(join(env.dir, 'merged', 'ab12'), {recursive: true})
    writeFileSync(join(env.dir, 'merged', 'ab12', 'stand-in'), '')
    expect(await diffText(env)).toEqual([...parentsOf(h), `D ${h}/x`, `C ${h}/y`, `A ${h}/y/new`])

    const r = await catbox(['env', 'reset', env.name, '--force'])
    expect(r.exitCode).toBe(0)
    expect(readdirSync(env.dir).sort()).toEqual(['env.json', 'root', 'runs'])
    expect(readdirSync(join(env.dir, 'root'))).toEqual([])
    expect(await diffText(env)).toEqual([])
  })

  test('an environment that does not exist, or whose env.json is broken, is an error (exit 1, stdout empty)', async () => {
    const missing = await catbox(['env', 'diff', 'never-made', '--json'])
    expect(missing).toMatchObject({exitCode: 1, stdout: ''})
    expect(String(missing.stderr).split('\n')[0]).toBe(`catbox: there is no environment "never-made" (in ${join(catbox.home, 'envs')}).`)

    const env = await makeEnv()
    const file = join(env.dir, 'env.json')
    writeFileSync(file, '{')
    const broken = await catbox(['env', 'diff', env.name])
    expect(broken).toMatchObject({exitCode: 1, stdout: ''})
    expect(String(broken.stderr)).toMatch(new RegExp(`^catbox: cannot use ${file}: it is not valid JSON`))

    const bad = await catbox(['env', 'diff', '../x'])
    expect(bad).toMatchObject({exitCode: 2, stdout: ''})
    expect(String(bad.stderr).split('\n')[0]).toBe('catbox: invalid environment name "../x": it contains "/".')
  })
})

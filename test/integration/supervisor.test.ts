// If the supervisor (the node process running the CLI) is killed with SIGKILL,
// no process of the build survives it: they would go on untraced.
import {describe, expect, test} from '@jest/globals'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {waitFor} from '../helpers/driver.js'

const cli = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

/** Pids of live processes whose environment carries MARKER=value. */
function marked(value: string): number[] {
  const needle = `\0CATBOX_TEST_MARKER=${value}\0`
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let environ: string
    try {
      environ = `\0${readFileSync(`/proc/${name}/environ`, 'latin1')}`
    } catch {
      continue // gone, or not ours
    }
    if (environ.includes(needle)) pids.push(Number(name))
  }
  return pids
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim()
  } catch {
    return `${pid} (gone)`
  }
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

describe('kill -9 of the supervisor', () => {
  test('control, without catbox: killing the shell leaves its sleeps running, and the check sees them', async () => {
    const value = randomBytes(8).toString('hex')
    const shell = spawn('sh', ['-c', 'sleep 300 & sleep 300'], {
      detached: true,
      stdio: 'ignore',
      env: {...process.env, CATBOX_TEST_MARKER: value},
    })
    const exited = new Promise((resolve) => shell.once('exit', resolve))
    const others = () => marked(value).filter((pid) => pid !== shell.pid)
    try {
      // Both children must have exec'd sleep: a forked child still shows sh's command line.
      const sleeping = () => others().filter((pid) => cmdline(pid) === 'sleep 300').length >= 2
      await waitFor(sleeping, 'the sleeps to start', exited)
      process.kill(shell.pid!, 'SIGKILL')
      await exited
      expect(others().map(cmdline)).toEqual(['sleep 300', 'sleep 300'])
    } finally {
      killAll(marked(value))
    }
  })

  // Enforce mode runs the build untraced, kept together by a reaper that
  // kills it when the supervisor dies; CATBOX_NO_USER_NOTIF=1 follows every
  // process by ptrace instead (PTRACE_O_EXITKILL).
  test.each([
    ['a shell with a background and a foreground sleep', 'untraced', "sleep 300 & sleep 300"],
    ['a double-forked setsid() daemon', 'untraced', "(setsid sleep 300 &); sleep 300"],
    ['a shell with a background and a foreground sleep', 'ptrace', "sleep 300 & sleep 300"],
    ['a double-forked setsid() daemon', 'ptrace', "(setsid sleep 300 &); sleep 300"],
  ])('leaves no process of the build behind: %s (%s)', async (_name, how, script) => {
    const value = randomBytes(8).toString('hex')
    const supervisor = spawn(process.execPath, [cli, 'run', '--', 'sh', '-c', script], {
      detached: true,
      stdio: 'ignore',
      env: {...process.env, CATBOX_TEST_MARKER: value, ...(how === 'ptrace' ? {CATBOX_NO_USER_NOTIF: '1'} : {})},
    })
    const exited = new Promise((resolve) => supervisor.once('exit', resolve))
    const build = () => marked(value).filter((pid) => pid !== supervisor.pid)
    try {
      // Both sleeps (the setsid one and the foreground one) are running under the supervisor.
      await waitFor(() => build().filter((pid) => cmdline(pid) === 'sleep 300').length >= 2, 'the build to start', exited)
      process.kill(supervisor.pid!, 'SIGKILL')
      await exited
      let left = build()
      for (let i = 0; i < 500 && left.length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        left = build()
      }
      expect(left.map(cmdline)).toEqual([])
    } finally {
      killAll(marked(value))
    }
  })
})

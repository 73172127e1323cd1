// `catbox shell` in a real terminal: tmux runs it in a detached session of a
// fixed size; the test types with send-keys and reads the screen with
// capture-pane, polling (bounded) until the expected text appears. bash is
// the shell, with a known ~/.bashrc, so the screen is predictable.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {bin, cliWithHome, tempDir, waitFor} from './helpers/cli.js'

const T = tempDir('catbox-tty-')
const home = join(T, 'home')
const catbox = cliWithHome(T)
const socket = join(T, 'tmux.sock')
const session = 'catbox-shell'
const PROMPT = '(catbox:tty) tb>'

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
    env: {...process.env, SHELL: '/bin/sh'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Everything the pane has shown, scrollback included. */
const screen = (): string => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session)

const count = (text: string, part: string): number => text.split(part).length - 1

async function waitForScreen(what: string, check: (text: string) => boolean): Promise<string> {
  let last = ''
  try {
    await waitFor(what, () => check((last = screen())))
  } catch (error) {
    throw new Error(`${(error as Error).message}; the screen was:\n${last}`)
  }
  return last
}

/** Wait until the prompt has been shown n times, and return the screen. */
const waitForPrompts = (n: number) => waitForScreen(`prompt #${n}`, (text) => count(text, PROMPT) >= n)

const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k)
const type = (line: string) => keys('-l', line)

/** The pid of the process whose command line is exactly argv, or null. */
function pidOf(argv: string[]): number | null {
  const wanted = argv.join('\0') + '\0'
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') === wanted) return Number(entry)
    } catch {
      // Gone meanwhile.
    }
  }
  return null
}

/** The state letter of a process (R, S, T...), or null when it is gone. */
function stateOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]
  } catch {
    return null
  }
}

let hasTmux = true
let serverPid = 0
beforeAll(async () => {
  try {
    execFileSync('tmux', ['-V'])
  } catch {
    hasTmux = false
    return
  }
  mkdirSync(home)
  writeFileSync(join(home, '.bashrc'), "PS1='tb> '\nunset HISTFILE\n")
  const created = await catbox(['env', 'create', 'tty', '--writable', T])
  expect(created.exitCode).toBe(0)
  const command = [
    `env CATBOX_HOME='${catbox.home}' HOME='${home}' SHELL=/bin/bash`,
    `'${process.execPath}' '${bin}' shell tty;`,
    `s=$?; echo "status=$s"; echo "status=$s" > '${T}/status'; exec sleep 1000`,
  ].join(' ')
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command)
  serverPid = Number(tmux('display-message', '-p', '#{pid}'))
})

// By pid: the temporary directory, socket included, may be gone by now.
afterAll(() => {
  if (serverPid) process.kill(serverPid, 'SIGTERM')
})

describe('catbox shell in a terminal (tmux)', () => {
  test('tmux is installed (.ci/run installs it)', () => {
    expect(hasTmux).toBe(true)
  })

  test('the prompt shows the environment name in front of the one ~/.bashrc sets', async () => {
    const text = await waitForPrompts(1)
    expect(text).toContain(`${PROMPT} `)
  })

  test('the terminal the shell gets is in blocking mode, as from a plain shell', async () => {
    // Node reopens a terminal stdin non-blocking; programs reading it would get EAGAIN.
    type('f=$(sed -n "s/^flags:[[:space:]]*//p" /proc/self/fdinfo/0); echo "nonblock=$(( 0$f & 04000 ))"')
    keys('Enter')
    await waitForScreen('the flags of fd 0', (s) => /\nnonblock=\d+/.test(s))
    expect(screen()).toMatch(/\nnonblock=0\n/)
  })

  test('a denied write shows its violation and the shell\'s own error', async () => {
    type('echo x > /etc/catbox-denied')
    keys('Enter')
    const text = await waitForScreen('the violation', (s) => /catbox: denied open(at)? \/etc\/catbox-denied by bash\[\d+\]: EACCES/.test(s))
    expect(text).toContain('bash: /etc/catbox-denied: Permission denied')
    expect(existsSync('/etc/catbox-denied')).toBe(false)
    // The violation line may land after the next prompt (events arrive asynchronously): Enter shows a fresh one.
    keys('Enter')
    await waitForPrompts(3)
  })

  test('Ctrl-C interrupts the foreground command, not the shell or catbox', async () => {
    const before = count(screen(), PROMPT)
    type('sleep 1001')
    keys('Enter')
    await waitFor('sleep 1001 to run', () => pidOf(['sleep', '1001']) !== null)
    keys('C-c')
    await waitFor('sleep 1001 to end', () => pidOf(['sleep', '1001']) === null)
    await waitForPrompts(before + 1)
    type('echo alive-$((6 * 7))')
    keys('Enter')
    await waitForScreen('the shell to answer', (s) => s.includes('\nalive-42'))
  })

  test('Ctrl-Z stops the job, fg resumes it', async () => {
    const before = count(screen(), PROMPT)
    type('sleep 1002')
    keys('Enter')
    await waitFor('sleep 1002 to run', () => pidOf(['sleep', '1002']) !== null)
    const pid = pidOf(['sleep', '1002'])!
    keys('C-z')
    await waitForScreen('the job to be reported stopped', (s) => /Stopped\s+sleep 1002/.test(s))
    expect(stateOf(pid)).toMatch(/^[tT]$/)
    await waitForPrompts(before + 1)
    type('fg')
    keys('Enter')
    await waitFor('sleep 1002 to run again', () => stateOf(pid) === 'S')
    keys('C-c')
    await waitFor('sleep 1002 to end', () => stateOf(pid) === null)
    await waitForPrompts(before + 2)
  })

  test('a window resize reaches the programs', async () => {
    type('stty size')
    keys('Enter')
    await waitForScreen('the first size', (s) => s.includes('\n30 100'))
    tmux('resize-window', '-t', session, '-x', '80', '-y', '20')
    type('stty size')
    keys('Enter')
    await waitForScreen('the new size', (s) => s.includes('\n20 80'))
  })

  test('exit 3 ends catbox with status 3', async () => {
    type('exit 3')
    keys('Enter')
    await waitForScreen('catbox to end', (s) => s.includes('status=3'))
    expect(readFileSync(join(T, 'status'), 'utf8')).toBe('status=3\n')
  })
})

describe('env rm asks on a terminal', () => {
  const ask = async (name: string, answer: string) => {
    expect((await catbox(['env', 'create', name])).exitCode).toBe(0)
    const window = `rm-${name}`
    tmux('new-window', '-d', '-n', window, `env CATBOX_HOME='${catbox.home}' '${process.execPath}' '${bin}' env rm ${name}; echo "status=$?"; exec sleep 1000`)
    const pane = () => tmux('capture-pane', '-p', '-J', '-t', `${session}:${window}`)
    await waitFor('the question', () => pane().includes(`Really remove environment "${name}"`))
    tmux('send-keys', '-t', `${session}:${window}`, '-l', answer)
    tmux('send-keys', '-t', `${session}:${window}`, 'Enter')
    await waitFor('the answer to be taken', () => /status=\d+/.test(pane()))
    return pane()
  }

  test('"y" removes the environment', async () => {
    const text = await ask('yes-env', 'y')
    expect(text).toContain(`Really remove environment "yes-env" (${join(catbox.home, 'envs', 'yes-env')})? [y/N] y`)
    expect(text).toContain('Removed environment yes-env.\nstatus=0')
    expect(existsSync(join(catbox.home, 'envs', 'yes-env'))).toBe(false)
  })

  test('anything else keeps it', async () => {
    const text = await ask('no-env', 'n')
    expect(text).toContain('catbox: did not remove environment "no-env".\nstatus=1')
    expect(existsSync(join(catbox.home, 'envs', 'no-env'))).toBe(true)
  })
})

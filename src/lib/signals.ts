// While a foreground command runs, the terminal's Ctrl-C and Ctrl-\ reach it
// and catbox alike. Like system(3), catbox ignores them meanwhile: the command
// decides what to do (make removes half-written targets, a pager stays
// alive), and catbox reports how it ended. SIGTERM still ends catbox, and with
// it every traced process.
const TERMINAL_SIGNALS = ['SIGINT', 'SIGQUIT'] as const

export async function withTerminalSignalsIgnored<T>(body: () => Promise<T>): Promise<T> {
  const ignore = (): void => {}
  for (const signal of TERMINAL_SIGNALS) process.on(signal, ignore)
  try {
    return await body()
  } finally {
    for (const signal of TERMINAL_SIGNALS) process.off(signal, ignore)
  }
}

/**
 * While body runs a command that catbox keeps a record of: a hangup (the
 * terminal went away) is passed on to the command's first process, which ends
 * the way it chooses, so the run ends normally and its record is complete.
 * SIGTERM, and a hangup before the command started, call onEnd with the
 * signal, and then end catbox by that same signal, as if it had not been
 * caught (and with catbox, every process of the command).
 */
export async function withEndingSignalsHandled<T>(
  commandPid: () => number | null,
  onEnd: (signal: 'SIGTERM' | 'SIGHUP') => void,
  body: () => Promise<T>,
): Promise<T> {
  const end = (signal: 'SIGTERM' | 'SIGHUP'): void => {
    try {
      onEnd(signal)
    } finally {
      process.off('SIGTERM', onTerm)
      process.off('SIGHUP', onHup)
      process.kill(process.pid, signal)
    }
  }
  const onTerm = (): void => end('SIGTERM')
  const onHup = (): void => {
    const pid = commandPid()
    if (pid === null) return end('SIGHUP')
    try {
      process.kill(pid, 'SIGHUP')
    } catch {
      // Already gone: the run is ending anyway.
    }
  }
  process.on('SIGTERM', onTerm)
  process.on('SIGHUP', onHup)
  try {
    return await body()
  } finally {
    process.off('SIGTERM', onTerm)
    process.off('SIGHUP', onHup)
  }
}

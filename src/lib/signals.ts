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

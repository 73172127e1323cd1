// The terminal the command inherits.
import {isatty} from 'node:tty'

/**
 * Give the command a blocking stdin when it is a terminal.
 *
 * An ES module that imports node:process (@oclif/core loads one, wsl-utils)
 * makes Node read every property of process, process.stdin included; on a
 * terminal that makes libuv reopen the tty in non-blocking mode over fd 0.
 * The command would inherit that: dash says "turning off NDELAY mode", and
 * cat or read get EAGAIN from the terminal. catbox does not read stdin while
 * a command runs, so the descriptor is put back in blocking mode through the
 * stream's handle (Node has no public call for it; stdout and stderr on a
 * terminal get the same treatment inside Node).
 */
export function blockingStdinForCommand(): void {
  if (!isatty(0)) return
  const handle = (process.stdin as unknown as {_handle?: {setBlocking?: (blocking: boolean) => number}})._handle
  handle?.setBlocking?.(true)
}

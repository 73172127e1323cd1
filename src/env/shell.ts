// The command line of `catbox shell`: the user's shell, interactive when
// stdin is a terminal, with a prompt that names the environment.
//
// Terminal signals need nothing from catbox here: an interactive shell puts
// itself in its own process group and makes that the terminal's foreground
// group, and each job it starts gets a group of its own. Ctrl-C, Ctrl-\ and
// Ctrl-Z go to the foreground job only (or to the shell, which ignores them
// at its prompt), never to catbox, which stays in the group it was started
// in. When the shell exits it hands the terminal back to that group.
import {writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {errors} from '../lib/errors.js'

export interface ShellInvocation {
  command: string[]
  /** Variables for the shell on top of the environment's. */
  env: Record<string, string>
}

export const promptPrefix = (name: string): string => `(catbox:${name}) `

/** $SHELL when it is set, else /bin/sh. */
export function userShell(env: Record<string, string | undefined> = process.env): string {
  return env.SHELL ? env.SHELL : '/bin/sh'
}

/**
 * interactive: `SHELL -i`. bash gets `--rcfile` with an rc file written in
 * runDir that sources ~/.bashrc and then puts the prefix in front of PS1
 * (bash would not take PS1 from its environment, ~/.bashrc sets it); other
 * shells get PS1 in their environment. Not interactive: the shell reads its
 * commands from stdin.
 */
export function shellInvocation(options: {name: string; shell: string; interactive: boolean; runDir: string}): ShellInvocation {
  const {name, shell, interactive, runDir} = options
  if (!interactive) return {command: [shell], env: {}}
  const prefix = promptPrefix(name)
  if (basename(shell) === 'bash') {
    const rc = join(runDir, 'bashrc')
    try {
      writeFileSync(
        rc,
        `# catbox shell ${name}: what bash reads without --rcfile (the system's bashrc, then the\n` +
          "# user's ~/.bashrc), then the environment's name in the prompt.\n" +
          'if [ -f /etc/bash.bashrc ]; then . /etc/bash.bashrc; fi\n' +
          'if [ -f ~/.bashrc ]; then . ~/.bashrc; fi\n' +
          `PS1=${shellQuote(prefix)}"$PS1"\n`,
      )
    } catch (error) {
      throw errors.storeFailed(rc, error)
    }
    return {command: [shell, '--rcfile', rc, '-i'], env: {}}
  }
  const mark = process.getuid?.() === 0 ? '#' : '$'
  return {command: [shell, '-i'], env: {PS1: `${prefix}${mark} `}}
}

const shellQuote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`

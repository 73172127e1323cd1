#!/usr/bin/env node
// catbox run and catbox exec start every build: they skip loading oclif when
// they can (src/cli/quick.ts). Everything else, and what they decline, is oclif's.
// A mistake on the command line that oclif reports itself (for a command of a
// plugin: help, autocomplete) is said in catbox's words too (src/cli/usage.ts).
import {quick} from '../dist/cli/quick.js'

if (!(await quick(process.argv.slice(2), new URL('../oclif.manifest.json', import.meta.url)))) {
  const {flush, handle, run} = await import('@oclif/core')
  try {
    await run(process.argv.slice(2), import.meta.url)
    await flush()
  } catch (error) {
    const {usageError} = await import('../dist/cli/usage.js')
    const mistake = usageError(error)
    if (!mistake) await handle(error)
    else {
      process.stderr.write(mistake.message + '\n')
      process.exitCode = mistake.exitCode
    }
  }
}

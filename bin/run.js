#!/usr/bin/env node
// catbox run and catbox exec start every build: they skip loading oclif when
// they can (src/cli/quick.ts). Everything else, and what they decline, is oclif's.
import {quick} from '../dist/cli/quick.js'

if (!(await quick(process.argv.slice(2), new URL('../oclif.manifest.json', import.meta.url)))) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}

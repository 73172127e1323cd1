import {Args} from '@oclif/core'

import {diffEnvironment} from '../../env/diff.js'
import {formatDiff} from '../../env/format.js'
import {Store} from '../../env/store.js'
import {CatboxCommand} from '../../lib/command.js'
import {notices} from '../../lib/errors.js'
import {jsonFlag} from '../../lib/flags.js'

export default class EnvDiff extends CatboxCommand {
  static summary = "List what an environment's overlay added, changed and deleted, compared with the host."
  static description = `One line a path, like docker diff, sorted by path: A (added: the host has nothing there), C (changed: the environment has its own entry where the host has one, directories included) or D (deleted: the environment hides the host's entry; what was below it is not listed again). Nothing is printed when the environment shows the host as it is.

A path that is not UTF-8, or holds a control character, a double quote or a backslash, is printed in double quotes with C escapes, bytes that are not UTF-8 as \\ooo. With --json: an array of {change, path, type} (type: file, dir, symlink or other), and pathBytes (base64) for a path that is not UTF-8.

It can run while a command runs in the environment: it then shows some moment of that run. catbox env reset NAME undoes every change.`

  static examples = [
    '<%= config.bin %> env diff myproj',
    {description: 'The files a build installed:', command: "<%= config.bin %> env diff myproj --json | jq -r '.[] | select(.change == \"A\" and .type == \"file\") | .path'"},
  ]

  static args = {name: Args.string({required: true, description: 'the environment'})}
  static flags = {...jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(EnvDiff)
    const store = Store.open()
    store.load(args.name)
    const {changes, unreadable} = diffEnvironment(args.name, store.paths(args.name))
    for (const {path, error} of unreadable) this.logToStderr(notices.diffUnreadable(args.name, path, error))
    if (flags.json) this.printJson(changes)
    else if (changes.length > 0) this.log(formatDiff(changes))
  }
}

import {Args, Flags} from '@oclif/core'

import {Store} from '../env/store.js'
import {CatboxCommand} from '../lib/command.js'
import {errors} from '../lib/errors.js'
import {jsonFlag} from '../lib/flags.js'
import {FORMATS, packEnv} from '../pack/pack-env.js'

export default class Pack extends CatboxCommand {
  static summary = "Write an environment's output as an archive with the owners and modes fake root recorded."
  static description = `Archives the environment's root/ (or --from DIR; with the overlay or maps, DIR as the build saw it) as tar, tar.gz or tar.zst. Owners, modes, device nodes that the build made under fake root (chown, chmod 4755, mknod) are written as recorded, not as they are on disk; files never chowned belong to root, as under fakeroot. Entries are sorted by name; with --mtime or SOURCE_DATE_EPOCH every entry gets that time, so the same tree packs to the same bytes.`

  static examples = [
    '<%= config.bin %> pack pkg out.tar.gz --from /var/tmp/pkg/install',
    {description: 'Reproducible:', command: 'SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) <%= config.bin %> pack pkg pkg.tar.zst --from /var/tmp/pkg/install'},
  ]

  static args = {
    name: Args.string({required: true, description: 'the environment'}),
    out: Args.string({required: true, description: 'the archive to write (.tar, .tar.gz, .tar.zst)'}),
  }

  static flags = {
    ...jsonFlag,
    from: Flags.string({description: "the directory to pack, as the build saw it (absolute; default: the environment's root/)"}),
    format: Flags.string({options: [...FORMATS], description: "archive format (default: from OUT's name)"}),
    mtime: Flags.string({description: 'seconds since 1970 for every entry (default: SOURCE_DATE_EPOCH, else each file’s own)'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Pack)
    if (flags.mtime !== undefined && !/^\d+$/.test(flags.mtime)) throw errors.badMtime(flags.mtime, '--mtime')
    const progress = process.stderr.isTTY && !flags.json ? throttledProgress() : undefined
    const result = await packEnv({
      store: Store.open(),
      name: args.name,
      out: args.out,
      from: flags.from,
      format: flags.format as (typeof FORMATS)[number] | undefined,
      mtime: flags.mtime === undefined ? undefined : Number(flags.mtime),
      onProgress: progress,
    })
    if (progress) process.stderr.write('\r\x1b[K')
    if (flags.json) this.printJson(result)
    else this.log(`Packed ${result.entries} entries (${result.recorded} with recorded owners or modes) from ${result.from} into ${result.out}`)
    for (const why of result.skipped) this.logToStderr(`catbox: skipped ${why}`)
    // As GNU tar: the archive is made without them, and the exit status says it differs from the tree.
    for (const name of result.removed) this.logToStderr(`catbox: ${name}: file removed before we read it; left out`)
    if (result.removed.length > 0) this.exit(1)
  }
}

function throttledProgress(): (done: number, total: number) => void {
  let last = 0
  return (done, total) => {
    const now = Date.now()
    if (now - last < 200 && done !== total) return
    last = now
    process.stderr.write(`\rcatbox pack: ${done}/${total} entries`)
  }
}

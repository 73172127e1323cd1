import {Args, Flags} from '@oclif/core'

import {catboxHome} from '../env/home.js'
import {Store} from '../env/store.js'
import {CatboxCommand} from '../lib/command.js'
import {jsonFlag} from '../lib/flags.js'
import {makeReport, renderReport, reportJson} from '../report/report.js'

export default class Report extends CatboxCommand {
  static summary = 'Show what a run in an environment did: violations, process tree, real dependencies, a trace to look at.'
  static description = `Reads the run's record, envs/NAME/runs/RUN/report.json, and its operation log, events.jsonl, when the run was traced (catbox exec NAME --trace). RUN is a run id or the start of one (catbox env show NAME lists them); the latest run when left out. Only the run's directory is read: the report works after the environment's settings are gone.

The summary: the command, its duration and exit; violations grouped by directory; the process tree, collapsed where long, with the slowest steps (by their own time, children excluded); how many files were read and written.

--deps maps the files the build read and the programs it ran to the packages that own them (dpkg-query -S, or rpm -qf), and lists each package with a few of those files: the build's real dependencies. It needs a run traced with read (--trace=read or --trace=all).

--missing-from FILE compares them with the declared ones: FILE is a debian/control file, a Build-Depends: field, or one package a line. It shows what the build used but does not declare (counting what declared packages depend on, the Essential packages, and build-essential for a Build-Depends field), and what is declared but unused.

--trace-file OUT.json writes the process tree as a Chrome trace-event file: open it in https://ui.perfetto.dev or chrome://tracing to see where a build's time went.`

  static usage = 'report NAME [RUN] [--json] [--deps] [--missing-from FILE] [--trace-file OUT.json]'
  static examples = [
    {description: 'The latest run of an environment:', command: '<%= config.bin %> report myenv'},
    {description: 'Its real dependencies, against the package\'s declared ones:', command: '<%= config.bin %> report myenv --deps --missing-from debian/control'},
    {description: 'Where the time went, in Perfetto:', command: '<%= config.bin %> report myenv --trace-file build-trace.json'},
  ]

  static args = {
    name: Args.string({required: true, description: 'the environment'}),
    run: Args.string({description: 'a run id, or the start of one (default: the latest run)'}),
  }

  static flags = {
    deps: Flags.boolean({description: 'list the packages whose files the build read or ran'}),
    'missing-from': Flags.string({helpValue: 'FILE', description: 'compare with the dependencies FILE declares (debian/control, a Build-Depends: field, or one package a line); implies --deps'}),
    'trace-file': Flags.string({helpValue: 'OUT.json', description: 'write the process tree as a Chrome trace-event file'}),
    ...jsonFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Report)
    // No Store.open(): a report only reads, it sweeps nothing.
    const result = await makeReport({
      runsDir: new Store(catboxHome()).paths(args.name).runs,
      environment: args.name,
      run: args.run,
      deps: flags.deps,
      missingFrom: flags['missing-from'],
      traceFile: flags['trace-file'],
    })
    if (flags.json) this.printJson(reportJson(result))
    else this.log(renderReport(result, {deps: flags.deps, traceFile: flags['trace-file'] !== undefined}).join('\n'))
  }
}

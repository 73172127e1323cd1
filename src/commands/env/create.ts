import {Args, Flags} from '@oclif/core'

import {formatCreated} from '../../env/format.js'
import {Store} from '../../env/store.js'
import {CatboxCommand} from '../../lib/command.js'
import {notices} from '../../lib/errors.js'
import {bareTrace, jsonFlag, parseTraceModes, traceFlag} from '../../lib/flags.js'
import {NETWORK_MODES} from '../../run/spec.js'

export default class EnvCreate extends CatboxCommand {
  static summary = 'Create a named build environment from a template.'
  static description = `The environment starts as a copy of the template's settings (default: the "default" template); each flag given replaces the template's setting. --writable and --map replace the template's whole list (repeat them to give several); --env sets one variable over the template's.

Templates: default (the current directory, /tmp, /var/tmp, /dev/shm and ~/.cache writable; network full), strict (only /build and /tmp writable; no network; fail on violation), pisi (a package build root under /var/tmp/NAME; fake root; overlay).

Rules may hold $CWD (the directory catbox exec is run from), $NAME (the environment's name) and $HOME, expanded at each run. Quote them from your shell: --writable '$CWD/out'. A relative path is taken from the current directory now.

A name is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit. Nothing is created when any setting is invalid.

With --overlay, commands see the host's files, but what they write or delete lands in the environment's root directory instead of on the host (catbox env diff NAME lists it; catbox env reset NAME undoes it). A map shows a host directory at another path; an rw map writes through to the host.`

  static examples = [
    {description: 'A default environment for a project:', command: '<%= config.bin %> env create myproj'},
    {description: 'Only /build and /tmp writable, no network, fail on violations:', command: '<%= config.bin %> env create ci --template strict'},
    {description: 'Own rules, a variable and a working directory:', command: "<%= config.bin %> env create web --writable '$CWD' --writable '/tmp/web-*' --env NODE_ENV=production --cwd /srv/web"},
  ]

  static args = {name: Args.string({required: true, description: 'the new environment\'s name'})}
  static flags = {
    template: Flags.string({char: 't', helpValue: 'NAME', description: 'start from this template (default: default)'}),
    writable: Flags.string({char: 'w', multiple: true, multipleNonGreedy: true, helpValue: 'RULE', description: "allow writes matching RULE (prefix, glob or ~PCRE); replaces the template's rules (repeatable)"}),
    map: Flags.string({multiple: true, multipleNonGreedy: true, helpValue: 'HOST:GUEST[:ro|rw]', description: 'see the host path HOST at GUEST, read-only or read-write (default rw; repeatable)'}),
    network: Flags.option({options: NETWORK_MODES, description: 'full, loopback (IP to loopback only) or none (no IP; Unix sockets work)'})(),
    'collect-only': Flags.boolean({allowNo: true, description: 'do not deny writes, only record them as violations'}),
    'fail-on-violation': Flags.boolean({allowNo: true, description: 'exit 1 when a command succeeded but there were violations'}),
    'fake-root': Flags.boolean({allowNo: true, description: 'the build sees itself as root; chown, chmod and device nodes are recorded (see catbox pack)'}),
    overlay: Flags.boolean({allowNo: true, description: "writes land in the environment's root directory, not on the host"}),
    env: Flags.string({multiple: true, multipleNonGreedy: true, helpValue: 'KEY=VALUE', description: 'set a variable for commands run inside (repeatable)'}),
    cwd: Flags.string({helpValue: 'PATH', description: 'working directory of commands (default: where catbox exec is run)'}),
    ...traceFlag,
    ...jsonFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(EnvCreate, bareTrace(this.argv))
    const store = Store.open()
    const config = store.create({
      name: args.name,
      template: flags.template,
      overrides: {
        writable: flags.writable,
        maps: flags.map,
        network: flags.network,
        collectOnly: flags['collect-only'],
        failOnViolation: flags['fail-on-violation'],
        fakeRoot: flags['fake-root'],
        overlay: flags.overlay,
        env: flags.env,
        cwd: flags.cwd,
        trace: flags.trace === undefined ? undefined : parseTraceModes(flags.trace),
      },
    })
    const info = await store.info(config.name)
    if (flags.json) this.printJson(info)
    else this.log(formatCreated(info, notices.created(info.name, info.path)))
  }
}

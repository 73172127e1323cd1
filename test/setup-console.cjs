// @oclif/core prints through console.log; Jest's BufferedConsole would swallow it.
globalThis.console = new (require('node:console').Console)({stdout: process.stdout, stderr: process.stderr})

// Splitting a command line at "--".
//
// oclif re-sorts the argv of a non-strict command by each token's first index
// in the original argv, which reorders duplicate tokens ("-- echo -v x -v"
// comes back wrong). So commands that pass a command line through split the
// raw argv themselves: the part before "--" goes to this.parse(), the part
// after it is handed on untouched.

export interface SplitArgv {
  /** Everything before the first "--": catbox's own flags and arguments. */
  own: string[]
  /** Everything after the first "--", verbatim; null when there was no "--". */
  passThrough: string[] | null
}

export function splitArgv(argv: readonly string[]): SplitArgv {
  const at = argv.indexOf('--')
  if (at === -1) return {own: [...argv], passThrough: null}
  return {own: argv.slice(0, at), passThrough: argv.slice(at + 1)}
}

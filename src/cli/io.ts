// What a command body needs of its command: two ways to print a line. An
// oclif Command has both; the quick path (quick.ts) writes to the streams.
export interface Io {
  log(line: string): void
  logToStderr(line: string): void
}

export const processIo: Io = {
  log: (line) => process.stdout.write(`${line}\n`),
  logToStderr: (line) => process.stderr.write(`${line}\n`),
}

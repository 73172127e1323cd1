// Tracing every file a build opens must not cost memory per file: events
// stream to the log on disk. Measured, not timed: the supervisor's peak RSS
// (the Node process that runs it, in a child) for a program opening 100 000
// distinct files, against the same program opening 10 000.
import {execFileSync} from 'node:child_process'
import {createReadStream, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-tracemem-')))
afterAll(() => rmSync(T, {recursive: true, force: true}))

// Long names, so that anything kept per file would show: 90 000 more paths of
// ~200 bytes are 17 MiB as bare strings, more in any container.
const OPEN_MANY = `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* open_many DIR N create|read: create or open for reading DIR/<160 x>-0 .. -(N-1) */
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  long n = atol(argv[2]);
  int create = strcmp(argv[3], "create") == 0;
  char pad[161], path[4096];
  memset(pad, 'x', 160);
  pad[160] = 0;
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s-%ld", argv[1], pad, i);
    int fd = create ? open(path, O_CREAT | O_WRONLY, 0644) : open(path, O_RDONLY);
    if (fd < 0) { perror(path); return 1; }
    close(fd);
  }
  return 0;
}
`

// The child: run open_many under catbox with --trace=all semantics, report its own peak RSS.
const CHILD = `
import {run} from ${JSON.stringify(join(root, 'dist', 'index.js'))}
const [program, dir, n, log] = process.argv.slice(1)
const result = await run({
  command: [program, dir, n, 'read'],
  writable: [dir],
  trace: ['exec', 'read', 'write'],
  eventLog: log,
})
console.log(JSON.stringify({exitCode: result.exitCode, maxRssKiB: process.resourceUsage().maxRSS, logLines: result.stats.logLines}))
`

const MANY = 100_000
const FEW = 10_000
/**
 * Allowed growth of the peak RSS from FEW to MANY files. What is bounded by
 * design: the log's 64 KiB write buffer and the per-process set of at most
 * 4096 remembered paths (~1 MiB with these names), both reached by FEW
 * already. Run-to-run noise of a Node process's peak RSS is well under 1 MiB
 * here. Keeping the extra 90 000 paths in memory, in the supervisor or as
 * events handed to JavaScript, would add 17 MiB or more.
 */
const BOUND_KIB = 4 * 1024

let program: string
let dir: string

beforeAll(() => {
  writeFileSync(join(T, 'open_many.c'), OPEN_MANY)
  program = join(T, 'open_many')
  execFileSync('cc', ['-O2', '-o', program, join(T, 'open_many.c')])
  dir = join(T, 'files')
  mkdirSync(dir)
  execFileSync(program, [dir, String(MANY), 'create'])
}, 120_000)

function traced(n: number): {exitCode: number; maxRssKiB: number; logLines: number; log: string} {
  const log = join(T, `events-${n}.jsonl`)
  const out = execFileSync('node', ['--input-type=module', '-e', CHILD, program, dir, String(n), log], {encoding: 'utf8'})
  return {...JSON.parse(out.trim().split('\n').at(-1) as string), log}
}

async function countReads(log: string): Promise<number> {
  let reads = 0
  for await (const line of createInterface({input: createReadStream(log), crlfDelay: Infinity})) {
    if (line.includes('"t":"read"') && line.includes('/xxxxxxxx')) reads++
  }
  return reads
}

test(`opening ${MANY} distinct files under full tracing keeps the supervisor's memory flat`, async () => {
  const few = traced(FEW)
  const many = traced(MANY)
  expect(few.exitCode).toBe(0)
  expect(many.exitCode).toBe(0)
  // Every open was recorded: the log has them all, on disk.
  expect(await countReads(few.log)).toBe(FEW)
  expect(await countReads(many.log)).toBe(MANY)
  expect(many.logLines).toBeGreaterThan(MANY)
  const growth = many.maxRssKiB - few.maxRssKiB
  process.stderr.write(`trace memory: peak RSS ${few.maxRssKiB} KiB for ${FEW} files, ${many.maxRssKiB} KiB for ${MANY} (growth ${growth} KiB, bound ${BOUND_KIB})\n`)
  expect(growth).toBeLessThan(BOUND_KIB)
}, 180_000)

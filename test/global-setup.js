// Tests that drive the real CLI run dist/, so dist/, oclif.manifest.json and
// the man page made from it must match src/. Rebuild them (npm run build) when
// any source is newer than the manifest or the page, which the build writes last.
import {execFileSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function mtime(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return 0
  }
}

function newest(dir) {
  let latest = mtime(dir)
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : mtime(path))
  }
  return latest
}

export default function buildDist() {
  const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'scripts')), mtime(join(root, 'package.json')), mtime(join(root, 'tsconfig.json')))
  if (Math.min(mtime(join(root, 'oclif.manifest.json')), mtime(join(root, 'man', 'catbox.1'))) >= sources) return
  execFileSync('npm', ['run', '--silent', 'build'], {cwd: root, stdio: ['ignore', 'ignore', 'inherit']})
}

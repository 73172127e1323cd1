// "Did you mean": the known name nearest to a mistyped one.

/**
 * Edit distance counting an insertion, a deletion, a substitution or a swap of
 * two neighbours as one edit each ("exce" is one edit from "exec").
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/**
 * The known name nearest to a mistyped one, or null when none is near: at
 * most a third of its length in edits (one edit for a short name), compared
 * without case. Failing that, the one name it begins (for "sh", "shell"),
 * if it begins only one.
 */
export function closestName(name: string, names: Iterable<string>): string | null {
  const typed = name.toLowerCase()
  const known = [...new Set(names)]
  let best: string | null = null
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1
  for (const candidate of known) {
    const d = editDistance(typed, candidate.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  if (best !== null || typed.length < 2) return best
  const begun = known.filter((candidate) => candidate.toLowerCase().startsWith(typed))
  return begun.length === 1 ? begun[0] : null
}

/// A unified diff of two texts, line by line, as `diff -u` prints it (without the file
/// header): what a dry run shows for a generated file that the schema has changed.
public enum LineDiff {
    /// Hunks with `context` unchanged lines around each change; empty when the texts are equal.
    public static func unified(from old: String, to new: String, context: Int = 3) -> String {
        let a = lines(old), b = lines(new)
        // Common prefix and suffix first: a regenerated file usually changes in a few places,
        // and the quadratic table below then covers only the middle.
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])

        // Longest common subsequence of the middles, then a walk that lists every line as kept,
        // removed or added.
        let n = middleA.count, m = middleB.count
        var table = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        if n > 0 && m > 0 {
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    table[i][j] = middleA[i] == middleB[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
                }
            }
        }
        var edits: [(Character, String)] = a[..<prefix].map { (" ", $0) }
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, middleA[i] == middleB[j] {
                edits.append((" ", middleA[i])); i += 1; j += 1
            } else if j < m, i == n || table[i][j + 1] >= table[i + 1][j] {
                edits.append(("+", middleB[j])); j += 1
            } else {
                edits.append(("-", middleA[i])); i += 1
            }
        }
        edits += a[(a.count - suffix)...].map { (" ", $0) }

        // Group changes closer than 2 * context into hunks.
        let changed = edits.indices.filter { edits[$0].0 != " " }
        guard !changed.isEmpty else { return "" }
        var hunks: [ClosedRange<Int>] = []
        for index in changed {
            let range = max(0, index - context)...min(edits.count - 1, index + context)
            if let last = hunks.last, range.lowerBound <= last.upperBound + 1 {
                hunks[hunks.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                hunks.append(range)
            }
        }
        var out: [String] = []
        for hunk in hunks {
            let before = edits[..<hunk.lowerBound]
            let oldStart = before.filter { $0.0 != "+" }.count + 1
            let newStart = before.filter { $0.0 != "-" }.count + 1
            let body = edits[hunk]
            let oldCount = body.filter { $0.0 != "+" }.count
            let newCount = body.filter { $0.0 != "-" }.count
            out.append("@@ -\(oldCount == 0 ? oldStart - 1 : oldStart),\(oldCount) +\(newCount == 0 ? newStart - 1 : newStart),\(newCount) @@")
            out += body.map { "\($0.0)\($0.1)" }
        }
        return out.joined(separator: "\n")
    }

    private static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// A small line-based unified diff for `push --dry-run`.
public enum UnifiedDiff {
    /// `diff -u`-style text between two byte contents, or "" when equal.
    public static func render(old: [UInt8], new: [UInt8], path: String, context: Int = 2) -> String {
        guard old != new else { return "" }
        let a = lines(old), b = lines(new)
        let ops = editScript(a, b)
        var out = "--- \(path)\n+++ \(path) (keysync)\n"
        var index = 0
        while index < ops.count {
            guard ops[index].kind != .same else { index += 1; continue }
            let start = max(0, index - context)
            var end = index
            var lastChange = index
            while end < ops.count && (ops[end].kind != .same || end - lastChange <= context * 2) {
                if ops[end].kind != .same { lastChange = end }
                end += 1
            }
            end = min(ops.count, lastChange + context + 1)
            let hunk = ops[start..<end]
            let oldCount = hunk.filter { $0.kind != .insert }.count
            let newCount = hunk.filter { $0.kind != .delete }.count
            // An empty range names the line before it (`-0,0` for an empty file), like diff -u.
            let oldStart = (hunk.first?.oldLine ?? 0) + (oldCount == 0 ? 0 : 1)
            let newStart = (hunk.first?.newLine ?? 0) + (newCount == 0 ? 0 : 1)
            out += "@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@\n"
            for op in hunk {
                let prefix = op.kind == .same ? " " : op.kind == .delete ? "-" : "+"
                out += prefix + op.text + "\n"
            }
            index = end
        }
        return out
    }

    enum Kind { case same, delete, insert }
    struct Op { var kind: Kind; var text: String; var oldLine: Int; var newLine: Int }

    private static func lines(_ bytes: [UInt8]) -> [String] {
        guard !bytes.isEmpty else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
            .dropLast(bytes.last == UInt8(ascii: "\n") ? 1 : 0)
    }

    /// LCS edit script; authorized_keys files are small, so O(n·m) is fine,
    /// with a plain replace for very large inputs.
    private static func editScript(_ a: [String], _ b: [String]) -> [Op] {
        guard a.count * b.count <= 4_000_000 else {
            return a.enumerated().map { Op(kind: .delete, text: $1, oldLine: $0, newLine: 0) }
                + b.enumerated().map { Op(kind: .insert, text: $1, oldLine: a.count, newLine: $0) }
        }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                ops.append(Op(kind: .same, text: a[i], oldLine: i, newLine: j)); i += 1; j += 1
            } else if i < a.count, j == b.count || table[i + 1][j] >= table[i][j + 1] {
                ops.append(Op(kind: .delete, text: a[i], oldLine: i, newLine: j)); i += 1
            } else {
                ops.append(Op(kind: .insert, text: b[j], oldLine: i, newLine: j)); j += 1
            }
        }
        return ops
    }
}

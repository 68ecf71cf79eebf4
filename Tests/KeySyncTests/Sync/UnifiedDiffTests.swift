import Foundation
import Testing
@testable import KeySync

@Suite struct UnifiedDiffTests {
    func render(_ old: String, _ new: String, context: Int = 2) -> String {
        UnifiedDiff.render(old: Array(old.utf8), new: Array(new.utf8), path: "ak", context: context)
    }

    @Test func equalContentGivesNothing() {
        #expect(render("", "") == "")
        #expect(render("a\nb\n", "a\nb\n") == "")
    }

    @Test func newAndEmptiedFilesUseZeroLineRanges() {
        #expect(render("", "a\nb\n") == "--- ak\n+++ ak (keysync)\n@@ -0,0 +1,2 @@\n+a\n+b\n")
        #expect(render("a\nb\n", "") == "--- ak\n+++ ak (keysync)\n@@ -1,2 +0,0 @@\n-a\n-b\n")
    }

    @Test func insertionIntoTheMiddle() {
        #expect(render("a\nb\nc\nd\n", "a\nb\nX\nc\nd\n") == """
        --- ak
        +++ ak (keysync)
        @@ -1,4 +1,5 @@
         a
         b
        +X
         c
         d

        """)
    }

    @Test func deletionAtTheEnd() {
        #expect(render("a\nb\nc\nd\n", "a\nb\nc\n") == """
        --- ak
        +++ ak (keysync)
        @@ -2,3 +2,2 @@
         b
         c
        -d

        """)
    }

    @Test func replacement() {
        #expect(render("a\nold\nz\n", "a\nnew\nz\n") == """
        --- ak
        +++ ak (keysync)
        @@ -1,3 +1,3 @@
         a
        -old
        +new
         z

        """)
    }

    @Test func distantChangesMakeTwoHunks() {
        let old = (1...20).map { "l\($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "l3\n", with: "L3\n").replacingOccurrences(of: "l17\n", with: "")
        #expect(render(old, new) == """
        --- ak
        +++ ak (keysync)
        @@ -1,5 +1,5 @@
         l1
         l2
        -l3
        +L3
         l4
         l5
        @@ -15,5 +15,4 @@
         l15
         l16
        -l17
         l18
         l19

        """)
    }

    @Test func nearbyChangesShareAHunk() {
        let old = (1...10).map { "l\($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "l3\n", with: "").replacingOccurrences(of: "l7\n", with: "")
        let diff = render(old, new)
        #expect(diff.components(separatedBy: "\n@@ ").count == 2)  // one hunk
        #expect(diff.contains("@@ -1,9 +1,7 @@\n"))
    }

    /// `patch` applies every diff and gives the new content (files ending with a newline).
    @Test func patchReproducesTheNewContent() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var seed: UInt64 = 42
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        for round in 0..<60 {
            let old = (0..<next(12)).map { _ in "k\(next(5))" }
            var new = old
            for _ in 0..<next(5) {
                switch next(3) {
                case 0: new.insert("n\(next(9))", at: next(new.count + 1))
                case 1: if !new.isEmpty { new.remove(at: next(new.count)) }
                default: if !new.isEmpty { new[next(new.count)] = "r\(next(9))" }
                }
            }
            let oldText = old.map { $0 + "\n" }.joined(), newText = new.map { $0 + "\n" }.joined()
            let diff = render(oldText, newText, context: next(4))
            if oldText == newText { #expect(diff == ""); continue }
            try Data(oldText.utf8).write(to: folder.file("old"))
            try Data(diff.utf8).write(to: folder.file("diff"))
            try? FileManager.default.removeItem(at: folder.file("out"))
            let result = try LocalShell.run("patch -s -o out old < diff\n", directory: folder.url)
            let patched = (try? String(contentsOf: folder.file("out"), encoding: .utf8)) ?? "<no output>"
            #expect(result.status == 0 && patched == newText,
                    "round \(round): \(result.stderr)\nold:\n\(oldText)\nnew:\n\(newText)\ndiff:\n\(diff)")
        }
    }
}

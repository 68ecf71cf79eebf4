import Foundation
import Testing
@testable import KeySync

/// A database another user could read, write or swap is refused before
/// anything is opened or created, with the file named and the fixing command.
@Suite struct StoreFileSafetyTests {
    /// Mode, size, modification time and content of `path` (nil when missing), to prove nothing changed.
    static func state(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let content = FileManager.default.contents(atPath: path).map { SHA256Digest.hex($0) } ?? "-"
        return "\(String(info.st_mode, radix: 8)) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(content)"
    }

    /// A real database at `dir/keysync.db`, closed, with no -wal or -shm left.
    static func makeDatabase(_ dir: String) throws -> String {
        let path = "\(dir)/keysync.db"
        _ = try Store(path: path).beginRun(command: "check")
        for suffix in ["-wal", "-shm"] { unlink(path + suffix) }
        return path
    }

    func expectRefused(_ path: String, naming file: String, _ problem: String, fix: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: StoreError.self, sourceLocation: sourceLocation) { try Store(path: path) }
        guard case .unsafeFile(let named, let said, let fixing) = error else {
            Issue.record("expected unsafeFile, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(named == file, sourceLocation: sourceLocation)
        #expect(said.contains(problem), "\(said)", sourceLocation: sourceLocation)
        #expect(fixing.contains(fix), "\(fixing)", sourceLocation: sourceLocation)
        #expect(error?.description.hasPrefix("\(file): refusing to use the keysync database: ") == true, sourceLocation: sourceLocation)
    }

    @Test func aSymlinkIsRefusedAndNothingIsCreatedWhereItPoints() throws {
        try withTemporaryDirectory { dir in
            // A dangling link: opening it would create the file it names.
            let link = "\(dir)/keysync.db", target = "\(dir)/elsewhere.db"
            #expect(symlink(target, link) == 0)
            expectRefused(link, naming: link, "it is a symbolic link (to \(target))", fix: "--db")
            #expect(Self.state(target) == nil && Self.state(target + "-wal") == nil && Self.state(link + "-wal") == nil)
            // A link to a real database: refused the same, the database unchanged.
            unlink(link)
            let real = try Self.makeDatabase(dir)
            let before = Self.state(real)
            let other = "\(dir)/other.db"
            #expect(symlink(real, other) == 0)
            expectRefused(other, naming: other, "symbolic link", fix: "--db")
            #expect(Self.state(real) == before && Self.state(real + "-wal") == nil && Self.state(other + "-wal") == nil)
        }
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o606])
    func aFileOthersCanReadOrWriteIsRefused(_ mode: Int) throws {
        try withTemporaryDirectory { dir in
            let path = try Self.makeDatabase(dir)
            #expect(chmod(path, mode_t(mode)) == 0)
            let before = Self.state(path)
            let who = mode & 0o022 != 0 ? "readable or writable" : "readable"
            expectRefused(path, naming: path, "it is \(who) by group or others (mode 0\(String(mode, radix: 8)))", fix: "chmod 600 \(path)")
            #expect(Self.state(path) == before, "the database was touched")
            #expect(Self.state(path + "-wal") == nil && Self.state(path + "-shm") == nil, "the database was opened")
            #expect(chmod(path, 0o600) == 0)
            #expect(try Store(path: path).runs(limit: 5).count == 1, "after chmod 600 it opens")
        }
    }

    @Test(arguments: ["-wal", "-shm"])
    func aWALOrSHMFileOthersCanReadOrALinkIsRefused(_ suffix: String) throws {
        try withTemporaryDirectory { dir in
            let path = try Self.makeDatabase(dir)
            let companion = path + suffix
            #expect(FileManager.default.createFile(atPath: companion, contents: Data(), attributes: [.posixPermissions: 0o644]))
            expectRefused(path, naming: companion, "mode 0644", fix: "chmod 600 \(companion)")
            // A link in its place (to a file keysync must never write).
            unlink(companion)
            let victim = "\(dir)/victim"
            #expect(FileManager.default.createFile(atPath: victim, contents: Data("precious".utf8)))
            #expect(symlink(victim, companion) == 0)
            expectRefused(path, naming: companion, "symbolic link (to \(victim))", fix: "rm \(companion)")
            #expect(FileManager.default.contents(atPath: victim) == Data("precious".utf8))
        }
    }

    /// Ownership is checked against the user running keysync; a test cannot
    /// own a file as someone else without root, so it names another owner.
    @Test func aFileOwnedBySomeoneElseIsRefused() throws {
        try withTemporaryDirectory { dir in
            let path = try Self.makeDatabase(dir)
            let stranger: uid_t = 3_999_999_001  // no such user: shown as a number
            let error = #expect(throws: StoreError.self) { try Store.checkFileSafety(path, owner: stranger) }
            guard case .unsafeFile(let named, let problem, let fix) = error else {
                Issue.record("expected unsafeFile, got \(String(describing: error))")
                return
            }
            #expect(named == path)
            #expect(problem.contains("it is owned by") && problem.contains("uid \(geteuid())")
                    && problem.hasSuffix("not by uid 3999999001, who runs keysync"), "\(problem)")
            #expect(fix == "run keysync as its owner, or if the file is yours: chown 3999999001 \(path)", "\(fix)")
            #expect(throws: Never.self) { try Store.checkFileSafety(path) }
        }
    }

    @Test func aWorldWritableFolderNeedsTheStickyBit() throws {
        try withTemporaryDirectory { dir in
            let folder = "\(dir)/shared"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            #expect(chmod(folder, 0o777) == 0)
            expectRefused("\(folder)/keysync.db", naming: folder, "this folder is writable by every user and has no sticky bit (mode 0777)",
                          fix: "chmod o-w \(folder)")
            #expect(Self.state("\(folder)/keysync.db") == nil, "the database was created")
            #expect(chmod(folder, 0o1777) == 0)  // like /tmp
            _ = try Store(path: "\(folder)/keysync.db")
            #expect(chmod(folder, 0o775) == 0)   // group-writable: the operators' choice
            _ = try Store(path: "\(folder)/keysync.db")
        }
    }

    @Test func aSymlinkedFolderIsFine() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: "\(dir)/real", withIntermediateDirectories: false)
            #expect(symlink("\(dir)/real", "\(dir)/linked") == 0)
            _ = try Store(path: "\(dir)/linked/keysync.db").beginRun(command: "check")
            #expect(Self.state("\(dir)/real/keysync.db") != nil)
        }
    }

    /// A new database and the `-wal` and `-shm` files SQLite adds are 0600
    /// (SQLite gives them the database file's mode). The umask is process-wide,
    /// so it is left as it is: tests run side by side.
    @Test func newFilesAre0600() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/keysync.db"
            let store = try Store(path: path)
            _ = try store.beginRun(command: "push")
            for file in [path, path + "-wal", path + "-shm"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: file)
                #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600, "\(file)")
            }
        }
    }
}

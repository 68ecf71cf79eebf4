import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Store {
    /// Checks, before anything is opened or created, that the database at
    /// `path` is private to `owner` (the user running keysync).
    ///
    /// The file holds `authorized_keys` snapshots (which a restore writes
    /// back to hosts as root), host keys and run history: whoever can write it
    /// can plant keys, whoever can read it learns every account's keys. So
    /// the file and its `-wal` and `-shm` companions, where they exist, must be
    /// regular files (not symbolic links, which would also make keysync
    /// create or write wherever they point), owned by `owner`, with no
    /// permission for group or others. Its folder must not be writable by
    /// everyone without the sticky bit, or any user could swap the file (or
    /// plant a `-wal` link) between this check and SQLite's open. A folder in
    /// the path may itself be a symbolic link (`/var/lib/keysync` → elsewhere);
    /// a group-writable folder is the operators' own choice and allowed.
    ///
    /// - Throws: ``StoreError/unsafeFile(path:problem:fix:)`` naming the file and the command that fixes it.
    static func checkFileSafety(_ path: String, owner: uid_t = geteuid()) throws(StoreError) {
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        var info = stat()
        if stat(folder, &info) == 0, info.st_mode & S_IWOTH != 0, info.st_mode & S_ISVTX == 0 {
            throw .unsafeFile(path: folder, problem: "this folder is writable by every user and has no sticky bit (mode \(modeText(info.st_mode))), so anyone could replace the database or plant a link beside it",
                              fix: "chmod o-w \(quotedPath(folder)) (or chmod +t), or keep the database in a private folder (--db or KEYSYNC_DB)")
        }
        for file in [path, path + "-wal", path + "-shm"] {
            guard lstat(file, &info) == 0 else { continue }  // missing: SQLite creates it with the file's mode
            let quoted = quotedPath(file)
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: file)) ?? "?"
                throw .unsafeFile(path: file, problem: "it is a symbolic link (to \(target.terminalSafe())); keysync opens only a regular file it owns",
                                  fix: file == path ? "name the file itself with --db (or KEYSYNC_DB), or replace the link by the file"
                                                    : "remove the link (rm \(quoted)) while no keysync runs")
            case S_IFREG: break
            default:
                throw .unsafeFile(path: file, problem: "it is not a regular file", fix: "choose another path with --db or KEYSYNC_DB")
            }
            if info.st_uid != owner {
                throw .unsafeFile(path: file, problem: "it is owned by \(userName(info.st_uid)), not by \(userName(owner)), who runs keysync",
                                  fix: "run keysync as its owner, or if the file is yours: chown \(bareUserName(owner)) \(quoted)")
            }
            if info.st_mode & 0o077 != 0 {
                let who = info.st_mode & 0o022 != 0 ? "readable or writable" : "readable"
                throw .unsafeFile(path: file, problem: "it is \(who) by group or others (mode \(modeText(info.st_mode))); it holds authorized_keys snapshots",
                                  fix: "chmod 600 \(quoted)")
            }
        }
    }

    /// `0644`.
    private static func modeText(_ mode: mode_t) -> String {
        let bits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - bits.count)) + bits
    }

    /// `alice (uid 1000)`, or `uid 1000` when the user is unknown.
    private static func userName(_ uid: uid_t) -> String {
        let name = bareUserName(uid)
        return name == String(uid) ? "uid \(uid)" : "\(name) (uid \(uid))"
    }

    /// `alice`, or `1000` when the user is unknown: what `chown` takes.
    private static func bareUserName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return String(uid) }
        return String(cString: name)
    }

    /// The path as a shell word, for the fix command.
    private static func quotedPath(_ path: String) -> String {
        let plain = path.utf8.allSatisfy { b in
            (0x30...0x39).contains(b) || (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) || "/._-+,:@%".utf8.contains(b)
        }
        return plain && !path.isEmpty ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''").terminalSafe() + "'"
    }
}

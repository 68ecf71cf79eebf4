import Foundation

/// Writes a file so that readers (a node_exporter textfile collector, a web
/// server) see either the old or the complete new content, never a part.
public enum AtomicFile {
    /// Why the file could not be written; the message names the path.
    public struct WriteError: Error, Equatable, CustomStringConvertible {
        /// The file that was to be written.
        public var path: String
        /// What the system said (`strerror`).
        public var reason: String
        /// `path: cannot write: reason`.
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// Writes `bytes` to a temporary file in `path`'s folder (a dot file, so
    /// collectors that match `*.prom` skip it), sets `mode`, fsyncs, renames
    /// it over `path` and fsyncs the folder. On failure the temporary file is
    /// removed and `path` is untouched.
    ///
    /// `replacing` false: the file must not exist; it is linked into place
    /// (`link` fails if the name appeared meanwhile, so nothing is ever
    /// overwritten, unlike a check and then a rename).
    ///
    /// `owner` (uid, gid): given to the new file first (a file shared through
    /// its group keeps its owner and group); a change the process may not
    /// make is an error, nothing replaced.
    public static func write(_ bytes: some Collection<UInt8>, to path: String, mode: UInt16, replacing: Bool = true,
                             owner: (uid: uid_t, gid: gid_t)? = nil) throws(WriteError) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var template = Array("\(folder)/.\(url.lastPathComponent).XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw failure(path) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var written = false
        defer { if !written { unlink(temporary) } }
        do {
            defer { close(fd) }
            if let owner, owner.uid != geteuid() || owner.gid != getegid() {
                guard fchown(fd, owner.uid, owner.gid) == 0 else { throw failure(path) }
            }
            guard fchmod(fd, mode_t(mode)) == 0 else { throw failure(path) }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
            do {
                try handle.write(contentsOf: Data(bytes))
                try handle.synchronize()
            } catch {
                throw WriteError(path: path, reason: error.localizedDescription)
            }
        }
        if replacing {
            guard rename(temporary, path) == 0 else { throw failure(path) }
        } else {
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw WriteError(path: path, reason: "it exists; never overwritten") }
                throw failure(path)
            }
            unlink(temporary)
        }
        written = true
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }

    private static func failure(_ path: String) -> WriteError {
        WriteError(path: path, reason: String(cString: strerror(errno)))
    }
}

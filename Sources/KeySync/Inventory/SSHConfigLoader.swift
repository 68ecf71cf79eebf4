import Foundation

/// Reads an ssh_config file and the files its `Include` lines name
/// (relative to `~/.ssh`, globs allowed, as OpenSSH does); the parsing is
/// ``SSHConfig/parse(_:file:)``'s.
public enum SSHConfigLoader {
    /// OpenSSH's limit on nested Includes.
    static let maxDepth = 16

    /// The parsed file at `path` (absolute) with its Includes read.
    public static func load(path: String, homeDirectory home: String) throws(SSHConfig.ParseError) -> SSHConfig {
        try load(path: path, home: home, depth: 0, at: nil)
    }

    private static func load(path: String, home: String, depth: Int, at origin: (file: String, line: Int)?) throws(SSHConfig.ParseError) -> SSHConfig {
        let text: String
        switch FileReader.contents(of: path, regularFileAtMost: 1 << 20) {
        case .success(let bytes):
            guard let decoded = String(validating: bytes, as: UTF8.self) else {
                throw .init(file: origin?.file ?? path, line: origin?.line ?? 0, message: "\(path) is not UTF-8 text")
            }
            text = decoded
        case .failure(let failure):
            throw .init(file: origin?.file ?? path, line: origin?.line ?? 0,
                        message: failure.isMissing ? "ssh_config file \(path) not found" : "cannot read ssh_config file \(path): \(failure.reason)")
        }
        // As ssh (readconf.c): a file another user may write can redirect
        // HostName, IdentityFile or UserKnownHostsFile, so it is refused.
        var info = stat()
        if stat(path, &info) == 0, (info.st_uid != 0 && info.st_uid != geteuid()) || info.st_mode & 0o022 != 0 {
            throw .init(file: origin?.file ?? path, line: origin?.line ?? 0,
                        message: "ssh_config file \(path): bad owner or permissions (owner uid \(info.st_uid), mode \(String(info.st_mode & 0o7777, radix: 8))); "
                            + "as ssh, keysync reads it only when owned by you or root and writable by nobody else")
        }
        var config = try SSHConfig.parse(text, file: path)
        for index in config.lines.indices {
            guard case .include(let patterns, _) = config.lines[index].line else { continue }
            let here = (config.lines[index].file, config.lines[index].number)
            guard depth < maxDepth else { throw .init(file: here.0, line: here.1, message: "Include nested more than \(maxDepth) deep") }
            var files: [SSHConfig] = []
            for pattern in patterns {
                let expanded = pattern == "~" || pattern.hasPrefix("~/") ? home + pattern.dropFirst()
                    : pattern.hasPrefix("/") ? pattern : home + "/.ssh/" + pattern
                // A pattern that names nothing is fine, as for OpenSSH.
                for match in glob(expanded) {
                    files.append(try load(path: match, home: home, depth: depth + 1, at: here))
                }
            }
            config.lines[index].line = .include(patterns: patterns, files: files)
        }
        return config
    }

    /// The paths matching `pattern`, sorted (glob(3) sorts them).
    static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Foundation.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
    }
}

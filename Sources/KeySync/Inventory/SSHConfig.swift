/// An OpenSSH client configuration file (`ssh_config(5)`) as keysync reads
/// it: parsed without I/O (``SSHConfigLoader`` reads the files and their
/// `Include`s), evaluated per host the way `ssh` does (first value wins).
public struct SSHConfig: Hashable, Sendable {
    /// One line that matters, in file order.
    public enum Line: Hashable, Sendable {
        /// `Host p1 p2 …` (patterns with `*`, `?`, `!`).
        case host([String])
        /// `Match all` or `Match host p1,p2` (nil: other criteria, which keysync does not evaluate).
        case match(hostPatterns: [String]?, all: Bool)
        /// `Keyword args…` (keyword lowercased).
        case directive(keyword: String, arguments: [String])
        /// `Include` patterns as written (the parser does no I/O), or the files
        /// they named once ``SSHConfigLoader`` has read them.
        case include(patterns: [String], files: [SSHConfig])
    }

    /// A line and where it is.
    public struct Located: Hashable, Sendable {
        public var line: Line
        public var file: String
        public var number: Int
    }

    /// Why a file could not be read as ssh_config; located.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): error: \(message)" }
    }

    public var file: String
    public var lines: [Located]

    /// The keywords keysync follows.
    public static let followed: Set<String> = ["hostname", "user", "port", "identityfile", "proxyjump", "proxycommand",
                                               "userknownhostsfile", "connecttimeout"]
    /// Keywords that set one thing in OpenSSH: the first line of either wins.
    static let sameSetting: [String: String] = ["proxycommand": "proxyjump", "proxyjump": "proxycommand"]
    /// Keywords that change nothing keysync does (output, terminal, forwarding
    /// that keysync never asks for), so listing them would only be noise.
    static let harmless: Set<String> = ["host", "match", "include", "serveraliveinterval", "serveralivecountmax", "compression",
                                        "forwardx11", "forwardx11trusted", "requesttty", "loglevel", "visualhostkey", "sendenv", "setenv",
                                        "hashknownhosts", "addkeystoagent", "usekeychain", "identitiesonly", "tcpkeepalive", "escapechar"]

    /// Parses `text`; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ParseError) -> SSHConfig {
        var lines: [Located] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var body = Substring(raw)
            if body.last == "\r" { body = body.dropLast() }
            guard let (keyword, arguments) = directive(try words(of: body, file: file, line: number)) else { continue }
            let lower = keyword.lowercased()
            func fail(_ message: String) -> ParseError { ParseError(file: file, line: number, message: message) }
            let line: Line
            switch lower {
            case "host":
                guard !arguments.isEmpty else { throw fail("Host needs at least one pattern") }
                line = .host(arguments)
            case "match":
                guard let criterion = arguments.first?.lowercased() else { throw fail("Match needs a criterion") }
                if criterion == "all", arguments.count == 1 {
                    line = .match(hostPatterns: nil, all: true)
                } else if criterion == "host", arguments.count == 2 {
                    line = .match(hostPatterns: arguments[1].split(separator: ",").map(String.init), all: false)
                } else {
                    line = .match(hostPatterns: nil, all: false)
                }
            case "include":
                guard !arguments.isEmpty else { throw fail("Include needs a file") }
                line = .include(patterns: arguments, files: [])
            default:
                guard !arguments.isEmpty else { throw fail("\(keyword) has no value") }
                line = .directive(keyword: lower, arguments: arguments)
            }
            lines.append(Located(line: line, file: file, number: number))
        }
        return SSHConfig(file: file, lines: lines)
    }

    /// A line's keyword and arguments from its words (nil: an empty line).
    /// `Keyword=value`: the first word may carry the value after '='; a
    /// lone `=` or a leading one on the first argument is dropped too.
    /// sshd_config is split the same way (``SSHDDropIn``).
    static func directive(_ words: [String]) -> (keyword: String, arguments: [String])? {
        guard var keyword = words.first else { return nil }
        var arguments = Array(words.dropFirst())
        if let equals = keyword.firstIndex(of: "=") {
            let value = String(keyword[keyword.index(after: equals)...])
            keyword = String(keyword[..<equals])
            if !value.isEmpty { arguments.insert(value, at: 0) }
        } else if arguments.first == "=" {
            arguments.removeFirst()
        } else if let first = arguments.first, first.hasPrefix("=") {
            arguments[0] = String(first.dropFirst())
        }
        return (keyword, arguments)
    }

    /// The words of a line as OpenSSH splits them: whitespace separates,
    /// double quotes group, `#` at the start of a word starts a comment.
    static func words(of line: Substring, file: String, line number: Int) throws(ParseError) -> [String] {
        var words: [String] = [], current = "", inWord = false, quoted = false
        for character in line {
            if quoted {
                if character == "\"" { quoted = false } else { current.append(character) }
            } else if character == "\"" {
                quoted = true
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else if character == "#" && !inWord {
                break
            } else {
                current.append(character)
                inWord = true
            }
        }
        if quoted { throw ParseError(file: file, line: number, message: "unclosed quote") }
        if inWord { words.append(current) }
        return words
    }

    // MARK: Evaluation

    /// The first value of each followed keyword for one host, where it came from,
    /// and what applied to the host that keysync does not follow.
    public struct Resolved: Hashable, Sendable {
        /// A keyword's first applying line: its arguments and where it is.
        struct Value: Hashable, Sendable { var arguments: [String]; var file: String; var line: Int }
        /// Keyword (lowercased) → its first applying line.
        var storage: [String: Value] = [:]
        /// Lines that applied to the host but that keysync does not follow
        /// (directives, and `Match` blocks with other criteria).
        public var notFollowed: [Located] = []

        /// The first applying line of `keyword` (lowercased), if any.
        public func first(_ keyword: String) -> (arguments: [String], file: String, line: Int)? {
            storage[keyword].map { ($0.arguments, $0.file, $0.line) }
        }
    }

    /// Evaluates the file for host `name` (the inventory host's name, what
    /// one would type after `ssh`): every `Host` line whose patterns match
    /// it, and `Match host` against the HostName found so far (else the
    /// name), as OpenSSH does; the first value of each keyword wins.
    public func resolve(_ name: String) -> Resolved {
        var resolved = Resolved()
        Self.evaluate(lines, name: name, active: true, into: &resolved)
        return resolved
    }

    private static func evaluate(_ lines: [Located], name: String, active start: Bool, into resolved: inout Resolved) {
        var active = start
        for located in lines {
            switch located.line {
            case .host(let patterns):
                active = matches(name, patterns)
            case .match(let patterns?, _):
                let current = resolved.storage["hostname"]?.arguments.first ?? name
                active = matches(current, patterns, caseSensitive: false)
            case .match(nil, let all):
                active = all
                if !all { resolved.notFollowed.append(located) }
            case .include(_, let files):
                guard active else { continue }
                // An included file starts in the including block's state and
                // its own Host lines end with it (as in OpenSSH).
                for file in files { evaluate(file.lines, name: name, active: true, into: &resolved) }
            case .directive(let keyword, let arguments):
                guard active else { continue }
                if followed.contains(keyword) {
                    // ProxyCommand and ProxyJump are one route: a later line of the other never applies.
                    if resolved.storage[keyword] == nil, sameSetting[keyword].map({ resolved.storage[$0] == nil }) ?? true {
                        resolved.storage[keyword] = .init(arguments: arguments, file: located.file, line: located.number)
                    }
                } else if !harmless.contains(keyword) {
                    resolved.notFollowed.append(located)
                }
            }
        }
    }

    /// OpenSSH's pattern list: matches if some pattern matches and no negated
    /// one does. The name is lower-cased (ssh lower-cases the host it is
    /// given); `Host` patterns are then compared as written (`Host Web1`
    /// never applies, as in ssh), `Match host` patterns lower-cased too
    /// (`caseSensitive` false, as ssh's match_hostname).
    public static func matches(_ name: String, _ patterns: [String], caseSensitive: Bool = true) -> Bool {
        var matched = false
        let text = Array(name.lowercased().unicodeScalars)
        for pattern in patterns {
            let negated = pattern.hasPrefix("!")
            let body = negated ? String(pattern.dropFirst()) : pattern
            guard wildcard(text, Array((caseSensitive ? body : body.lowercased()).unicodeScalars)) else { continue }
            if negated { return false }
            matched = true
        }
        return matched
    }

    /// `*` any run, `?` one character (iterative, no backtracking blow-up).
    static func wildcard(_ text: [Unicode.Scalar], _ pattern: [Unicode.Scalar]) -> Bool {
        var t = 0, p = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                t += 1; p += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p; mark = t; p += 1
            } else if star >= 0 {
                p = star + 1; mark += 1; t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

import Foundation
@preconcurrency import Yams

/// `ssh_config:` in `defaults` (docs/inventory.md, "ssh_config"): what an
/// OpenSSH client configuration says about each host, between the host's
/// own values and `defaults`.
extension InventoryLoader {
    /// A host's settings from ssh_config, checked (nil: not given there or refused).
    struct SSHConfigSettings {
        var hostName: String?
        var user: String?
        var port: Int?
        var identity: String?
        var knownHosts: String?
        var connectTimeout: Double?
        /// ProxyJump: the hops, outermost first (empty for `none`).
        var jump: [String]?
        /// Where ProxyJump was (`file:line`), for errors about its hops.
        var jumpSource: String?
    }

    /// Why keysync does not follow some directives, beyond "not followed".
    static let notFollowedReasons: [String: String] = [
        "stricthostkeychecking": "keysync always checks host keys strictly (see --accept-new-host-keys)",
        "certificatefile": "keysync logs in with a key or the agent, not a certificate",
        "controlmaster": "keysync keeps its own sessions", "controlpath": "keysync keeps its own sessions",
        "controlpersist": "keysync keeps its own sessions",
        "identityagent": "keysync uses the agent at SSH_AUTH_SOCK (agent: true)",
        "globalknownhostsfile": "keysync reads only UserKnownHostsFile/known_hosts",
    ]

    /// Reads the file `ssh_config:` names (reported at `node` when it cannot).
    mutating func readSSHConfig(_ node: Node, path file: String) {
        do throws(SSHConfig.ParseError) {
            sshConfig = try SSHConfigLoader.load(path: file, homeDirectory: home)
        } catch where error.line == 0 {
            reader.error("defaults: ssh_config: \(error.message)", at: node)
        } catch {
            reader.add(Diagnostic(file: error.file, line: error.line, column: 1, message: error.message))
        }
    }

    /// What ssh_config says about host `name`; problems are reported at the
    /// ssh_config line, directives keysync does not follow once each.
    mutating func sshConfigSettings(for name: String, explicitUser: String?, explicitPort: Int?) -> SSHConfigSettings {
        guard let config = sshConfig else { return SSHConfigSettings() }
        let resolved = config.resolve(name)
        for located in resolved.notFollowed where reportedNotFollowed.insert("\(located.file):\(located.number)").inserted {
            let message: String
            switch located.line {
            case .directive(let keyword, _):
                // The keyword only: arguments can hold secrets (ProxyCommand sshpass -p …).
                message = "ssh_config: \(keyword) applies to host \"\(name)\" but keysync does not follow it"
                    + (Self.notFollowedReasons[keyword].map { ": \($0)" } ?? "")
            default:
                message = "ssh_config: Match with criteria other than host or all is not evaluated by keysync; its block is skipped for every host"
            }
            reader.add(Diagnostic(file: located.file, line: located.number, column: 1, severity: .warning, message: message))
        }
        var s = SSHConfigSettings()
        func report(_ keyword: String, _ message: String) {
            guard let at = resolved.first(keyword) else { return }
            reader.add(Diagnostic(file: at.file, line: at.line, column: 1, message: "ssh_config: host \"\(name)\": \(message)"))
        }
        s.hostName = resolved.first("hostname")?.arguments[0]
        if let value = s.hostName {
            if case .failure(let problem) = InventoryRules.canonicalAddress(value) {
                report("hostname", "HostName \"\(value)\" \(problem.reason)")
                s.hostName = nil
            } else if value.contains("%") {
                report("hostname", "HostName \"\(value)\": % tokens are not supported in HostName")
                s.hostName = nil
            }
        }
        if let value = resolved.first("user")?.arguments[0] {
            if let problem = InventoryRules.unixNameProblem(value) { report("user", "User \"\(value)\" \(problem)") } else { s.user = value }
        }
        if let value = resolved.first("port")?.arguments[0] {
            if let port = Int(value), (1...65535).contains(port) { s.port = port } else { report("port", "Port \"\(value)\" is not a number from 1 to 65535") }
        }
        if let value = resolved.first("connecttimeout")?.arguments[0] {
            if let seconds = Int(value), (1...86400).contains(seconds) { s.connectTimeout = Double(seconds) }
            else { report("connecttimeout", "ConnectTimeout \"\(value)\" is not a number of seconds from 1 to 86400") }
        }
        let tokens = ["h": s.hostName ?? name, "n": name, "p": String(explicitPort ?? s.port ?? defaults.port ?? 22),
                      "r": explicitUser ?? s.user ?? defaults.user ?? "", "u": localUser, "%": "%"]
        for (keyword, label) in [("identityfile", "IdentityFile"), ("userknownhostsfile", "UserKnownHostsFile")] {
            guard let value = resolved.first(keyword)?.arguments[0] else { continue }
            switch Self.expandPath(value, tokens: tokens, home: home) {
            case .success(let path) where keyword == "identityfile": s.identity = path
            case .success(let path): s.knownHosts = path
            case .failure(let problem): report(keyword, "\(label) \"\(value)\" \(problem.reason)")
            }
        }
        if let at = resolved.first("proxycommand") {
            // Came before any ProxyJump (they are one setting): `none` is direct,
            // a command is a route keysync cannot take (and must not replace with another).
            s.jumpSource = "\(at.file):\(at.line)"
            if at.arguments.first?.lowercased() == "none" {
                s.jump = []
            } else {
                report("proxycommand", "ProxyCommand applies, and keysync never reaches a host through a command "
                       + "(nor by another route than the one ssh would take): use ProxyJump or jump:, or `ProxyCommand none` for this host")
            }
        }
        if let at = resolved.first("proxyjump") {
            let value = at.arguments[0]
            s.jumpSource = "\(at.file):\(at.line)"
            if value.lowercased() == "none" {
                s.jump = []
            } else if value.contains("://") {
                report("proxyjump", "ProxyJump \"\(value)\": ssh:// URIs are not supported; write [user@]host[:port]")
            } else {
                s.jump = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            }
        }
        return s
    }

    /// The local user for `%u` (as OpenSSH's).
    var localUser: String { ProcessInfo.processInfo.environment["USER"] ?? NSUserName() }

    /// `~/…` and the `%` tokens `tokens` holds expanded; an absolute path, or why not.
    static func expandPath(_ value: String, tokens: [String: String], home: String) -> Result<String, InventoryJump.JumpReferenceProblem> {
        var out = "", percent = false
        for character in value {
            if percent {
                guard let replacement = tokens[String(character)] else {
                    return .failure(.init("uses %\(character), which keysync does not expand (it expands %h %n %p %r %u %%)"))
                }
                out += replacement
                percent = false
            } else if character == "%" {
                percent = true
            } else {
                out.append(character)
            }
        }
        if percent { return .failure(.init("ends with a lone %")) }
        if out == "~" || out.hasPrefix("~/") { return .success(home + out.dropFirst()) }
        if out.hasPrefix("~") { return .failure(.init("uses ~user, which keysync does not expand; write the full path")) }
        if !out.hasPrefix("/") { return .failure(.init("is a relative path; write it from ~ or /")) }
        return .success(out)
    }
}

import Foundation
@preconcurrency import Yams

/// Builds an ``Inventory`` from YAML text in one pass over the nodes, collecting
/// every diagnostic. Sections are read in dependency order (defaults, keys,
/// revoked, people, hosts, projects) whatever their order in the file.
struct InventoryLoader {
    static let rootFields = ["defaults", "keys", "certificate_authorities", "revoked", "people", "hosts", "projects"]
    static let settingFields = ["user", "port", "identity", "agent", "known_hosts", "become", "connect_timeout", "command_timeout", "jump", "manage_sshd"]
    static let defaultsFields = settingFields + ["parallel", "ssh_config"]
    static let hostFields = ["address"] + settingFields + ["groups"]
    static let keyFields = ["public", "file", "options"]
    static let projectFields = ["hosts", "roles"]
    static let roleFields = ["account", "uid", "gid", "group", "shell", "home", "create", "keys", "exclusive", "people", "adopt", "principals", "trusted_cas"]

    /// Connection settings as written in `defaults` or on a host (nil: not given).
    struct Settings {
        var user: String?
        var port: Int?
        var identity: String?
        var agent: Bool?
        var knownHosts: String?
        var become: Become?
        var connectTimeout: Double?
        var commandTimeout: Double?
        /// `jump:` as written: references outermost first (empty for `none`), and where.
        var jump: (references: [(value: String, node: Node)], node: Node)?
        /// `manage_sshd:` (issue 19): keysync writes and reloads sshd's drop-in.
        var manageSSHD: Bool?
    }

    /// A role's position: project index and role index.
    struct RoleRef: Hashable {
        let project: Int
        let role: Int
    }

    let path: String
    let directory: String
    let home: String
    var reader: NodeReader

    var parallel = 64
    var defaults = Settings()
    var keys: [InventoryKey] = []
    var keyIndex: [String: Int] = [:]
    var keyByFingerprint: [String: Int] = [:]
    var keyNodes: [Node] = []
    /// Keys defined but not loadable (already reported; references to them are not).
    var brokenKeys = Set<String>()
    var grantedKeys = Set<Int>()
    /// Revoked fingerprint → where it was revoked.
    var revoked: [String: Node] = [:]
    /// `certificate_authorities:` and the certificates revoked under `revoked:`
    /// (see InventoryLoader+Certificates.swift).
    var authorities: [InventoryCertificateAuthority] = []
    var authorityIndex: [String: Int] = [:]
    /// Authorities defined but not loadable (already reported; references to them are not).
    var brokenAuthorities = Set<String>()
    var revokedCertificates: [RevokedCertificate] = []
    /// `people:` (see InventoryLoader+People.swift).
    var people: [InventoryPerson] = []
    /// The first `manage_sshd: true`, for the warning when it has nothing to do.
    var firstManageSSHD: Node?
    var personIndex: [String: Int] = [:]
    /// People defined but not usable (already reported; references to them are not).
    var brokenPeople = Set<String>()
    var hosts: [InventoryHost] = []
    /// Each host's own `jump:` (nil: the default's), for `resolveJumps()`.
    var hostJumps: [(references: [(value: String, node: Node)], node: Node)?] = []
    var hostIndex: [String: Int] = [:]
    /// The hosts of each jump-host loop already reported.
    var reportedJumpLoops = Set<Set<String>>()
    /// The file `ssh_config:` names, read (nil: not asked for, or not readable).
    var sshConfig: SSHConfig?
    /// The ssh_config lines (`file:line`) already listed as not followed.
    var reportedNotFollowed = Set<String>()
    /// Hosts whose jump chain comes from ssh_config's ProxyJump → where (`file:line`).
    var jumpSources: [Int: String] = [:]
    var groupMembers: [String: [Int]] = [:]
    var hostProjects: [[Int]] = []
    var projects: [InventoryProject] = []
    var projectIndex: [String: Int] = [:]
    /// The fields of each role, for locating conflicts: `roleFields[project][role]`.
    var roleNodes: [[Fields]] = []

    init(path: String, homeDirectory: String) {
        self.path = path
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        directory = (absolute as NSString).deletingLastPathComponent
        home = homeDirectory.count > 1 && homeDirectory.hasSuffix("/") ? String(homeDirectory.dropLast()) : homeDirectory
        reader = NodeReader(file: path)
    }

    // MARK: Document

    /// Lists and mappings nested deeper than this are refused before Yams
    /// builds nodes (recursively: deeper texts could overflow the stack).
    static let maxNesting = 100

    /// The root node of a YAML text; `.invalid` with one located diagnostic
    /// when it nests deeper than ``maxNesting``, is not valid YAML, or is
    /// empty (`emptyMessage` says what the file should hold). `adopt
    /// --from-ansible` reads its YAML the same way.
    static func composeRoot(_ text: String, file: String, emptyMessage: String) throws(InventoryError) -> Node {
        // A byte order mark (editors on Windows write one) is not content: YAML allows it, libyaml
        // trips over it here. Dropping it keeps line and column numbers as editors show them.
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        if let (line, column) = YAMLNesting.firstTooDeep(text, limit: maxNesting) {
            throw .invalid([Diagnostic(file: file, line: line, column: column,
                message: "invalid YAML: lists and mappings nested more than \(maxNesting) levels deep")])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, .basic)
        } catch {
            throw .invalid([yamlDiagnostic(error, text: text, file: file)])
        }
        guard let root else { throw .invalid([Diagnostic(file: file, line: 1, column: 1, message: emptyMessage)]) }
        return root
    }

    mutating func load(_ text: String) throws(InventoryError) -> Inventory {
        let root = try Self.composeRoot(text, file: path,
                                        emptyMessage: "the inventory is empty; expected a mapping with \(Self.rootFields.joined(separator: ", "))")
        if let fields = reader.fields(of: root, "the inventory", allowed: Self.rootFields) {
            if let node = fields["defaults"] { readDefaults(node) }
            if let node = fields["keys"] { readKeys(node) }
            if let node = fields["certificate_authorities"] { readCertificateAuthorities(node) }
            if let node = fields["revoked"] { readRevoked(node) }
            if let node = fields["people"] { readPeople(node) }
            if let node = fields["hosts"] { readHosts(node) }
            resolveJumps()
            hostProjects = Array(repeating: [], count: hosts.count)
            if let node = fields["projects"] { readProjects(node) }
        }
        let accounts = mergeAccounts()
        warnUnusedKeys()
        warnCAsTrustedForOtherRoles()
        if let node = firstManageSSHD, authorities.isEmpty {
            // The drop-in only points sshd at the certificate files; without CAs keysync writes none.
            reader.warning("manage_sshd: true does nothing without certificate_authorities (keysync writes no sshd drop-in then)", at: node)
        }
        // The inventory's own diagnostics first, then ssh_config's, each file in line order.
        let diagnostics = reader.diagnostics.filter { $0.file == path }.sorted()
            + reader.diagnostics.filter { $0.file != path }.sorted { ($0.file, $0.line, $0.column, $0.message) < ($1.file, $1.line, $1.column, $1.message) }
        guard reader.errorCount == 0 else { throw .invalid(diagnostics) }
        return Inventory(
            path: path, inventoryHash: SHA256Digest.hex(text.utf8), parallel: parallel,
            hosts: hosts, keys: keys, revokedFingerprints: Set(revoked.keys), projects: projects, people: people,
            certificateAuthorities: authorities, revokedCertificates: revokedCertificates,
            warnings: diagnostics, hostIndex: hostIndex, keyIndex: keyIndex, projectIndex: projectIndex, personIndex: personIndex,
            groupMembers: groupMembers, hostProjects: hostProjects, accountsByProjects: accounts)
    }

    /// A YAML syntax error as a located diagnostic.
    static func yamlDiagnostic(_ error: any Error, text: String, file: String) -> Diagnostic {
        var line = 1, column = 1, message = "invalid YAML: \(error)"
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            (line, column) = (mark.line, mark.column)
            message = "invalid YAML: " + problem
            if let context, problem.hasSuffix("end of stream") {
                // e.g. an unclosed quote: point at where it opened.
                (line, column) = (context.mark.line, context.mark.column)
                message += " (line \(mark.line)) \(context.text) that starts here"
            } else if let context, problem.hasPrefix("but ") {
                message = "invalid YAML: \(context.text) \(problem)"  // "expected a single document … but found another"
            } else if let context {
                message += " " + context.text
                if (context.mark.line, context.mark.column) != (line, column) {
                    message += " (from line \(context.mark.line), column \(context.mark.column))"
                }
            }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if line <= lines.count, lines[line - 1].unicodeScalars.dropFirst(column - 1).first == "\t" {
                message += "; YAML does not allow tabs for indentation, use spaces"
            }
        case .reader(let problem, let offset, _, _):
            // Yams gives the offset in Characters; count lines the way libyaml
            // does (a CRLF is one Character, not "\n") and columns in scalars.
            let before = Diagnostic.lineLengths(String(text.prefix(offset ?? 0)))
            (line, column) = (before.count, before[before.count - 1] + 1)
            message = "invalid YAML: " + problem
        default: break
        }
        // At the end of a text without a final newline, libyaml reports the
        // line after the last one; point at the end of the last line instead.
        let lines = Diagnostic.lineLengths(text)
        if line > lines.count { (line, column) = (lines.count, lines[lines.count - 1] + 1) }
        return Diagnostic(file: file, line: line, column: column, message: message)
    }

    // MARK: Sections

    private mutating func checkName(_ name: String, _ node: Node, _ kind: String) {
        if let problem = InventoryRules.nameProblem(name) { reader.error("\(kind) name \"\(name)\" \(problem)", at: node) }
    }

    /// Reads `what` as a path: `~` expands to the home folder, relative paths
    /// resolve against the inventory's folder.
    private mutating func path(_ node: Node, _ what: String) -> String? {
        guard let raw = reader.string(node, what) else { return nil }
        if raw == "~" || raw.hasPrefix("~/") { return home + raw.dropFirst() }
        if raw.hasPrefix("~") {
            reader.error("\(what): \"\(raw)\": ~user paths are not supported; write the full path", at: node)
            return nil
        }
        if raw.hasPrefix("/") { return raw }
        return directory + "/" + (raw.hasPrefix("./") ? raw.dropFirst(2) : Substring(raw))
    }

    private mutating func settings(_ fields: Fields, _ what: String) -> Settings {
        var s = Settings()
        s.user = fields["user"].flatMap { node in
            reader.string(node, "\(what): user").flatMap { user in
                if let problem = InventoryRules.unixNameProblem(user) { reader.error("\(what): user \"\(user)\" \(problem)", at: node) }
                return user
            }
        }
        s.port = fields["port"].flatMap { reader.integer($0, "\(what): port", in: 1...65535) }
        s.identity = fields["identity"].flatMap { path($0, "\(what): identity") }
        s.agent = fields["agent"].flatMap { reader.bool($0, "\(what): agent") }
        if s.agent == true, let node = fields["identity"] {
            reader.error("\(what): identity and agent: true exclude each other; keep one", at: node)
        }
        s.knownHosts = fields["known_hosts"].flatMap { path($0, "\(what): known_hosts") }
        s.become = fields["become"].flatMap { node in
            reader.string(node, "\(what): become").flatMap { value in
                guard let become = Become(rawValue: value) else {
                    reader.error("\(what): become must be sudo or none, found \"\(value)\"", at: node)
                    return nil
                }
                return become
            }
        }
        s.connectTimeout = fields["connect_timeout"].flatMap { reader.seconds($0, "\(what): connect_timeout") }
        s.commandTimeout = fields["command_timeout"].flatMap { reader.seconds($0, "\(what): command_timeout") }
        s.jump = fields["jump"].map { (jumpReferences($0, "\(what): jump"), $0) }
        if let node = fields["manage_sshd"] {
            s.manageSSHD = reader.bool(node, "\(what): manage_sshd")
            if s.manageSSHD == true, firstManageSSHD == nil { firstManageSSHD = node }
        }
        return s
    }

    private mutating func readDefaults(_ node: Node) {
        guard let fields = reader.fields(of: node, "defaults", allowed: Self.defaultsFields) else { return }
        defaults = settings(fields, "defaults")
        if let value = fields["parallel"].flatMap({ reader.integer($0, "defaults: parallel", in: 1...4096) }) { parallel = value }
        if let node = fields["ssh_config"], let file = path(node, "defaults: ssh_config") { readSSHConfig(node, path: file) }
    }

    private mutating func readKeys(_ node: Node) {
        for (name, nameNode, value) in reader.entries(of: node, "keys") {
            checkName(name, nameNode, "key")
            let what = "key \"\(name)\""
            brokenKeys.insert(name)
            guard let fields = reader.fields(of: value, what, allowed: Self.keyFields) else { continue }
            let options = fields["options"].flatMap { node in reader.string(node, "\(what): options").flatMap { text -> String? in
                // A line break inside a quoted value (`command="…\n…"`) parses
                // as options but would start a second, unrestricted key line.
                if let problem = UnsafeText.problem(text, "options") {
                    reader.error("\(what): \(problem)", at: node)
                    return nil
                }
                do throws(KeyParseError) {
                    let parsed = try AuthorizedKeyOptions.parse(text)
                    // Options sshd parses but that make it refuse every login with
                    // the key (what `keys lint` warns of in a file): an error here,
                    // before a push would hand the accounts a key that never works.
                    // (A past expiry-time only warns: yesterday's valid inventory must still load.)
                    let problems = AuthorizedKeysFile.optionProblems(parsed, now: Date())
                    if let refusal = problems.first(where: { if case .expired = $0.kind { false } else { true } }) {
                        reader.error("\(what): options: \(refusal.description)", at: node)
                        return nil
                    }
                    if let expired = problems.first {
                        reader.warning("\(what): options: \(expired.description); use until: for a grant that ends", at: node)
                    }
                    return text
                } catch {
                    reader.error("\(what): invalid options: \(error.description)", at: node)
                    return nil
                }
            } }
            guard let (publicKey, file) = keyMaterial(fields, what, nameNode) else { continue }
            let key = InventoryKey(name: name, publicKey: publicKey, options: options, file: file)
            if let same = keyByFingerprint[key.fingerprint] {
                reader.warning("\(what) is the same key as \"\(keys[same].name)\" (line \(NodeReader.line(of: keyNodes[same])))", at: nameNode)
            } else {
                keyByFingerprint[key.fingerprint] = keys.count
            }
            brokenKeys.remove(name)
            keyIndex[name] = keys.count
            keys.append(key)
            keyNodes.append(nameNode)
        }
    }

    /// A certificate granted to an account grants nothing: sshd never takes
    /// one from authorized_keys (a key defined only to be revoked may be one).
    mutating func certificateGrant(_ key: InventoryKey, what: String, at node: Node) {
        guard key.publicKey.isCertificate else { return }
        reader.error("\(what) is a certificate (\(key.publicKey.type)); authorized_keys needs the key itself "
                     + "(certificates log in through principals: and trusted_cas:)", at: node)
    }

    /// The public key of a `public:` or `file:` field pair (keys and
    /// certificate authorities), with the absolute path of a `file:`;
    /// nil when reported.
    mutating func keyMaterial(_ fields: Fields, _ what: String, _ nameNode: Node) -> (PublicKey, file: String?)? {
        var source: (bytes: [UInt8], path: String, node: Node)?
        switch (fields["public"], fields["file"]) {
        case (nil, nil):
            reader.error("\(what) needs public (an OpenSSH public key line) or file", at: nameNode)
        case (.some, .some(let node)):
            reader.error("\(what): give either public or file, not both", at: fields.values["file"]?.key ?? node)
        case (.some(let node), nil):
            guard let text = reader.string(node, "\(what): public") else { break }
            // One line; a block scalar's final line break is fine. (Other
            // characters: the comment is checked below, the rest must parse.)
            var line = Substring(text)
            while let last = line.last, last == "\n" || last == "\r\n" || last == "\r" { line = line.dropLast() }
            if let (position, scalar) = UnsafeText.first(in: String(line), where: UnsafeText.isLineBreak) {
                reader.error("\(what): public must be one line (an OpenSSH public key line); found \(UnsafeText.name(of: scalar)) at character \(position) of \(UnsafeText.quoted(String(line), around: position))", at: node)
                break
            }
            // Named `public`: the inventory's own path here would read as a key file's.
            source = (Array(text.utf8), "public", node)
        case (nil, .some(let node)):
            guard let file = path(node, "\(what): file") else { break }
            switch FileReader.contents(of: file, regularFileAtMost: 1 << 20) {
            case .success(let bytes): source = (bytes, file, node)
            case .failure(let failure) where failure.isMissing: reader.error("\(what): key file \(file) not found", at: node)
            case .failure(let failure): reader.error("\(what): cannot read key file \(file): \(failure.reason)", at: node)
            }
        }
        guard let source else { return nil }
        let publicKey: PublicKey
        do throws(KeyParseError) {
            publicKey = try KeyImporter.importKey(from: source.bytes, path: source.path)
        } catch {
            reader.error("\(what): invalid key: \(error.description)", at: source.node)
            return nil
        }
        // The comment is written after the key on its authorized_keys line.
        let commentWhat = fields["file"] == nil ? "the key comment" : "the key comment in \(source.path)"
        if let problem = UnsafeText.problem(publicKey.comment, commentWhat) {
            reader.error("\(what): \(problem)", at: source.node)
            return nil
        }
        return (publicKey, fields["file"] == nil ? nil : source.path)
    }

    private mutating func readHosts(_ node: Node) {
        var addresses: [String: (host: String, node: Node)] = [:], missingUser: [Node] = [], notRoot: [(Node, String)] = []
        for (name, nameNode, value) in reader.entries(of: node, "hosts") {
            checkName(name, nameNode, "host")
            let what = "host \"\(name)\""
            let index = hosts.count
            let fields = reader.fields(of: value, what, allowed: Self.hostFields)
            let s = fields.map { settings($0, what) } ?? Settings()
            let c = sshConfigSettings(for: name, explicitUser: s.user, explicitPort: s.port)
            let port = s.port ?? c.port ?? defaults.port ?? 22
            var address = "", groups: [String] = []
            if let fields {
                // The host's own address wins; else ssh_config's HostName.
                let addressNode = fields["address"]
                address = addressNode.flatMap { reader.string($0, "\(what): address") } ?? c.hostName ?? ""
                if addressNode == nil && c.hostName == nil {
                    reader.error("\(what) has no address" + (sshConfig == nil ? "" : " (nor a HostName in ssh_config)"), at: nameNode)
                }
                let at = addressNode ?? nameNode
                switch InventoryRules.canonicalAddress(address) {
                case .success(let canonical):
                    // An IPv6 literal as ssh spells it (2001:db8:0:0::1 → 2001:db8::1):
                    // known_hosts lines are looked up and written that way.
                    if address.contains(":") { address = canonical }
                    if let first = addresses["\(canonical) \(port)"] {
                        reader.error("\(what): address \(address) port \(port) is already used by host \"\(first.host)\" (line \(NodeReader.line(of: first.node)))", at: at)
                    } else {
                        addresses["\(canonical) \(port)"] = (name, at)
                    }
                case .failure(let problem) where !address.isEmpty:
                    reader.error("\(what): address \"\(address)\" \(problem.reason)", at: at)
                case .failure: break
                }
                for (group, groupNode) in reader.strings(fields["groups"], "\(what): groups") where !groups.contains(group) {
                    checkName(group, groupNode, "group")
                    groups.append(group)
                    groupMembers[group, default: []].append(index)
                }
                if s.user == nil, c.user == nil, defaults.user == nil { missingUser.append(nameNode) }
                let user = s.user ?? c.user ?? defaults.user
                if (s.become ?? defaults.become) == Become.direct, let user, user != "root" { notRoot.append((nameNode, user)) }
            }
            // ssh_config's IdentityFile counts as the host's identity, below
            // its own identity/agent and above defaults.
            let identity = s.identity ?? (s.agent == nil ? c.identity : nil)
            let agent = s.agent ?? (identity != nil ? false : defaults.agent ?? false)
            hostIndex[name] = index
            if s.jump == nil, c.jump != nil { jumpSources[index] = c.jumpSource }
            hostJumps.append(s.jump ?? c.jump.map { hops in (hops.map { ($0, nameNode) }, nameNode) })
            hosts.append(InventoryHost(
                name: name, address: address, port: port, user: s.user ?? c.user ?? defaults.user ?? "",
                credential: agent ? .agent : .identity(path: identity ?? defaults.identity ?? home + "/.ssh/id_ed25519"),
                knownHosts: s.knownHosts ?? c.knownHosts ?? defaults.knownHosts ?? home + "/.ssh/known_hosts",
                become: s.become ?? defaults.become ?? .sudo,
                connectTimeout: s.connectTimeout ?? c.connectTimeout ?? defaults.connectTimeout ?? 10,
                commandTimeout: s.commandTimeout ?? defaults.commandTimeout ?? 30,
                groups: groups, manageSSHD: s.manageSSHD ?? defaults.manageSSHD ?? false))
        }
        if let (node, user) = notRoot.first {
            // `none` means the login is root: as anyone else the probe cannot
            // read other accounts' files, and its errors would not say why.
            let others = notRoot.count - 1
            reader.warning("host \"\(node.scalar?.string ?? "")\" logs in as \(user) with become: none, which is for a root login"
                + (others > 0 ? " (and \(others) other host\(others == 1 ? "" : "s"))" : "")
                + "; keysync needs root there: use become: sudo, or user: root", at: node)
        }
        if let first = missingUser.first {
            let others = missingUser.count - 1
            reader.error("host \"\(first.scalar?.string ?? "")\" has no user"
                + (others > 0 ? " (nor do \(others) other host\(others == 1 ? "" : "s"))" : "")
                + "; set user in defaults or on the host", at: first)
        }
    }

    private mutating func readProjects(_ node: Node) {
        for (name, nameNode, value) in reader.entries(of: node, "projects") {
            checkName(name, nameNode, "project")
            let what = "project \"\(name)\""
            let projectNumber = projects.count
            projectIndex[name] = projectNumber
            var members: [Int] = [], seen = Set<Int>(), roles: [InventoryRole] = [], nodes: [Fields] = []
            if let fields = reader.fields(of: value, what, allowed: Self.projectFields) {
                let references = reader.strings(fields["hosts"], "\(what): hosts")
                if references.isEmpty { reader.error("\(what) has no hosts", at: fields["hosts"] ?? nameNode) }
                for (reference, referenceNode) in references {
                    for index in resolveHosts(reference, referenceNode, what) where seen.insert(index).inserted {
                        members.append(index)
                        hostProjects[index].append(projectNumber)
                    }
                }
                let entries = fields["roles"].map { reader.entries(of: $0, "\(what): roles") } ?? []
                if entries.isEmpty { reader.warning("\(what) has no roles", at: fields["roles"] ?? nameNode) }
                for (roleName, roleNode, roleValue) in entries {
                    guard let (role, fields) = readRole(roleName, roleNode, roleValue, project: name) else { continue }
                    roles.append(role)
                    nodes.append(fields)
                }
            }
            projects.append(InventoryProject(name: name, hosts: members.map { hosts[$0].name }, roles: roles))
            roleNodes.append(nodes)
        }
    }

    /// The host indices of a `hosts:` reference: a host name or `group:NAME`.
    private mutating func resolveHosts(_ reference: String, _ node: Node, _ what: String) -> [Int] {
        if reference.hasPrefix("group:") {
            let group = String(reference.dropFirst(6))
            if let members = groupMembers[group] { return members }
            reader.error("\(what): undefined group \"\(group)\"" + Suggestion.hint(for: group, in: groupMembers.keys), at: node)
        } else if let index = hostIndex[reference] {
            return [index]
        } else {
            let hint = groupMembers[reference] != nil ? "; did you mean \"group:\(reference)\"?" : Suggestion.hint(for: reference, in: hostIndex.keys)
            reader.error("\(what): undefined host \"\(reference)\"" + hint, at: node)
        }
        return []
    }

    private mutating func readRole(_ name: String, _ nameNode: Node, _ value: Node, project: String) -> (InventoryRole, Fields)? {
        checkName(name, nameNode, "role")
        let what = "project \"\(project)\" role \"\(name)\""
        guard let fields = reader.fields(of: value, what, allowed: Self.roleFields) else { return nil }
        let account = fields["account"].flatMap { reader.string($0, "\(what): account") } ?? name
        if let problem = InventoryRules.unixNameProblem(account) {
            reader.error(fields["account"] == nil
                ? "\(what): the account name defaults to the role name, and \"\(account)\" \(problem); set account"
                : "\(what): account \"\(account)\" \(problem)", at: fields["account"] ?? nameNode)
        }
        func id(_ field: String) -> UInt32? {
            fields[field].flatMap { reader.integer($0, "\(what): \(field)", in: 0...4_294_967_294) }.map(UInt32.init)
        }
        let uid = id("uid"), gid = id("gid")
        if uid == 0, account != "root", let node = fields["uid"] {
            reader.error("\(what): uid 0 is root's; only account root may have it", at: node)
        }
        func unixName(_ field: String) -> String? {
            fields[field].flatMap { node in reader.string(node, "\(what): \(field)").map { value in
                if let problem = InventoryRules.unixNameProblem(value) { reader.error("\(what): \(field) \"\(value)\" \(problem)", at: node) }
                return value
            } }
        }
        func passwdPath(_ field: String) -> String? {
            fields[field].flatMap { node in reader.string(node, "\(what): \(field)").map { value in
                if let problem = InventoryRules.passwdPathProblem(value) {
                    reader.error("\(what): \(field) \(UnsafeText.quoted(value, around: UnsafeText.first(in: value)?.position ?? 1)) \(problem)", at: node)
                }
                return value
            } }
        }
        func flag(_ field: String) -> Bool { fields[field].flatMap { reader.bool($0, "\(what): \(field)") } ?? false }

        var grants = RoleGrants()
        for (keyName, keyNode, ends) in grantItems(fields["keys"], "\(what): keys").map({ ($0.name, $0.node, $0.until) }) {
            guard let index = keyIndex[keyName] else {
                if brokenKeys.contains(keyName) { continue }
                reader.error("\(what): undefined key \"\(keyName)\"" + Suggestion.hint(for: keyName, in: keyIndex.keys), at: keyNode)
                continue
            }
            let key = keys[index]
            grantedKeys.insert(index)
            certificateGrant(key, what: "\(what): key \"\(keyName)\"", at: keyNode)
            if let revokedAt = revoked[key.fingerprint] {
                reader.error("\(what): key \"\(keyName)\" is granted here but revoked (line \(NodeReader.line(of: revokedAt)))", at: keyNode)
            }
            if let first = grants.add(keyName, fingerprint: key.fingerprint, at: keyNode, until: ends) {
                reader.warning("\(what): key \"\(keyName)\" is already granted\(RoleGrants.asFirst(keyName, first)); listed once", at: keyNode)
            }
        }
        let people = readRolePeople(fields["people"], what, grants: &grants)
        let role = InventoryRole(
            name: name, account: account, uid: uid, gid: gid, group: unixName("group"),
            shell: passwdPath("shell"), home: passwdPath("home"), create: flag("create"),
            keys: grants.names, exclusive: flag("exclusive"), until: grants.until, people: people, adopt: flag("adopt"),
            principals: readPrincipals(fields["principals"], what), trustedCAs: readTrustedCAs(fields["trusted_cas"], what),
            grantSources: grants.sources)
        warnCertificateFields(role, fields, what)
        return (role, fields)
    }

    private mutating func warnUnusedKeys() {
        for (index, key) in keys.enumerated() where !grantedKeys.contains(index) && revoked[key.fingerprint] == nil {
            reader.warning("key \"\(key.name)\" is not granted to any role", at: keyNodes[index])
        }
    }
}

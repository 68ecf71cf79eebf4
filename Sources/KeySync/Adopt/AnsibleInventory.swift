import Foundation
@preconcurrency import Yams

/// An Ansible inventory (INI or YAML) read for `keysync inventory import
/// --ansible`: its hosts with `ansible_host`, `ansible_port` and
/// `ansible_user` resolved the way Ansible resolves variables (host over
/// child group over parent group over `all`), and the groups each host is
/// in, children flattened (a keysync inventory has no nested groups).
///
/// Nothing is dropped silently: every other variable, a `[group:vars]` for a
/// group with no hosts, a host name keysync cannot take as it is, is listed
/// in ``notes`` with file and line. Syntax errors and values keysync cannot
/// use (a port that is not a number, an address that is none) are located
/// errors: ``AdoptError/invalid(_:)``.
public struct AnsibleInventory: Sendable {
    /// One host as the keysync inventory writes it.
    public struct Host: Hashable, Sendable {
        /// The inventory name (the Ansible name, or a valid name made from it).
        public var name: String
        public var address: String
        public var port: Int?
        public var user: String?
        /// Groups in the order first met, children flattened, without `all` and `ungrouped`.
        public var groups: [String]
    }

    /// Something not carried over, with where it is.
    public struct Note: Hashable, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public private(set) var hosts: [Host] = []
    public private(set) var notes: [Note] = []
    /// The file as the user named it.
    public let path: String

    /// The variables keysync carries over; `ansible_ssh_*` are Ansible's older spellings.
    /// Group entries read at most (children: lists included): aliases nested
    /// in children: would otherwise make a small file exponential to walk.
    static let groupVisitLimit = 100_000

    static let carried: [String: Field] = [
        "ansible_host": .address, "ansible_ssh_host": .address,
        "ansible_port": .port, "ansible_ssh_port": .port,
        "ansible_user": .user, "ansible_ssh_user": .user,
    ]

    enum Field { case address, port, user }

    /// Reads the inventory at `path`; YAML when it parses as a mapping of
    /// groups (or its name ends in .yml/.yaml), else INI.
    public static func load(path: String) throws(AdoptError) -> AnsibleInventory {
        try parse(AdoptError.text(of: path), path: path)
    }

    /// Parses inventory text as if read from `path`.
    public static func parse(_ text: String, path: String) throws(AdoptError) -> AnsibleInventory {
        let lower = path.lowercased()
        if lower.hasSuffix(".yml") || lower.hasSuffix(".yaml") || looksLikeYAML(text) {
            return try parseYAML(text, path: path)
        }
        return try parseINI(text, path: path)
    }

    /// INI files start with `[group]`, `host …` or comments; YAML ones with `all:` or another `group:` key.
    private static func looksLikeYAML(_ text: String) -> Bool {
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            return line == "---" || (line.hasSuffix(":") && !line.hasPrefix("[") && !line.contains(" "))
        }
        return false
    }

    // MARK: The model both formats fill

    /// A variable as written, with its line.
    struct Value {
        var text: String
        var line: Int
        var column: Int
        /// `host db1`, `group prod`: where it was set, for the note that lists it.
        var owner: String = ""
    }

    /// What the file says, before variables are resolved.
    struct Model {
        var path: String
        /// Host names in the order first met, with their line.
        var hostOrder: [(name: String, line: Int)] = []
        var hostVars: [String: [String: Value]] = [:]
        /// Group → hosts directly in it, in order.
        var members: [String: [String]] = [:]
        var children: [String: [String]] = [:]
        var groupVars: [String: [String: Value]] = [:]
        var groupLine: [String: Int] = [:]
        var groupOrder: [String] = []
        var problems: [Diagnostic] = []

        mutating func group(_ name: String, line: Int) {
            if groupLine[name] == nil {
                groupLine[name] = line
                groupOrder.append(name)
            }
        }

        mutating func host(_ name: String, line: Int, in group: String?) {
            if hostVars[name] == nil {
                hostVars[name] = [:]
                hostOrder.append((name, line))
            }
            if let group, group != "all", !(members[group] ?? []).contains(name) { members[group, default: []].append(name) }
        }

        mutating func problem(_ line: Int, _ column: Int, _ message: String) {
            problems.append(Diagnostic(file: path, line: line, column: column, message: message))
        }
    }

    // MARK: INI

    static func parseINI(_ text: String, path: String) throws(AdoptError) -> AnsibleInventory {
        var model = Model(path: path)
        enum Section { case hosts(String?), vars(String), children(String) }
        var section = Section.hosts(nil)
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let number = index + 1
            var line = Substring(raw)
            if line.last == "\r" { line = line.dropLast() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else {
                    model.problem(number, 1, "expected [GROUP], [GROUP:vars] or [GROUP:children], found \(UnsafeText.quoted(trimmed))")
                    continue
                }
                let inner = String(trimmed.dropFirst().dropLast())
                let parts = inner.split(separator: ":", maxSplits: 1).map(String.init)
                let name = parts.first ?? ""
                guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" }) else {
                    model.problem(number, 2, "group name \(UnsafeText.quoted(name)) must not be empty or hold blanks")
                    continue
                }
                model.group(name, line: number)
                switch parts.count == 2 ? parts[1] : "" {
                case "": section = .hosts(name)
                case "vars": section = .vars(name)
                case "children": section = .children(name)
                default:
                    model.problem(number, name.count + 3, "unknown section kind \(UnsafeText.quoted(parts[1])) (expected vars or children)")
                    section = .vars(name)   // its lines are read but not used for hosts
                }
                continue
            }
            let words = iniWords(line)
            switch section {
            case .hosts(let group):
                guard let first = words.first else { continue }
                let names: [String]
                switch expand(first.text) {
                case .success(let expanded): names = expanded
                case .failure(let message):
                    model.problem(number, first.column, message.text)
                    continue
                }
                var vars: [String: Value] = [:]
                for word in words.dropFirst() {
                    guard let equals = word.text.firstIndex(of: "="), equals != word.text.startIndex else {
                        model.problem(number, word.column, "expected NAME=VALUE after the host name, found \(UnsafeText.quoted(word.text))")
                        continue
                    }
                    vars[String(word.text[..<equals])] = Value(text: unquote(String(word.text[word.text.index(after: equals)...])),
                                                               line: number, column: word.column, owner: "host \(first.text)")
                }
                for var name in names {
                    // `host:port` is INI's way to give a port (not for IPv6 addresses, which hold colons anyway).
                    if let colon = name.lastIndex(of: ":"), name.filter({ $0 == ":" }).count == 1 {
                        let digits = String(name[name.index(after: colon)...])
                        name = String(name[..<colon])
                        if vars["ansible_port"] == nil {
                            vars["ansible_port"] = Value(text: digits, line: number, column: first.column, owner: "host \(name)")
                        }
                    }
                    model.host(name, line: number, in: group)
                    model.hostVars[name]!.merge(vars) { _, new in new }
                }
            case .vars(let group):
                guard let first = words.first else { continue }
                let text = words.map(\.text).joined(separator: " ")
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    model.problem(number, first.column, "expected NAME=VALUE in [\(group):vars], found \(UnsafeText.quoted(text))")
                    continue
                }
                let name = text[..<equals].trimmingCharacters(in: .whitespaces)
                let value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                model.groupVars[group, default: [:]][name] = Value(text: unquote(value), line: number, column: first.column, owner: "group \(group)")
            case .children(let group):
                guard let first = words.first else { continue }
                model.group(first.text, line: number)
                if !(model.children[group] ?? []).contains(first.text) { model.children[group, default: []].append(first.text) }
            }
        }
        return try AnsibleInventory(model)
    }

    /// Blank-separated words; a quoted value keeps its blanks (`ansible_user="a b"`); `#` after a blank starts a comment.
    private static func iniWords(_ line: Substring) -> [(text: String, column: Int)] {
        var out: [(String, Int)] = [], current = "", start = 0, quote: Character?, column = 0, previousBlank = true
        for character in line {
            column += 1
            if quote == nil, character == "#" || character == ";", previousBlank { break }
            if let open = quote {
                current.append(character)
                if character == open { quote = nil }
            } else if character == " " || character == "\t" {
                if !current.isEmpty { out.append((current, start)); current = "" }
            } else {
                if current.isEmpty { start = column }
                if character == "\"" || character == "'" { quote = character }
                current.append(character)
            }
            previousBlank = quote == nil && (character == " " || character == "\t")
        }
        if !current.isEmpty { out.append((current, start)) }
        return out
    }

    private static func unquote(_ text: String) -> String {
        if text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first {
            return String(text.dropFirst().dropLast())
        }
        return text
    }

    /// `web[01:03].example.com` → web01…web03; `db-[a:c]` → db-a…db-c; `[1:9:2]` with a stride.
    static func expand(_ pattern: String) -> Result<[String], Message> {
        guard let open = pattern.firstIndex(of: "[") else { return .success([pattern]) }
        guard let close = pattern[open...].firstIndex(of: "]") else { return .failure(Message("host pattern \(UnsafeText.quoted(pattern)) has [ without ]")) }
        let head = String(pattern[..<open]), tail = String(pattern[pattern.index(after: close)...])
        let parts = pattern[pattern.index(after: open)..<close].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let bad = Message("host range \(UnsafeText.quoted(pattern)) must be [START:END] or [START:END:STEP] with numbers or single letters, START ≤ END")
        guard parts.count == 2 || parts.count == 3 else { return .failure(bad) }
        let step = parts.count == 3 ? Int(parts[2]) : 1
        guard let step, step > 0 else { return .failure(bad) }
        var items: [String] = []
        if let low = Int(parts[0]), let high = Int(parts[1]), low <= high, parts[0].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isASCII) {
            guard (high - low) / step < 10_000 else { return .failure(Message("host range \(UnsafeText.quoted(pattern)) names more than 10000 hosts")) }
            let width = parts[0].hasPrefix("0") && parts[0].count > 1 ? parts[0].count : 0
            for value in stride(from: low, through: high, by: step) {
                let digits = String(value)
                items.append(String(repeating: "0", count: max(0, width - digits.count)) + digits)
            }
        } else if parts[0].count == 1, parts[1].count == 1, let low = parts[0].unicodeScalars.first, let high = parts[1].unicodeScalars.first,
                  low.properties.isASCIIHexDigit || low.properties.isAlphabetic, low.isASCII, high.isASCII, low.value <= high.value {
            for value in stride(from: low.value, through: high.value, by: step) { items.append(String(UnicodeScalar(value)!)) }
        } else {
            return .failure(bad)
        }
        var out: [String] = []
        for item in items {
            switch expand(tail) {
            case .success(let rest): out += rest.map { head + item + $0 }
            case .failure(let message): return .failure(message)
            }
        }
        return .success(out)
    }

    /// A message for a located problem.
    struct Message: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    // MARK: YAML

    static func parseYAML(_ text: String, path: String) throws(AdoptError) -> AnsibleInventory {
        let root: Node
        do {
            root = try InventoryLoader.composeRoot(text, file: path, emptyMessage: "the inventory is empty; expected a mapping of groups such as all:")
        } catch {
            throw .invalid(error.diagnostics)
        }
        var model = Model(path: path)
        func position(_ node: Node) -> (Int, Int) { NodeReader.position(of: node) }
        func problem(_ node: Node, _ message: String) {
            let (line, column) = position(node)
            model.problem(line, column, message)
        }
        func string(_ node: Node) -> String? {
            if case .scalar(let scalar) = node { return scalar.string }
            return nil
        }
        /// `vars:` or a host's mapping: NAME → scalar.
        func variables(_ node: Node, _ what: String, owner: String) -> [String: Value] {
            if string(node).map({ $0.isEmpty || $0 == "~" || $0 == "null" }) == true { return [:] }
            guard let mapping = node.mapping else {
                problem(node, "\(what) must be a mapping of variables, found \(NodeReader.describe(node))")
                return [:]
            }
            var out: [String: Value] = [:], keyLines: [String: Int] = [:]
            for (key, value) in mapping {
                guard let name = string(key) else {
                    problem(key, "a variable name must be a string, found \(NodeReader.describe(key))")
                    continue
                }
                if let first = keyLines[name] {
                    problem(key, "\(what): duplicate variable \(UnsafeText.quoted(name)) (first at line \(first)); YAML keeps one, so which was meant is not known")
                    continue
                }
                keyLines[name] = position(key).0
                let (line, column) = position(value)
                // Lists and mappings are kept as a marker: only listed, never used.
                out[name] = Value(text: string(value) ?? "(\(NodeReader.describe(value)))", line: line, column: column, owner: owner)
            }
            return out
        }
        /// The entries of `node`, a mapping of `contents` keyed by a `name`
        /// each (a group's `hosts` or `children`): none when it is empty or
        /// null, a problem when it is not a mapping, and a problem for each
        /// key that is not a name (that entry is skipped).
        func namedEntries(_ node: Node, _ what: String, of contents: String, name kind: String) -> [(name: String, key: Node, value: Node)] {
            if string(node).map({ $0.isEmpty || $0 == "~" || $0 == "null" }) == true { return [] }
            guard let mapping = node.mapping else {
                problem(node, "\(what) must be a mapping of \(contents), found \(NodeReader.describe(node))")
                return []
            }
            var seen: [String: Int] = [:]
            return mapping.compactMap { key, value in
                guard let name = string(key), !name.isEmpty else {
                    problem(key, "a \(kind) must be a string, found \(NodeReader.describe(key))")
                    return nil
                }
                // YAML keeps one of two equal keys without a word: which one was meant is not known.
                if let first = seen[name] {
                    problem(key, "\(what): duplicate \(kind) \(UnsafeText.quoted(name)) (first at line \(first))")
                    return nil
                }
                seen[name] = position(key).0
                return (name, key, value)
            }
        }
        // YAML aliases can list one group's children under itself again and
        // again: a kilobyte file would take exponential time to walk.
        var groupVisits = 0, visitLimitReported = false
        func readGroup(_ name: String, _ node: Node) {
            groupVisits += 1
            guard groupVisits <= Self.groupVisitLimit else {
                if !visitLimitReported { problem(node, "more than \(Self.groupVisitLimit) group entries to read (YAML aliases nested in children:?); not imported") }
                visitLimitReported = true
                return
            }
            model.group(name, line: position(node).0)
            if string(node).map({ $0.isEmpty || $0 == "~" || $0 == "null" }) == true { return }
            guard let mapping = node.mapping else {
                problem(node, "group \(UnsafeText.quoted(name)) must be a mapping with hosts, vars or children, found \(NodeReader.describe(node))")
                return
            }
            for (key, value) in mapping {
                switch string(key) {
                case "hosts":
                    for (pattern, hostKey, hostValue) in namedEntries(value, "hosts of group \(UnsafeText.quoted(name))", of: "host names", name: "host name") {
                        let names: [String]
                        switch expand(pattern) {
                        case .success(let expanded): names = expanded
                        case .failure(let message):
                            problem(hostKey, message.text)
                            continue
                        }
                        let vars = variables(hostValue, "host \(UnsafeText.quoted(pattern))", owner: "host \(pattern)")
                        for host in names {
                            model.host(host, line: position(hostKey).0, in: name)
                            model.hostVars[host]!.merge(vars) { _, new in new }
                        }
                    }
                case "vars":
                    model.groupVars[name, default: [:]].merge(variables(value, "vars of group \(UnsafeText.quoted(name))", owner: "group \(name)")) { _, new in new }
                case "children":
                    for (child, _, childValue) in namedEntries(value, "children of group \(UnsafeText.quoted(name))", of: "groups", name: "group name") {
                        if !(model.children[name] ?? []).contains(child) { model.children[name, default: []].append(child) }
                        readGroup(child, childValue)
                    }
                default:
                    problem(key, "group \(UnsafeText.quoted(name)) has \(UnsafeText.quoted(string(key) ?? NodeReader.describe(key))); expected hosts, vars or children")
                }
            }
        }
        guard let top = root.mapping else {
            problem(root, "expected a mapping of groups such as all:, found \(NodeReader.describe(root))")
            throw .invalid(model.problems)
        }
        for (key, value) in top {
            guard let name = string(key), !name.isEmpty else {
                problem(key, "a group name must be a string, found \(NodeReader.describe(key))")
                continue
            }
            readGroup(name, value)
        }
        return try AnsibleInventory(model)
    }

    // MARK: Resolving

    /// Resolves variables and names, and checks what keysync needs.
    init(_ source: Model) throws(AdoptError) {
        path = source.path
        var model = source
        // Parents of each group (for flattening and variable precedence).
        var parents: [String: [String]] = [:]
        for (parent, kids) in model.children {
            for kid in kids where !(parents[kid] ?? []).contains(parent) { parents[kid, default: []].append(parent) }
        }
        /// Every group above `group` with its depth below `all` (a cycle is cut where it closes).
        func ancestors(_ group: String) -> [String: Int] {
            var depth: [String: Int] = [group: 0], queue = [group]
            while let next = queue.first {
                queue.removeFirst()
                for parent in parents[next] ?? [] where depth[parent] == nil {
                    depth[parent] = depth[next]! + 1
                    queue.append(parent)
                }
            }
            return depth
        }
        /// Ansible's group depth: 0 for all, else one more than its deepest
        /// parent (a group under no parent is all's child); a cycle is cut.
        var depths: [String: Int] = ["all": 0]
        func depth(_ group: String, _ visiting: Set<String> = []) -> Int {
            if let known = depths[group] { return known }
            let above = (parents[group] ?? []).filter { !visiting.contains($0) }
            let value = 1 + (above.map { depth($0, visiting.union([group])) }.max() ?? 0)
            depths[group] = value
            return value
        }
        /// `ansible_group_priority` of a group's own vars (default 1).
        func priority(_ group: String) -> Int { model.groupVars[group]?["ansible_group_priority"].flatMap { Int($0.text) } ?? 1 }
        var groupsOf: [String: [String]] = [:]
        for group in model.groupOrder {
            for host in model.members[group] ?? [] where !(groupsOf[host] ?? []).contains(group) { groupsOf[host, default: []].append(group) }
        }
        var usedNames: [String: Int] = [:], endpoints: [String: (name: String, line: Int, importedName: String)] = [:]
        var noteLines: [Note] = []
        for (name, line) in model.hostOrder {
            // Groups: the host's own, then every ancestor, in file order; Ansible's implicit ones left out.
            var distance: [String: Int] = [:]
            for group in groupsOf[name] ?? [] {
                for (ancestor, depth) in ancestors(group) { distance[ancestor] = min(distance[ancestor] ?? .max, depth) }
            }
            let groups = model.groupOrder.filter { distance[$0] != nil && $0 != "all" && $0 != "ungrouped" }
            // Precedence as Ansible's sort_groups: all, then the groups by
            // (depth below all, ansible_group_priority, name), later winning; then the host.
            var vars: [String: Value] = model.groupVars["all"] ?? [:]
            let ordered = distance.keys.filter { $0 != "all" }.sorted {
                (depth($0), priority($0), $0) < (depth($1), priority($1), $1)
            }
            for group in ordered { vars.merge(model.groupVars[group] ?? [:]) { _, new in new } }
            vars.merge(model.hostVars[name] ?? [:]) { _, new in new }

            var host = Host(name: name, address: name, port: nil, user: nil, groups: [])
            for (variable, value) in vars.sorted(by: { ($0.value.line, $0.key) < ($1.value.line, $1.key) }) {
                switch Self.carried[variable] {
                case .address?: host.address = value.text
                case .port?:
                    guard let port = Int(value.text), (1...65535).contains(port) else {
                        model.problem(value.line, value.column, "\(variable) of host \(UnsafeText.quoted(name)) must be a number from 1 to 65535, found \(UnsafeText.quoted(value.text))")
                        continue
                    }
                    host.port = port
                case .user?:
                    if let problem = InventoryRules.unixNameProblem(value.text), value.text != "root" {
                        model.problem(value.line, value.column, "\(variable) of host \(UnsafeText.quoted(name)) \(UnsafeText.quoted(value.text)) \(problem)")
                        continue
                    }
                    host.user = value.text
                case nil:
                    let note = Note(line: value.line, message: "\(variable) (\(value.owner)) not imported: keysync has no such setting")
                    if !noteLines.contains(note) { noteLines.append(note) }
                }
            }
            let endpoint: String
            switch InventoryRules.canonicalAddress(host.address) {
            case .success(let canonical):
                endpoint = "\(canonical) \(host.port ?? 22)"
                if let earlier = endpoints[endpoint] {
                    // Two names for one machine: the inventory takes one (two hosts may not
                    // share an address and port); this name's groups go to the first.
                    noteLines.append(Note(line: line, message: "host \(name) has the address and port of host \(earlier.name) (line \(earlier.line)); not imported, its groups added to \(earlier.name)"))
                    if let index = hosts.firstIndex(where: { $0.name == earlier.importedName }) {
                        for group in groups where InventoryRules.nameProblem(group) == nil && !hosts[index].groups.contains(group) {
                            hosts[index].groups.append(group)
                        }
                    }
                    continue
                }
            case .failure(let failure):
                model.problem(line, 1, "host \(UnsafeText.quoted(name)): address \(UnsafeText.quoted(host.address)) \(failure.reason)")
                continue
            }
            // Names: kept when valid, else made valid and unique (noted).
            var base = name
            if InventoryRules.nameProblem(name) != nil {
                base = AdoptDraft.name(from: name) ?? "host"
            }
            var unique = base, number = 1
            while usedNames[unique] != nil {
                number += 1
                unique = "\(base)-\(number)"
            }
            usedNames[unique] = line
            if unique != name { noteLines.append(Note(line: line, message: "host \(UnsafeText.quoted(name)) is named \(unique) (inventory names are letters, digits, '.', '_', '-', '@')")) }
            host.name = unique
            endpoints[endpoint] = (name, line, unique)
            for group in groups {
                guard InventoryRules.nameProblem(group) == nil else {
                    let note = Note(line: model.groupLine[group] ?? line, message: "group \(UnsafeText.quoted(group)) left out: not a valid inventory name")
                    if !noteLines.contains(note) { noteLines.append(note) }
                    continue
                }
                host.groups.append(group)
            }
            hosts.append(host)
        }
        for group in model.groupOrder where model.groupVars[group] != nil {
            let reached = hosts.contains { $0.groups.contains(group) } || group == "all"
            if !reached { noteLines.append(Note(line: model.groupLine[group] ?? 1, message: "vars of group \(group) apply to no host")) }
        }
        guard model.problems.isEmpty else { throw .invalid(model.problems.sorted()) }
        guard !hosts.isEmpty else { throw .noHosts(path) }
        notes = noteLines.sorted { ($0.line, $0.message) < ($1.line, $1.message) }
    }

    /// The inventory YAML `inventory import` prints: a comment block naming
    /// the source and what was not imported, then `defaults:` (settings every
    /// host shares) and `hosts:`. Keys and projects are for `keysync adopt`
    /// or the user to add.
    public func text() -> String {
        let file = (path as NSString).lastPathComponent
        var out = "# Imported from the Ansible inventory \(InventoryYAML.commentText(file)): \(hosts.count) host\(hosts.count == 1 ? "" : "s").\n"
        out += "# Next: `keysync adopt --inventory-hosts --inventory THIS_FILE --output adopted.yml` (docs/adopting.md).\n"
        if !notes.isEmpty {
            out += "#\n# Not imported (line numbers of \(InventoryYAML.commentText(file))):\n"
            for note in notes { out += "#   " + InventoryYAML.commentText(note.description) + "\n" }
        }
        let users = Set(hosts.map(\.user))
        if users.contains(nil) {
            out += "#\n# \(hosts.filter { $0.user == nil }.count) host(s) have no ansible_user: set `user:` under defaults: (or on the host)\n"
            out += "# before keysync can log in; validation names them.\n"
        }
        out += "\n"
        let section = DraftHostsSection(hosts.map { DraftHost(name: $0.name, address: $0.address, port: $0.port, user: $0.user, groups: $0.groups) })
        return out + section.text
    }
}

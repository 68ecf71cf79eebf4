import Foundation
@preconcurrency import Yams

/// Merging roles into per-host accounts, and the cross-role checks that need it.
///
/// Hosts targeted by the same list of projects get the same accounts, so the
/// merge runs once per distinct list (a handful, even for 10,000 hosts), and a
/// conflict is reported once, naming the first host and how many others share it.
extension InventoryLoader {
    /// A merge problem, located on a role field, before hosts are named.
    struct Finding: Hashable {
        let severity: Diagnostic.Severity
        let message: String
        let line: Int
        let column: Int
    }

    /// Merged accounts for every distinct project list in `hostProjects`; reports conflicts.
    mutating func mergeAccounts() -> [[Int]: [AccountTarget]] {
        var hostsByProjects: [[Int]: (first: Int, count: Int)] = [:], lists: [[Int]] = []
        for (host, list) in hostProjects.enumerated() where !list.isEmpty {
            if let seen = hostsByProjects[list] {
                hostsByProjects[list] = (seen.first, seen.count + 1)
            } else {
                hostsByProjects[list] = (host, 1)
                lists.append(list)
            }
        }
        var result: [[Int]: [AccountTarget]] = [:]
        var findings: [Finding: (first: Int, count: Int)] = [:]
        for list in lists {
            let (accounts, found) = accounts(for: list)
            result[list] = accounts
            let on = hostsByProjects[list]!
            for finding in Set(found) {
                findings[finding] = findings[finding].map { ($0.first, $0.count + on.count) } ?? on
            }
        }
        for (finding, on) in findings {
            let others = on.count - 1
            let message = finding.message + " on host \"\(hosts[on.first].name)\""
                + (others > 0 ? " and \(others) other host\(others == 1 ? "" : "s")" : "")
            reader.add(Diagnostic(file: path, line: finding.line, column: finding.column, severity: finding.severity, message: message))
        }
        return result
    }

    /// The accounts that the roles of `projectList` make on one host, in
    /// first-mention order, and the conflicts between those roles.
    func accounts(for projectList: [Int]) -> ([AccountTarget], [Finding]) {
        var accounts: [AccountTarget] = [], index: [String: Int] = [:], findings: [Finding] = []
        var setters: [String: RoleRef] = [:]                             // account, field → first role setting it
        var grants: [String: (ref: RoleRef, options: String?, until: Date?)] = [:]     // account, fingerprint → first grant

        func role(_ ref: RoleRef) -> String { "project \"\(projects[ref.project].name)\" role \"\(projects[ref.project].roles[ref.role].name)\"" }
        func node(_ ref: RoleRef, _ field: String) -> Node { roleNodes[ref.project][ref.role][field] ?? roleNodes[ref.project][ref.role].node }
        func keyNode(_ ref: RoleRef, _ name: String) -> Node {
            node(ref, "keys").sequence?.lazy.compactMap { $0.scalar != nil ? $0 : $0.mapping?.first { $0.key.scalar?.string == "key" }?.value }
                .first { $0.scalar?.string == name } ?? node(ref, "keys")
        }
        func find(_ severity: Diagnostic.Severity, _ message: String, at node: Node) {
            let (line, column) = NodeReader.position(of: node)
            findings.append(Finding(severity: severity, message: message, line: line, column: column))
        }

        for project in projectList {
            for (number, current) in projects[project].roles.enumerated() {
                let ref = RoleRef(project: project, role: number), name = current.account
                let i = index[name] ?? accounts.count
                if i == accounts.count {
                    index[name] = i
                    accounts.append(AccountTarget(name: name))
                }
                func merge<T: Equatable>(_ field: String, _ path: WritableKeyPath<AccountTarget, T?>, _ value: T?) {
                    guard let value else { return }
                    guard let existing = accounts[i][keyPath: path], let setter = setters[name + "\0" + field] else {
                        accounts[i][keyPath: path] = value
                        setters[name + "\0" + field] = ref
                        return
                    }
                    if existing != value {
                        find(.error, "\(role(ref)): account \"\(name)\" \(field) \(value) conflicts with \(field) \(existing) from \(role(setter)) (line \(NodeReader.line(of: node(setter, field))))", at: node(ref, field))
                    }
                }
                merge("uid", \.uid, current.uid)
                merge("gid", \.gid, current.gid)
                merge("group", \.group, current.group)
                merge("shell", \.shell, current.shell)
                merge("home", \.home, current.home)
                accounts[i].create = accounts[i].create || current.create
                accounts[i].exclusive = accounts[i].exclusive || current.exclusive

                let entries = current.keys.map { DesiredEntry(keys[keyIndex[$0]!], until: current.until[$0]) }
                for entry in entries {
                    let grant = name + "\0" + entry.key.fingerprint
                    guard let prior = grants[grant] else {
                        grants[grant] = (ref, entry.options, entry.until)
                        continue
                    }
                    let also = "\(role(ref)): key \"\(entry.keyName)\" is also granted to account \"\(name)\" by \(role(prior.ref)) (line \(NodeReader.line(of: node(prior.ref, "keys"))))"
                    if prior.options != entry.options {
                        find(.error, also + " with different options", at: keyNode(ref, entry.keyName))
                    } else if prior.until != entry.until {
                        // sshd tries every line of a key, so the later end would win on the host.
                        find(.error, also + " with a different until", at: keyNode(ref, entry.keyName))
                    } else {
                        find(.warning, also + "; the file will hold it twice", at: keyNode(ref, entry.keyName))
                    }
                }
                accounts[i].blocks.append(DesiredBlock(project: projects[project].name, role: current.name, entries: entries,
                                                         adopt: current.adopt))
            }
        }

        var uids: [UInt32: String] = [:]
        for account in accounts {
            guard let uid = account.uid, let setter = setters[account.name + "\0uid"] else { continue }
            if let other = uids[uid] {
                find(.error, "\(role(setter)): account \"\(account.name)\" has uid \(uid), already used by account \"\(other)\"", at: node(setter, "uid"))
            } else {
                uids[uid] = account.name
            }
        }
        return (accounts, findings)
    }
}

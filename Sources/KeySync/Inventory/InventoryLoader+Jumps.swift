@preconcurrency import Yams

/// `jump:` in `defaults` and on hosts (docs/inventory.md, "Jump hosts").
extension InventoryLoader {
    /// The references of a `jump:` value: one string, a list of strings
    /// (outermost first), or `none` (no jump host, overriding `defaults`).
    mutating func jumpReferences(_ node: Node, _ what: String) -> [(value: String, node: Node)] {
        if node.sequence != nil { return reader.strings(node, what) }
        guard let value = reader.string(node, what) else { return [] }
        return value == "none" ? [] : [(value, node)]
    }

    /// Sets every host's `jumps` from its own `jump:` or the default's.
    /// A host never jumps through itself: a chain that reaches it stops
    /// before it (so `defaults: { jump: bastion }` leaves `bastion` direct).
    mutating func resolveJumps() {
        for index in hosts.indices {
            guard let jump = hostJumps[index] ?? defaults.jump else { continue }
            var visiting = [hosts[index].name]
            if let chain = chain(of: jump.references, for: index, visiting: &visiting) {
                hosts[index].jumps = chain
            }
        }
    }

    /// The hops of `references` (the first one's own chain before it, when
    /// it is a named host), reached by host `index`; nil after reporting a problem.
    private mutating func chain(of references: [(value: String, node: Node)], for index: Int,
                                visiting: inout [String]) -> [InventoryJump]? {
        var hops: [InventoryJump] = []
        for (reference, node) in references {
            if reference == hosts[index].name { break }
            let what = "host \"\(hosts[index].name)\": jump \"\(reference)\""
                + (hostJumps[index] == nil ? "" : jumpSources[index].map { " (ProxyJump at \($0))" } ?? "")
            if let named = hostIndex[reference] {
                if visiting.contains(reference) {
                    // Every host on the loop would find it: report it once.
                    guard reportedJumpLoops.insert(Set(visiting)).inserted else { return nil }
                    reader.error("\(what): the jump hosts loop (\((visiting + [reference]).joined(separator: " → "))); give one of them jump: none", at: node)
                    return nil
                }
                visiting.append(reference)
                defer { visiting.removeLast() }
                // As OpenSSH's ProxyJump: the first hop is reached its own
                // way (its jump:), each later one through the hops before it.
                guard hops.isEmpty, let before = hostJumps[named] ?? defaults.jump else {
                    hops.append(InventoryJump(hosts[named]))
                    continue
                }
                guard let inner = chain(of: before.references, for: named, visiting: &visiting) else { return nil }
                hops += inner + [InventoryJump(hosts[named])]
                continue
            }
            switch InventoryJump.split(reference) {
            case .failure(let problem):
                reader.error("\(what) is neither a host under hosts: nor [user@]address[:port]; it \(problem.reason)"
                    + Suggestion.hint(for: reference, in: hostIndex.keys), at: node)
                return nil
            case .success(let parts) where !parts.address.contains(".") && !parts.address.contains(":"):
                // A bare word is taken for a host name under hosts: (a typo
                // must not become a DNS lookup); a DNS name needs its dots.
                reader.error("\(what): no host \"\(parts.address)\" under hosts:"
                    + Suggestion.hint(for: reference, in: hostIndex.keys) + " (a DNS name is written with its domain)", at: node)
                return nil
            case .success(let parts):
                let address: String
                switch InventoryRules.canonicalAddress(parts.address) {
                case .failure(let problem):
                    reader.error("\(what) is neither a host under hosts: nor [user@]address[:port]: address \"\(parts.address)\" \(problem.reason)"
                        + Suggestion.hint(for: reference, in: hostIndex.keys), at: node)
                    return nil
                case .success(let canonical):
                    address = parts.address.contains(":") ? canonical : parts.address  // IPv6 as ssh spells it
                }
                if let user = parts.user, let problem = InventoryRules.unixNameProblem(user) {
                    reader.error("\(what): user \"\(user)\" \(problem)", at: node)
                    return nil
                }
                let agent = defaults.agent ?? false
                hops.append(InventoryJump(
                    name: reference, address: address, port: parts.port ?? 22,
                    user: parts.user ?? defaults.user ?? hosts[index].user,
                    credential: agent ? .agent : .identity(path: defaults.identity ?? home + "/.ssh/id_ed25519"),
                    knownHosts: defaults.knownHosts ?? home + "/.ssh/known_hosts",
                    connectTimeout: defaults.connectTimeout ?? 10))
            }
        }
        // Reaching the same jump host twice on one way is a loop in disguise.
        var seen = Set<String>()
        for hop in hops where !seen.insert("\(hop.address) \(hop.port)").inserted {
            reader.error("host \"\(hosts[index].name)\": jump host \(hop.name) appears twice on the way", at: references.first?.node ?? references[0].node)
            return nil
        }
        return hops
    }
}

import Foundation
@preconcurrency import Yams

/// A role's `keys:` items: a key name, or `{ key: NAME, until: DATE }` for a
/// grant that ends (issue 16, "Grants that expire").
extension InventoryLoader {
    static let grantFields = ["key", "until"]

    /// The keys a role grants, from its `keys:` and then its `people:`, in
    /// that order and each key once (by fingerprint).
    struct RoleGrants {
        /// Key names in grant order.
        var names: [String] = []
        /// Fingerprint → the name it was first granted as.
        var fingerprints: [String: String] = [:]
        var until: [String: Date] = [:]
        var sources: [String: GrantSource] = [:]

        /// Grants `keyName`, named at `node` (by `person`, if one), unless
        /// its key is granted already: then nothing changes and the name it
        /// was first granted as is returned, for the caller's warning.
        mutating func add(_ keyName: String, fingerprint: String, at node: Node, person: String? = nil, until ends: Date?) -> String? {
            if let first = fingerprints[fingerprint] { return first }
            fingerprints[fingerprint] = keyName
            names.append(keyName)
            let (line, column) = NodeReader.position(of: node)
            sources[keyName] = GrantSource(line: line, column: column, person: person)
            if let ends { until[keyName] = ends }
            return nil
        }

        /// ` as "first"` when the key was first granted under another name.
        static func asFirst(_ keyName: String, _ first: String) -> String {
            first == keyName ? "" : " as \"\(first)\""
        }
    }

    /// One item of a role's `keys:`.
    struct GrantItem {
        let name: String
        /// The node that names the key (for diagnostics about the key).
        let node: Node
        /// When the grant ends; nil: it does not.
        let until: Date?
    }

    /// The items of `node` (a list; null or absent is an empty list), each
    /// reported where it is wrong.
    mutating func grantItems(_ node: Node?, _ what: String) -> [GrantItem] {
        guard let node, !NodeReader.isNull(node) else { return [] }
        guard let sequence = node.sequence else {
            reader.error("\(what) must be a list, found \(NodeReader.describe(node))", at: node)
            return []
        }
        var items: [GrantItem] = []
        for item in sequence {
            guard item.mapping != nil else {
                guard case .scalar = item else {
                    reader.error("\(what) item must be a key name or { key: NAME, until: DATE }, found \(NodeReader.describe(item))", at: item)
                    continue
                }
                if let name = reader.string(item, "\(what) item") { items.append(GrantItem(name: name, node: item, until: nil)) }
                continue
            }
            guard let fields = reader.fields(of: item, "\(what) item", allowed: Self.grantFields) else { continue }
            guard let keyNode = fields["key"] else {
                reader.error("\(what) item needs key (a key name), as in { key: kp-contractor, until: 2026-12-31 }", at: item)
                continue
            }
            guard let name = reader.string(keyNode, "\(what): key") else { continue }
            var until: Date?
            if let untilNode = fields["until"], let text = reader.string(untilNode, "\(what): key \"\(name)\": until") {
                switch GrantUntil.parse(text) {
                case .success(let date): until = date
                case .failure(let problem):
                    let shown = text.count > 40 ? text.prefix(40) + "…" : Substring(text)
                    reader.error("\(what): key \"\(name)\": until \"\(shown)\" \(problem.reason)", at: untilNode)
                }
            }
            items.append(GrantItem(name: name, node: keyNode, until: until))
        }
        return items
    }
}

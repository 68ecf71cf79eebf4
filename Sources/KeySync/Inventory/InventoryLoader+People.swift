import Foundation
@preconcurrency import Yams

/// `people:` and a role's `people: [...]`.
///
/// A person is a name for a set of keys, so that access follows the person:
/// a role that grants `people: [alice]` gets alice's keys in its block, and
/// `left:` on alice revokes every one of her keys everywhere, as if each were
/// listed under `revoked:` (so `push` removes them from every managed account
/// and `offboard` from every account on every host).
extension InventoryLoader {
    static let personFields = ["keys", "email", "until", "left"]

    /// Reads `people:`; runs after `keys` and `revoked`, before `projects`.
    /// Leavers' keys join `revoked` (located at their `left:`), so a role that
    /// still grants one of them directly is an error, as for any revoked key.
    mutating func readPeople(_ node: Node) {
        /// Fingerprint → the first person it belongs to.
        var owner: [String: (person: String, node: Node)] = [:]
        /// Each readable person's `left:` node and key nodes, for the second pass.
        var read: [(index: Int, left: Node?, keyNodes: [String: Node])] = []
        for (name, nameNode, value) in reader.entries(of: node, "people") {
            if let problem = InventoryRules.nameProblem(name) { reader.error("person name \"\(name)\" \(problem)", at: nameNode) }
            let what = "person \"\(name)\""
            brokenPeople.insert(name)
            guard let fields = reader.fields(of: value, what, allowed: Self.personFields) else { continue }
            var names: [String] = [], keyNodes: [String: Node] = [:]
            for (keyName, keyNode) in reader.strings(fields["keys"], "\(what): keys") {
                if keyNodes[keyName] != nil {
                    reader.warning("\(what): key \"\(keyName)\" is listed twice; listed once", at: keyNode)
                    continue
                }
                keyNodes[keyName] = keyNode
                guard let index = keyIndex[keyName] else {
                    if !brokenKeys.contains(keyName) {
                        reader.error("\(what): undefined key \"\(keyName)\"" + Suggestion.hint(for: keyName, in: keyIndex.keys), at: keyNode)
                    }
                    continue
                }
                let fingerprint = keys[index].fingerprint
                certificateGrant(keys[index], what: "\(what): key \"\(keyName)\"", at: keyNode)
                if let first = owner[fingerprint], first.person != name {
                    reader.warning("\(what): key \"\(keyName)\" is also a key of person \"\(first.person)\" (line \(NodeReader.line(of: first.node))); if either leaves, it is revoked for both", at: keyNode)
                } else {
                    owner[fingerprint] = (name, keyNode)
                }
                names.append(keyName)
            }
            if names.isEmpty && keyNodes.isEmpty {
                reader.warning("\(what) has no keys; roles naming them grant nothing and offboard has nothing to look for", at: fields["keys"] ?? nameNode)
            }
            let email = fields["email"].flatMap { node in reader.string(node, "\(what): email").flatMap { text -> String? in
                guard Self.isEmailLike(text) else {
                    reader.error("\(what): email \(UnsafeText.quoted(text)) is not an address (name@domain, no spaces or control characters)", at: node)
                    return nil
                }
                return text
            } }
            let until = fields["until"].flatMap { date($0, "\(what): until", endOfDay: true) }
            let left = fields["left"].flatMap { date($0, "\(what): left", endOfDay: false) }
            let (line, column) = NodeReader.position(of: nameNode)
            brokenPeople.remove(name)
            personIndex[name] = people.count
            read.append((people.count, left == nil ? nil : fields["left"], keyNodes))
            people.append(InventoryPerson(name: name, keys: names, email: email, until: until, left: left, line: line, column: column))
        }
        // Leavers first, so a key shared with a leaver is known revoked below.
        for (index, leftNode, _) in read {
            guard let leftNode else { continue }
            for keyName in people[index].keys {
                let fingerprint = keys[keyIndex[keyName]!].fingerprint
                if revoked[fingerprint] == nil { revoked[fingerprint] = leftNode }
            }
        }
        for (index, leftNode, keyNodes) in read where leftNode == nil {
            let person = people[index]
            for keyName in person.keys {
                guard let revokedAt = revoked[keys[keyIndex[keyName]!].fingerprint], let keyNode = keyNodes[keyName] else { continue }
                reader.warning("person \"\(person.name)\": key \"\(keyName)\" is revoked (line \(NodeReader.line(of: revokedAt))); roles that name \(person.name) do not grant it", at: keyNode)
            }
        }
    }

    /// A role's `people:`: adds each current person's keys to `grants`
    /// (keys already granted are listed once, with a warning), with the
    /// person's `until:` as their end, and returns the people named. A person
    /// who has left is skipped with a warning: their keys are revoked, and
    /// the role otherwise stands.
    mutating func readRolePeople(_ node: Node?, _ what: String, grants: inout RoleGrants) -> [String] {
        var named: [String] = [], seen = Set<String>()
        for (name, personNode) in reader.strings(node, "\(what): people") {
            guard seen.insert(name).inserted else {
                reader.warning("\(what): person \"\(name)\" is listed twice; listed once", at: personNode)
                continue
            }
            guard let index = personIndex[name] else {
                if !brokenPeople.contains(name) {
                    reader.error("\(what): undefined person \"\(name)\"" + Suggestion.hint(for: name, in: personIndex.keys), at: personNode)
                }
                continue
            }
            let person = people[index]
            if let left = person.left {
                reader.warning("\(what): person \"\(name)\" left on \(InventoryDate.text(left)) (line \(person.line)); their keys are revoked, so this role does not grant them. Remove \"\(name)\" from people", at: personNode)
                continue
            }
            named.append(name)
            for keyName in person.keys {
                guard let keyNumber = keyIndex[keyName] else { continue }
                let key = keys[keyNumber]
                guard revoked[key.fingerprint] == nil else { continue }  // warned at the person
                grantedKeys.insert(keyNumber)
                if let first = grants.add(keyName, fingerprint: key.fingerprint, at: personNode, person: name, until: person.until) {
                    reader.warning("\(what): key \"\(keyName)\" of person \"\(name)\" is already granted\(RoleGrants.asFirst(keyName, first)); listed once", at: personNode)
                }
            }
        }
        return named
    }

    /// A date or time (``InventoryDate``), or a located error saying what is expected.
    mutating func date(_ node: Node, _ what: String, endOfDay: Bool) -> Date? {
        guard let text = reader.string(node, what) else { return nil }
        guard let date = InventoryDate.parse(text, endOfDay: endOfDay) else {
            reader.error("\(what) must be \(InventoryDate.expected), found \(NodeReader.describe(node))", at: node)
            return nil
        }
        return date
    }

    /// `local@domain`: one `@` with text on both sides, no blanks or unsafe characters.
    static func isEmailLike(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
            && !text.unicodeScalars.contains { $0.isUnsafeInText || $0.properties.isWhitespace }
    }
}

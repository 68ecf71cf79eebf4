import Foundation

/// A loaded and validated inventory: hosts with their defaults resolved, keys
/// loaded and fingerprinted, revoked fingerprints, projects, and the merged
/// accounts per host that ``select(projects:hosts:groups:)`` hands to the sync engine.
///
/// An `Inventory` value only exists if validation found no error; warnings
/// are kept in ``warnings``.
public struct Inventory: Sendable {
    /// The inventory file as the user named it.
    public let path: String
    /// Lower-case hex SHA-256 of the file's bytes, recorded with every run.
    public let inventoryHash: String
    /// Hosts in flight at once (`defaults.parallel`, built-in 64).
    public let parallel: Int
    /// Every host, in file order.
    public let hosts: [InventoryHost]
    /// Every key, in file order.
    public let keys: [InventoryKey]
    /// `revoked`, as fingerprints (key names resolved): removed from every managed account.
    public let revokedFingerprints: Set<String>
    /// Every project, in file order.
    public let projects: [InventoryProject]
    /// Every person (`people:`), in file order.
    public let people: [InventoryPerson]
    /// Every certificate authority (`certificate_authorities:`), in file order.
    public let certificateAuthorities: [InventoryCertificateAuthority]
    /// The certificates `revoked:` names (`{ ca: NAME, serial: N }`,
    /// `{ ca: NAME, key_id: ID }`), in file order, without repeats.
    public let revokedCertificates: [RevokedCertificate]
    /// Warnings found while validating (errors prevent loading).
    public let warnings: [Diagnostic]

    let hostIndex: [String: Int]
    let keyIndex: [String: Int]
    let projectIndex: [String: Int]
    let personIndex: [String: Int]
    /// Group name → host indices, in file order.
    let groupMembers: [String: [Int]]
    /// Host index → indices of the projects that target it, ascending.
    let hostProjects: [[Int]]
    /// Project index list (as in `hostProjects`) → merged accounts with blocks of all those projects.
    let accountsByProjects: [[Int]: [AccountTarget]]

    /// Reads and validates the inventory at `path`.
    ///
    /// - Parameter homeDirectory: what `~` expands to; `$HOME` by default.
    /// - Throws: ``InventoryError/unreadable(path:reason:)`` or ``InventoryError/invalid(_:)``
    ///   with every problem found.
    public static func load(path: String, homeDirectory: String? = nil) throws(InventoryError) -> Inventory {
        let bytes: [UInt8]
        switch FileReader.contents(of: path) {
        case .success(let contents): bytes = contents
        case .failure(let failure): throw .unreadable(path: path, reason: failure.reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let line = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                .firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0
            throw .invalid([Diagnostic(file: path, line: line + 1, column: 1, message: "the file is not UTF-8 text")])
        }
        return try parse(text, path: path, homeDirectory: homeDirectory)
    }

    /// Validates inventory text as if read from `path`: relative paths in it
    /// resolve against `path`'s folder, diagnostics name `path`.
    public static func parse(_ text: String, path: String, homeDirectory: String? = nil) throws(InventoryError) -> Inventory {
        let home = homeDirectory ?? ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        var loader = InventoryLoader(path: path, homeDirectory: home)
        return try loader.load(text)
    }

    /// The host named `name`.
    public func host(named name: String) -> InventoryHost? { hostIndex[name].map { hosts[$0] } }

    /// The key named `name`.
    public func key(named name: String) -> InventoryKey? { keyIndex[name].map { keys[$0] } }

    /// The project named `name`.
    public func project(named name: String) -> InventoryProject? { projectIndex[name].map { projects[$0] } }

    /// The certificate authority named `name`.
    public func certificateAuthority(named name: String) -> InventoryCertificateAuthority? {
        certificateAuthorities.first { $0.name == name }
    }

    /// The person named `name`.
    public func person(named name: String) -> InventoryPerson? { personIndex[name].map { people[$0] } }

    /// `; did you mean "alice"?` for a person name not in `people:`, or the empty string.
    public func personHint(for name: String) -> String { Suggestion.hint(for: name, in: personIndex.keys) }

    /// Group name → member host names, in file order.
    public var groups: [String: [String]] { groupMembers.mapValues { $0.map { hosts[$0].name } } }
}

import Foundation

extension AdoptDraft {
    /// The draft as inventory YAML: a comment block saying what was found
    /// and what was not adopted (with host, file and line), then
    /// `defaults:`, `keys:`, `hosts:` and `projects:`. Every value from a
    /// host is quoted or escaped (``InventoryYAML``).
    ///
    /// - Parameter date: the day written in the header.
    public func text(date: Date = Date()) -> String {
        var out = "# keysync adopt draft, \(InventoryDate.day(date)): \(count(hostsRead, "host")) read"
        out += failures.isEmpty ? "" : ", \(failures.count) could not be read"
        out += "; \(count(keys.count, "key")), \(count(projects.count, "project")).\n"
        out += """
            # Every key line adopted is granted below as it was found (options kept)
            # by roles with `adopt: true`: `keysync push --dry-run` adds and removes no
            # key, and push moves those lines, byte for byte, between keysync:begin/end
            # markers (docs/adopting.md). Read the lists below before you push.

            """
        func list(_ title: [String], _ lines: [String]) {
            guard !lines.isEmpty else { return }
            out += "#\n" + title.map { "# \($0)\n" }.joined()
            for line in lines { out += "#   " + InventoryYAML.commentText(line) + "\n" }
        }
        list(["Not adopted: left on the hosts exactly as they are. Fix them by hand, or",
                 "add a key to a role (or to revoked:) once you have decided:"], notes.map(\.description))
        list(["Key sets that differ between hosts: one role per set, each in the project",
                 "(and group) of the hosts that have it, so no host gets a key it did not have:"], differences)
        list(["Hosts that could not be read: listed under hosts: in no project, so push",
                 "changes nothing there; run adopt again for them:"], failures.map { "\($0.host): \($0.error)" })
        out += "\n"
        let hostsSection = DraftHostsSection(hosts, parallel: parallel)
        if !hostsSection.defaults.isEmpty { out += "defaults:\n" + hostsSection.defaults.map { $0 + "\n" }.joined() }
        if keys.isEmpty {
            out += "keys: {}\n"
        } else {
            out += "keys:\n"
            for key in keys {
                out += "  \(InventoryYAML.scalar(key.name)):\n"
                out += "    public: \(InventoryYAML.quoted(key.publicKey.openSSHLine))\n"
                if let options = key.options { out += "    options: \(InventoryYAML.quoted(options))\n" }
            }
        }
        out += hostsSection.hosts.isEmpty ? "hosts: {}\n" : "hosts:\n" + hostsSection.hosts.map { $0 + "\n" }.joined()
        guard !projects.isEmpty else { return out }
        out += "projects:\n"
        for project in projects {
            out += "  \(InventoryYAML.scalar(project.name)):\n"
            out += "    hosts: [\(InventoryYAML.quoted("group:" + project.name))]\n"
            out += "    roles:\n"
            for role in project.roles {
                out += "      \(InventoryYAML.scalar(role.name)):\n"
                if role.account != role.name { out += "        account: \(InventoryYAML.scalar(role.account))\n" }
                if let uid = role.uid { out += "        uid: \(uid)\n" }
                if let gid = role.gid { out += "        gid: \(gid)\n" }
                if let shell = role.shell { out += "        shell: \(InventoryYAML.scalar(shell))\n" }
                if let home = role.home { out += "        home: \(InventoryYAML.scalar(home))\n" }
                out += "        adopt: true\n"
                out += "        keys: \(InventoryYAML.flowList(role.keys))\n"
            }
        }
        return out
    }

    private func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}

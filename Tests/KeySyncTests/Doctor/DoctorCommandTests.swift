import ArgumentParser
import Foundation
import Testing
@testable import KeySync
@testable import KeySyncCLI

@Suite struct DoctorCommandTests: SubcommandParsing {
    typealias Command = KeySyncCommand.Doctor

    @Test func parsesEveryOption() throws {
        let doctor = try parse(["--project", "a", "--project", "b", "--host", "h1", "--group", "web", "--account", "usersample",
                                "--key", "kp-usersample", "--sshd-log", "/var/log/a", "--sshd-log", "/var/log/b", "--log-lines", "3",
                                "--try-login", "/dev/null", "--parallel", "8", "--fix", "--json", "--verbose", "--inventory", "i.yml", "--db", "k.db"])
        #expect(doctor.selection.project == ["a", "b"] && doctor.selection.host == ["h1"] && doctor.selection.group == ["web"])
        #expect(doctor.account == "usersample" && doctor.key == "kp-usersample")
        #expect(doctor.sshdLog == ["/var/log/a", "/var/log/b"] && doctor.logLines == 3)
        #expect(doctor.tryLogin == "/dev/null" && doctor.parallelOption.parallel == 8 && doctor.fix && doctor.output.json && doctor.verbose)
        #expect(doctor.inventoryOption.inventory == "i.yml" && doctor.databaseOption.db == "k.db")
        let plain = try parse([])
        #expect(plain.logLines == 10 && !plain.output.json && !plain.fix && plain.account == nil && plain.sshdLog.isEmpty)
    }

    @Test func validation() {
        #expect(parseError(["doctor", "--parallel", "0"]) == "--parallel must be between 1 and 4096 (as the inventory's parallel)")
        #expect(parseError(["doctor", "--log-lines", "1001"]) == "--log-lines must be between 0 and 1000")
        // Checked before a database is opened (or created, with --fix).
        #expect(parseError(["doctor", "--fix", "--try-login", "/nonexistent/id"]) == "--try-login /nonexistent/id: no such file, or not readable")
    }

    /// Unknown keys and selections that leave nothing exit 1 before any host is contacted.
    @Test func badSelectionsExitOne() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try """
            defaults: { user: ops, identity: /nonexistent/id, known_hosts: /nonexistent/known_hosts }
            keys:
              kp-usersample: { file: \(KeyFixtures.path("id_ed25519.pub")) }
            hosts:
              h1: { address: 127.0.0.1, port: 1 }
            projects:
              usersample:
                hosts: [h1]
                roles:
                  deploy: { account: usersample, keys: [kp-usersample] }
            """.write(to: folder.file("inventory.yml"), atomically: true, encoding: .utf8)
        let inventory = folder.file("inventory.yml").path
        #expect(throws: ExitCode(1)) { try parse(["--inventory", inventory, "--key", "kp-nosuch"]).run() }
        #expect(throws: ExitCode(1)) { try parse(["--inventory", inventory, "--account", "nobody"]).run() }
        #expect(throws: ExitCode(1)) { try parse(["--inventory", inventory, "--host", "h2"]).run() }
        #expect(throws: ExitCode(1)) { try parse(["--inventory", folder.file("missing.yml").path]).run() }
        try "not a database".write(to: folder.file("bad.db"), atomically: true, encoding: .utf8)
        #expect(throws: ExitCode(1)) { try parse(["--inventory", inventory, "--db", folder.file("bad.db").path]).run() }
    }

    @Test func help() {
        #expect(KeySyncCommand.helpMessage(for: KeySyncCommand.Doctor.self, columns: 100) == """
            OVERVIEW: Explain why a role login would fail, with the evidence and the fix.

            Without --fix, read-only: one probe per host, nothing written on hosts or in the database. --fix
            applies the safe fixes (owners and modes of home, .ssh and authorized_keys; unlocking accounts the
            inventory creates) through push's write path, records a doctor-fix run, and examines again. Exit 0
            when no finding (left) is an error, 2 when one is, 3 if any host failed (3 wins).

            USAGE: keysync doctor <options>

            OPTIONS:
              --inventory <inventory> Inventory file (default: $KEYSYNC_INVENTORY, then ./inventory.yml).
              --db <db>               SQLite database (default: $KEYSYNC_DB, then ./keysync.db).
              --project <project>     Select a project (repeatable).
              --host <host>           Select a host by name (repeatable).
              --group <group>         Select a host group (repeatable).
              --account <name>        Only this account (Unix name).
              --key <name>            Only accounts granted this inventory key, and only its per-key findings.
              --sshd-log <path>       A log file on the hosts to search for sshd lines (repeatable), besides
                                      auth.log, secure, sshd's own log file and the journal.
              --log-lines <n>         sshd log lines quoted per account. (default: 10)
              --try-login <private-key|certificate>
                                      Also log in as each account with this private key (before probing) and
                                      quote the server's answer; given an OpenSSH user certificate
                                      (*-cert.pub), explain whether sshd would take it.
              --parallel <parallel>   Hosts in flight at once (default: inventory `parallel`, else 64).
              --fix                   Apply the safe fixes (owners, modes, unlock of accounts the inventory
                                      creates), record them, and examine again.
              --json                  Print one JSON document instead of text.
              --verbose               Text output: also show info findings (the sshd log lines, logins that
                                      worked).
              --log-level <level>     Log each host's phases (connect, auth, probe, apply) with milliseconds to
                                      stderr; debug also when each starts. (values: info, debug)
              --version               Show the version.
              -h, --help              Show help information.

            """)
    }
}

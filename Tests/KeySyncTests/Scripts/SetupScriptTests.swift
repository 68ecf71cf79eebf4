import Foundation
import Testing

/// `Scripts/setup` decides which Debian packages to install and
/// `Scripts/test` which binaries are missing from its shell functions; these
/// tests source the script and call them, with a stub `dpkg-query` first on
/// `PATH` so every dpkg state can be tried without touching the machine's
/// packages (issue 23: `dpkg -s` took a removed package, state `rc`, for an
/// installed one).
@Suite struct SetupScriptTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/setup").path

    /// A package name and the `${db:Status-Abbrev}` lines the stub prints for
    /// it (nil: dpkg does not know the name), and whether setup must take it
    /// as installed.
    struct State: Sendable, CustomTestStringConvertible {
        var name: String
        var abbrev: [String]?
        var installed: Bool
        var testDescription: String { "\(name) \(abbrev.map { $0.map { "[\($0)]" }.joined() } ?? "unknown")" }
    }

    static let states: [State] = [
        State(name: "ks-installed", abbrev: ["ii "], installed: true),
        State(name: "ks-held", abbrev: ["hi "], installed: true),
        State(name: "ks-removed", abbrev: ["rc "], installed: false),
        State(name: "ks-known-not-installed", abbrev: ["un "], installed: false),
        State(name: "ks-purged", abbrev: ["pn "], installed: false),
        State(name: "ks-unpacked", abbrev: ["iU "], installed: false),
        State(name: "ks-half-configured", abbrev: ["iF "], installed: false),
        State(name: "ks-half-installed", abbrev: ["iH "], installed: false),
        State(name: "ks-triggers-awaited", abbrev: ["iW "], installed: false),
        State(name: "ks-triggers-pending", abbrev: ["iT "], installed: false),
        State(name: "ks-reinstall-required", abbrev: ["iiR"], installed: false),
        State(name: "ks-deinstall-requested", abbrev: ["ri "], installed: false),
        State(name: "ks-removed-one-arch", abbrev: ["rc ", "ii "], installed: true),
        State(name: "ks-half-every-arch", abbrev: ["iU ", "rc "], installed: false),
        State(name: "ks-not-known", abbrev: nil, installed: false),
    ]

    @Test(arguments: states)
    func packageStateDecidesInstall(_ state: State) throws {
        let stub = try StubDirectory(states: Self.states)
        defer { stub.remove() }
        let run = try Self.bash(#"source "$1"; shift; missing_packages "$@""#, [Self.script, state.name],
                                path: stub.path + ":/usr/bin:/bin")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == (state.installed ? "" : state.name + "\n"))
        #expect(try stub.queried() == [state.name], "setup must ask dpkg-query, once per package")
    }

    @Test func everyStateAtOnceListsOnlyTheMissingInOrder() throws {
        let stub = try StubDirectory(states: Self.states)
        defer { stub.remove() }
        let names = Self.states.map(\.name)
        let run = try Self.bash(#"source "$1"; shift; missing_packages "$@""#, [Self.script] + names,
                                path: stub.path + ":/usr/bin:/bin")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == Self.states.filter { !$0.installed }.map { $0.name + "\n" }.joined())
    }

    /// The stub proves the decision; this proves the real `dpkg-query`
    /// prints what the stub imitates (dpkg itself is `ii` on every Debian).
    @Test func realDpkgQueryAgrees() throws {
        let run = try Self.bash(#"source "$1"; shift; missing_packages "$@""#, [Self.script, "dpkg", "ks-no-such-package"],
                                path: "/usr/bin:/bin")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "ks-no-such-package\n")
    }

    @Test func missingToolsNamesEachMissingBinaryOnOneLine() throws {
        let stub = try StubDirectory(states: [])
        defer { stub.remove() }
        try stub.executable("sudo")
        try stub.executable("sshd")
        let tools = ["\(stub.path)/sshd:openssh-server", "sudo:sudo", "\(stub.path)/absent/sshd:openssh-server",
                     "ks-absent-chromium:chromium", "ks-absent-sqlite3:sqlite3"]
        let run = try Self.bash(#"source "$1"; shift; missing_tools "$@""#, [Self.script] + tools, path: stub.path + ":/bin")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "sshd (openssh-server), ks-absent-chromium (chromium), ks-absent-sqlite3 (sqlite3)\n")

        let none = try Self.bash(#"source "$1"; shift; missing_tools "$@""#, [Self.script, "sudo:sudo"], path: stub.path + ":/bin")
        #expect(none.status == 0 && none.stdout == "", "\(none.stderr)")
    }

    /// What Scripts/test runs: with nothing but `dirname` on PATH, every
    /// binary found through PATH is missing, named in one line, exit 1.
    @Test func checkToolsFailsWithOneLine() throws {
        let stub = try StubDirectory(states: [])
        defer { stub.remove() }
        try FileManager.default.createSymbolicLink(atPath: stub.path + "/dirname", withDestinationPath: "/usr/bin/dirname")
        let run = try Self.bash(#"exec /bin/bash "$@""#, [Self.script, "--check-tools"], path: stub.path)
        #expect(run.status == 1)
        #expect(run.stdout == "")
        let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1] == "", "one line: \(run.stderr)")
        #expect(run.stderr.hasPrefix("setup: error: missing binaries: "))
        for named in ["ssh (openssh-client)", "sudo (sudo)", "nsenter (util-linux)", "chromium (chromium)"] {
            #expect(run.stderr.contains(named), "\(named) in \(run.stderr)")
        }
    }

    /// A folder with a `dpkg-query` that answers from `states` the way the
    /// real one does for `-W -f='${db:Status-Abbrev}\n' NAME`, logs every
    /// name asked, and fails loudly on any other use.
    struct StubDirectory {
        let path: String

        init(states: [State]) throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-setup-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            var cases = ""
            for state in states {
                if let abbrev = state.abbrev {
                    cases += "    \(state.name)) printf '%s\\n' \(abbrev.map { "'\($0)'" }.joined(separator: " ")) ;;\n"
                }
            }
            let stub = """
                #!/bin/sh
                [ "$#" -eq 3 ] && [ "$1" = -W ] && [ "$2" = '-f=${db:Status-Abbrev}\\n' ] || { echo "stub dpkg-query: unexpected $*" >&2; exit 2; }
                printf '%s\\n' "$3" >> "\(path)/queried"
                case "$3" in
                \(cases)    *) echo "dpkg-query: no packages found matching $3" >&2; exit 1 ;;
                esac

                """
            try Data(stub.utf8).write(to: URL(fileURLWithPath: path + "/dpkg-query"))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path + "/dpkg-query")
        }

        func executable(_ name: String) throws {
            try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: path + "/" + name))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path + "/" + name)
        }

        func queried() throws -> [String] {
            try String(contentsOfFile: path + "/queried", encoding: .utf8).split(separator: "\n").map(String.init)
        }

        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `bash -c COMMAND bash ARGS…` with only `PATH` in the environment.
    static func bash(_ command: String, _ arguments: [String], path: String) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command, "bash"] + arguments
        process.environment = ["PATH": path, "LC_ALL": "C"]
        // Output goes to files, not pipes: nothing can fill up and block.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-bash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out"), errURL = directory.appendingPathComponent("err")
        for url in [outURL, errURL] { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer { try? out.close(); try? err.close() }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

import Foundation
import Testing

/// `Scripts/version` turns `git describe` into the version `keysync --version`
/// prints and the Debian package carries. These tests copy the script and the
/// file it reads the fallback from into a scratch git repository, walk it
/// through the states a checkout can be in, and check each version as
/// `Scripts/version` documents it, and that dpkg orders them as releases go.
@Suite struct VersionScriptTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A scratch checkout: Scripts/version and Sources/KeySync/Version.swift
    /// (the real ones), committed once.
    struct Checkout {
        let path: String

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("keysync-version-\(UUID().uuidString)").path
            let fm = FileManager.default
            try fm.createDirectory(atPath: path + "/Scripts", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: path + "/Sources/KeySync", withIntermediateDirectories: true)
            try fm.copyItem(atPath: root.appendingPathComponent("Scripts/version").path, toPath: path + "/Scripts/version")
            try fm.copyItem(atPath: root.appendingPathComponent("Sources/KeySync/Version.swift").path,
                            toPath: path + "/Sources/KeySync/Version.swift")
        }

        /// Runs bash in the checkout, with a fixed git identity.
        func run(_ command: String) throws -> SetupScriptTests.Output {
            try SetupScriptTests.bash(
                #"cd "$1" && export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t HOME="$1" && "#
                    + command,
                [path], path: "/usr/bin:/bin")
        }

        /// Runs `command`, then Scripts/version; returns its one line.
        func version(after command: String) throws -> String {
            let result = try run(command + " && Scripts/version")
            #expect(result.status == 0, "\(command): \(result.stderr)")
            return result.stdout.hasSuffix("\n") ? String(result.stdout.dropLast()) : result.stdout
        }

        /// The abbreviated hash of HEAD, as `git describe` spells it.
        func head() throws -> String {
            try run("git rev-parse --short=7 HEAD").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func eachCheckoutStateGivesTheDocumentedVersion() throws {
        let checkout = try Checkout()
        defer { checkout.remove() }
        let fallback = try #require(
            try String(contentsOf: Self.root.appendingPathComponent("Sources/KeySync/Version.swift"), encoding: .utf8)
                .firstMatch(of: /public static let fallback = "([^"]*)"/)?.1).description

        #expect(try checkout.version(after: "true") == fallback, "not a git checkout: the fallback")

        _ = try checkout.run("git init -q && git add -A && git commit -q -m one")
        let hash1 = try checkout.head()
        #expect(try checkout.version(after: "true") == "\(fallback)~git1.g\(hash1)", "no v* tag yet")

        _ = try checkout.run("git tag not-a-version")
        #expect(try checkout.version(after: "true") == "\(fallback)~git1.g\(hash1)", "only v<digit> tags count")

        #expect(try checkout.version(after: "git tag v0.2") == "0.2", "on the tag")
        #expect(try checkout.version(after: "echo '// x' >> Sources/KeySync/Version.swift")
            == "0.2+0.g\(hash1).dirty", "changed tracked file")

        _ = try checkout.run("git commit -q -am two")
        let hash2 = try checkout.head()
        #expect(try checkout.version(after: "true") == "0.2+1.g\(hash2)", "one commit after the tag")

        #expect(try checkout.version(after: "git tag v0.3-rc1") == "0.3~rc1", "a release candidate sorts before 0.3")
    }

    /// The versions, in the order they are made, must also be in dpkg's
    /// order: each build upgrades the one before.
    @Test func dpkgOrdersTheVersionsAsReleasesGo() throws {
        let checkout = try Checkout()
        defer { checkout.remove() }
        var versions: [String] = []
        versions.append(try checkout.version(after: "git init -q && git add -A && git commit -q -m one"))
        versions.append(try checkout.version(after: "git commit -q --allow-empty -m two"))
        versions.append(try checkout.version(after: "git tag v0.1.0"))
        versions.append(try checkout.version(after: "git commit -q --allow-empty -m three"))
        versions.append(try checkout.version(after: "git tag v0.2-rc1"))
        versions.append(try checkout.version(after: "git commit -q --allow-empty -m four"))
        versions.append(try checkout.version(after: "git tag v0.2"))
        versions.append(try checkout.version(after: "git commit -q --allow-empty -m five"))
        #expect(Set(versions).count == versions.count, "\(versions)")
        for (older, newer) in zip(versions, versions.dropFirst()) {
            let compared = try checkout.run("dpkg --compare-versions '\(older)' lt '\(newer)'")
            #expect(compared.status == 0, "dpkg: \(older) < \(newer) (\(compared.stderr))")
        }
    }
}

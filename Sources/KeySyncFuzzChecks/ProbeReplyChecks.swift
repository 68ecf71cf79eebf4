import Foundation
import KeySync

/// What the controller promises for *any* bytes a host sends back, checked on one input.
///
/// Hosts are untrusted (DESIGN.md, "Threat model"): a probe reply or an apply
/// reply must parse into a value or throw ``ProbeError``, never trap, and what
/// the controller does next with a parsed probe (``SyncPlanner``, ``Doctor``,
/// ``DoctorFixPlan``, the doctor report) must not trap either. Run by the
/// `FuzzProbeReply` libFuzzer target (Fuzz/) and by `FuzzRegressionTests`.
///
/// The nonce is fixed (``nonce``), and an input names it with `@N`, so the
/// fuzzer reaches the framed paths without guessing 32 hex digits; an `@L`
/// that starts the first line of a file frame stands for
/// ``ProbeScript/fileSizeLimit`` bytes (`A`, once per input), so a frame at,
/// or just over, the size limit fits in a short input.
public enum ProbeReplyChecks {
    /// The controller's nonce for every input (a real one is 128 random bits in hex).
    public static let nonce = "5eedf00d5eedf00d5eedf00d5eedf00d"
    /// A nonce no input is parsed with, to check that frames with ours are refused for it.
    static let otherNonce = "0be70be70be70be70be70be70be70be7"
    /// A fixed "now" for doctor (expiry), so that a run does not depend on the day it runs.
    public static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Keys of the desired blocks (the test fixtures'); the ECDSA key is revoked in one plan.
    static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG/XdnYRiq8yhdLYyUbUYxVXpxz1U5p8DsRpWVeKtIwS id_ed25519@keysync-test"
    static let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPZ3WLUm9vU6D94+oOJy0wqd6R0Pr08nnvvaknKhj2A627Zu3TKvHmH9TzTitEYCCKXG9+hgO6h/qckwOKjFkSQ= id_ecdsa256@keysync-test"
    /// The project of every desired block; `other` is a project the inventory knows but no block here names.
    static let project = "fuzz"
    /// Accounts planned for every input, besides the first names the input itself gives.
    static let fixedAccounts = ["app", "root"]
    static let maxInputAccounts = 2
    /// A reply longer than this holds an `@L` run (`@N`s alone grow a 64 KiB input
    /// to at most 1 MiB): it is parsed once as a probe and its file sizes are
    /// checked, nothing more. Every pass over 4 MiB costs tens of milliseconds
    /// under ASan, and planning such a file seconds (what big files cost the
    /// controller: docs/reliability.md, "Limits and notes").
    static let maxFullyCheckedReply = 1 << 20

    /// `bytes` with each `@N` replaced by ``nonce``, and the first `@L` that
    /// starts a line after a `content-begin` or `keyfile_content-begin` line by
    /// ``ProbeScript/fileSizeLimit`` bytes (anywhere else, 4 MiB only slow the
    /// fuzzer down: every line is walked by `Character`).
    public static func reply(from bytes: [UInt8]) -> [UInt8] {
        let nonceBytes = Array(nonce.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        var index = 0, expanded = false
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "@"), index + 1 < bytes.count {
                if bytes[index + 1] == UInt8(ascii: "N") {
                    out += nonceBytes
                    index += 2
                    continue
                }
                if bytes[index + 1] == UInt8(ascii: "L"), !expanded, startsFrame(out) {
                    out += repeatElement(UInt8(ascii: "A"), count: ProbeScript.fileSizeLimit)
                    expanded = true
                    index += 2
                    continue
                }
            }
            out.append(bytes[index])
            index += 1
        }
        return out
    }

    /// Whether `out` ends with a whole `content-begin …` or `keyfile_content-begin …` line.
    static func startsFrame(_ out: [UInt8]) -> Bool {
        guard out.last == 0x0a else { return false }
        let line = out[(out.dropLast().lastIndex(of: 0x0a).map { $0 + 1 } ?? 0)...]
        return line.starts(with: "content-begin ".utf8) || line.starts(with: "keyfile_content-begin ".utf8)
    }

    /// Every violated promise for `bytes`; empty when all hold. Crashes only if the library does.
    public static func check(_ bytes: [UInt8]) -> Violations {
        var v = Violations()
        let reply = reply(from: bytes)
        guard reply.count <= maxFullyCheckedReply else {
            if let probe = try? HostProbe(reply: reply, nonce: nonce) { checkSizes(probe, &v) }
            return v
        }
        let lines = replyLines(reply)
        checkProbe(reply, lines, &v)
        checkApply(reply, lines, &v)
        return v
    }

    /// The reply's lines as the parsers split them: at `\n` bytes only (a `\r` stays), decoded leniently.
    static func replyLines(_ reply: [UInt8]) -> [String] {
        reply.split(separator: 0x0a, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: Probe reply

    static func checkProbe(_ reply: [UInt8], _ lines: [String], _ v: inout Violations) {
        let probe: HostProbe
        do {
            probe = try HostProbe(reply: reply, nonce: nonce)
        } catch {
            v.expect(!error.description.isEmpty, "HostProbe threw an error without a message")
            return
        }
        checkSizes(probe, &v)
        checkProbeValues(probe, reply, lines, &v)
        v.expect((try? HostProbe(reply: reply, nonce: nonce)) == probe, "the same reply parses to another probe the second time")
        checkFraming(reply, what: "probe", parses: { (try? HostProbe(reply: $0, nonce: $1)) != nil }, &v)
        for options in planVariants(probe) {
            checkPlan(probe, options, &v)
        }
        checkDoctor(probe, &v)
    }

    /// No file's bytes are kept beyond the size limit: a bigger frame means "too large".
    static func checkSizes(_ probe: HostProbe, _ v: inout Violations) {
        for (name, account) in probe.accounts {
            let said = "account \(debugBytes(Array(name.utf8), limit: 40))"
            let sizes = [account.content?.count] + (account.diagnostics?.keyFiles ?? []).map { $0.content?.count }
            for size in sizes.compactMap({ $0 }) where size > ProbeScript.fileSizeLimit {
                v.fail("\(said): \(size) bytes of a file kept, more than the limit \(ProbeScript.fileSizeLimit)")
            }
        }
    }

    /// What the parser keeps is what framed lines with the nonce said
    /// (lines compared as UTF-8: `String` equality is canonical equivalence).
    static func checkProbeValues(_ probe: HostProbe, _ reply: [UInt8], _ lines: [String], _ v: inout Violations) {
        let lineBytes = Set(lines.map { Array($0.utf8) })
        let hasContentFrame = contains(reply, Array("\ncontent-end \(nonce) ".utf8))
        let hasKeyFileFrame = contains(reply, Array("\nkeyfile_content-end \(nonce) ".utf8))
        for (name, account) in probe.accounts {
            let said = "account \(debugBytes(Array(name.utf8), limit: 40))"
            v.expect(account.account == name, "\(said) is stored under another name: \(debugBytes(Array(account.account.utf8), limit: 40))")
            let section = name.isEmpty ? "@account \(nonce)" : "@account \(nonce) \(name)"
            v.expect(lineBytes.contains(Array(section.utf8)) || lineBytes.contains(Array("@account \(nonce) ".utf8)) && name.isEmpty,
                     "\(said) has no `@account NONCE NAME` line of its own")
            if account.content != nil {
                v.expect(hasContentFrame, "\(said) has content, but the reply has no content frame with the nonce")
            }
            if account.diagnostics?.keyFiles.contains(where: { $0.content != nil }) == true {
                v.expect(hasKeyFileFrame, "\(said) has key file content, but the reply has no keyfile_content frame with the nonce")
            }
        }
    }

    /// A reply parses only with the nonce it carries, and never when it is cut off before its end line.
    ///
    /// The parser stops at the first `@end NONCE` line and refuses bytes after it,
    /// so a parsed reply's last line is its end line; a prefix that stops before
    /// that line's nonce is complete follows the same path and must run out.
    static func checkFraming(_ reply: [UInt8], what: String, parses: ([UInt8], String) -> Bool, _ v: inout Violations) {
        if !contains(reply, Array(otherNonce.utf8)) {
            v.expect(!parses(reply, otherNonce), "the \(what) reply parses with a nonce it does not carry")
        }
        let body = reply.last == 0x0a ? reply.dropLast() : reply[...]
        let endLine = (body.lastIndex(of: 0x0a)).map { $0 + 1 } ?? 0
        let complete = endLine + "@end ".utf8.count + nonce.utf8.count
        for cut in Set([endLine, reply.count / 2, complete - 1, 0]) where cut >= 0 && cut < min(complete, reply.count) {
            v.expect(!parses(Array(reply[..<cut]), nonce), "the \(what) reply cut after \(cut) of \(reply.count) bytes still parses")
        }
    }

    // MARK: What the controller does with a probe: planning

    struct PlanVariant {
        var accounts: [AccountTarget]
        var scope: Set<String>?
        var options: PlanOptions
    }

    static let keys: (ed25519: PublicKey, ecdsa: PublicKey)? = {
        guard let a = try? AuthorizedKeyEntry.parse(ed25519), let b = try? AuthorizedKeyEntry.parse(ecdsa) else { return nil }
        return (a.key, b.key)
    }()

    /// The accounts to plan: the fixed ones, then the first names the input gives.
    static func accountNames(_ probe: HostProbe) -> [String] {
        var names = fixedAccounts
        for name in probe.accounts.keys.sorted().prefix(maxInputAccounts) where !names.contains(name) { names.append(name) }
        return names
    }

    /// Two inventories' views of the same host: (1) creating accounts, the login
    /// key guarded, the ECDSA key revoked; (2) exclusive accounts, `--force
    /// --fix-home`, one project selected.
    static func planVariants(_ probe: HostProbe) -> [PlanVariant] {
        guard let keys else { return [] }
        let names = accountNames(probe)
        let deploy = DesiredBlock(project: project, role: "deploy", entries: [
            DesiredEntry(keyName: "ed", key: keys.ed25519),
            DesiredEntry(keyName: "ec", key: keys.ecdsa, options: #"from="10.0.0.0/8",no-pty"#),
        ])
        let admin = DesiredBlock(project: project, role: "admin", entries: [DesiredEntry(keyName: "ed", key: keys.ed25519)])
        var guarded = PlanOptions(revoked: [keys.ecdsa.fingerprint], loginKeyFingerprint: keys.ed25519.fingerprint, loginUser: "root")
        guarded.knownProjects = [project, "other"]
        var forced = PlanOptions(revoked: [keys.ecdsa.fingerprint], force: true, fixHome: true)
        forced.knownProjects = [project]
        return [
            PlanVariant(accounts: names.map {
                AccountTarget(name: $0, uid: 1001, gid: 1001, group: $0, shell: "/bin/sh", home: "/home/\($0)", create: true, blocks: [deploy])
            }, scope: nil, options: guarded),
            PlanVariant(accounts: names.map { AccountTarget(name: $0, exclusive: true, blocks: [deploy, admin]) },
                        scope: [project], options: forced),
        ]
    }

    static func fingerprints(_ bytes: [UInt8]) -> [String] {
        AuthorizedKeysFile(bytes: bytes).keyLines.compactMap { $0.entry?.key.fingerprint }
    }

    /// Each account on its own, so that one account's failure (which fails the whole host) hides nothing about another.
    static func checkPlan(_ probe: HostProbe, _ variant: PlanVariant, _ v: inout Violations) {
        let options = variant.options
        for target in variant.accounts {
            let said = "plan for \(debugBytes(Array(target.name.utf8), limit: 40))"
            let plan = SyncPlanner.plan(probe: probe, accounts: [target], scope: variant.scope, options: options)
            guard plan.accounts.count == 1, let account = plan.accounts.first, account.account == target.name else {
                v.fail("\(said): the plan is for \(plan.accounts.map(\.account))")
                continue
            }
            let found = probe.accounts[target.name]
            v.expect(account.drift.allSatisfy { $0.account == target.name }, "\(said): drift reported for another account")
            if account.oldContent != nil || account.apply?.write != nil, found?.exists == true {
                v.expect(account.oldContent == found?.content, "\(said): oldContent is not the probed content")
            }
            // "A revocation never fails to land unreported": a revoked key in the
            // probed file is removed by the write, or reported as drift push
            // cannot repair (the host then fails), or the host fails outright.
            if let found, found.exists, let content = found.content, plan.failure == nil {
                let write = account.apply?.write
                for fingerprint in Set(fingerprints(content)).intersection(options.revoked) {
                    let removed = write.map { !fingerprints($0.content).contains(fingerprint) } ?? false
                    let reported = account.drift.contains {
                        ($0.kind == .revokedKey && $0.fingerprint == fingerprint && !$0.repairable) || $0.kind == .fileTooLarge
                    }
                    v.expect(removed || reported, "\(said): revoked key \(fingerprint) in the probed file is neither removed nor reported as blocked (drift: \(account.drift.map(\.kind.rawValue)))")
                }
            }
            guard let apply = account.apply else { continue }
            v.expect(apply.account == target.name, "\(said): the apply is for \(debugBytes(Array(apply.account.utf8), limit: 40))")
            guard let write = apply.write else { continue }
            checkWrite(write, target, found, apply, options, said, &v)
        }
    }

    /// A planned write: where, guarded by what, and with which keys.
    static func checkWrite(_ write: FileWrite, _ target: AccountTarget, _ found: AccountProbe?, _ apply: AccountApply,
                           _ options: PlanOptions, _ said: String, _ v: inout Violations) {
        let written = fingerprints(write.content)
        v.expect(Set(written).isDisjoint(with: options.revoked), "\(said): the planned file keeps a revoked key")
        if let found, found.exists {
            // Writes go only where the probe said sshd reads, compare-and-swap on what was read,
            // in a folder under home, never through a link the probe saw.
            v.expect(write.path == found.path, "\(said): writes \(debugBytes(Array(write.path.utf8), limit: 60)), not the probed path")
            v.expect(write.expectedHash == found.contentHash, "\(said): the write's expected hash is not the probed content's")
            v.expect(found.homePath.map { isUnder(write.directory, home: $0) } == true,
                     "\(said): writes into \(debugBytes(Array(write.directory.utf8), limit: 60)), not a folder under the probed home")
            let onTheWay = [found.home, found.directory, found.file] + found.intermediateFolders.map(\.stat)
            v.expect(!onTheWay.contains { $0?.kind == .symlink }, "\(said): writes through a path the probe saw as a symlink")
            v.expect(found.tooLarge == nil && found.readError == nil, "\(said): writes a file the probe could not read")
            v.expect(apply.create == nil, "\(said): creates an account that exists")
            if !options.force, target.name == options.loginUser, let login = options.loginKeyFingerprint,
               let old = found.content, fingerprints(old).contains(login) {
                v.expect(written.contains(login), "\(said): the write drops keysync's own login key")
            }
            // The desired block holds the desired keys (when the old file's markers all form blocks; see AuthorizedKeysChecks).
            if let old = found.content, !AuthorizedKeysFile(bytes: old).markerProblems.isEmpty { return }
        } else {
            v.expect(apply.create != nil && write.expectedHash == "absent", "\(said): writes for a missing account without creating it on an absent file")
        }
        guard let block = target.blocks.first, let id = try? ManagedBlockID(project: block.project, role: block.role) else { return }
        let want = block.entries.map(\.key).filter { !options.revoked.contains($0.fingerprint) }.map(\.blob)
        let got = AuthorizedKeysFile(bytes: write.content).managedBlock(id)?.entries.map(\.key.blob)
        v.expect(got == want, "\(said): block \(id) is written with \(got?.count ?? 0) keys, not the \(want.count) asked for")
    }

    // MARK: What the controller does with a probe: doctor

    /// `Doctor.examine`, `DoctorFixPlan` and the report text for the first variant's accounts.
    static func checkDoctor(_ probe: HostProbe, _ v: inout Violations) {
        guard let variant = planVariants(probe).first else { return }
        var accounts: [DoctorReport.Account] = []
        for (index, target) in variant.accounts.enumerated() {
            let said = "doctor for \(debugBytes(Array(target.name.utf8), limit: 40))"
            let findings = Doctor.examine(target, probe: probe, context: Doctor.Context(host: "fuzz-host", now: now))
            v.expect(!findings.isEmpty || probe.accounts[target.name] != nil, "\(said): no finding for an account the probe lacks")
            let found = probe.accounts[target.name]
            let fix = DoctorFixPlan(target, account: found, findings: findings)
            let named = fix.actions.flatMap(\.findings) + fix.refusals.keys
            v.expect(named.allSatisfy { findings.indices.contains($0) }, "\(said): a fix names a finding that does not exist")
            if let write = fix.apply?.write, let found {
                // --fix rewrites the file as read, in place, and only under home
                // (the inventory's when passwd gives none, as DoctorFixPlan documents).
                v.expect(write.path == found.path && write.expectedHash == found.contentHash && write.content == (found.content ?? []),
                         "\(said): --fix rewrites something other than the probed file and bytes")
                v.expect(isUnder(write.directory, home: found.homePath ?? target.home ?? "/home/\(target.name)"), "\(said): --fix writes outside home")
            }
            // Inventory names only in the report: host text is what must be made safe.
            accounts.append(DoctorReport.Account(account: "account-\(index)", findings: findings))
        }
        let report = DoctorReport(hosts: [DoctorReport.Host(host: "fuzz-host", accounts: accounts)], seconds: 0)
        let text = report.text()
        let unsafe = text.unicodeScalars.first { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) }
        v.expect(unsafe == nil, "the doctor report prints a control character U+\(String(unsafe?.value ?? 0, radix: 16)) from the host")
    }

    // MARK: Apply reply

    static func checkApply(_ reply: [UInt8], _ lines: [String], _ v: inout Violations) {
        let outcomes: [String: ApplyOutcome]
        do {
            outcomes = try ApplyScript.outcomes(from: reply, nonce: nonce)
        } catch {
            v.expect(!error.description.isEmpty, "ApplyScript.outcomes threw an error without a message")
            return
        }
        v.expect((try? ApplyScript.outcomes(from: reply, nonce: nonce)) == outcomes, "the same apply reply parses differently the second time")
        checkFraming(reply, what: "apply", parses: { (try? ApplyScript.outcomes(from: $0, nonce: $1)) != nil }, &v)
        let lineBytes = lines.map { Array($0.utf8) }
        for (account, outcome) in outcomes {
            let prefix = Array("result \(nonce) \(account) ".utf8)
            v.expect(lineBytes.contains { $0.starts(with: prefix) }, "outcome for \(debugBytes(Array(account.utf8), limit: 40)) without a result line with the nonce")
            if case .written(let hash) = outcome {
                v.expect(lineBytes.contains(prefix + Array("ok \(hash)".utf8)) || (hash.isEmpty && lineBytes.contains(prefix + Array("ok".utf8))),
                         "written hash \(debugBytes(Array(hash.utf8), limit: 70)) is not what a result line says")
            }
        }
    }

    /// keysync's rule for "a folder under home": strictly below it (an empty home is `/`, as for sshd).
    static func isUnder(_ folder: String, home: String) -> Bool {
        folder.hasPrefix(home.hasSuffix("/") ? home : home + "/")
    }

    /// Whether `haystack` contains `needle`.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        var index = 0
        while let found = haystack[index...].firstIndex(of: first), found + needle.count <= haystack.count {
            if haystack[found..<found + needle.count].elementsEqual(needle) { return true }
            index = found + 1
        }
        return false
    }
}

import Foundation
import Synchronization

/// Progress of a rotation, for a progress display.
public enum RotationEvent: Sendable {
    /// A step starts on `count` hosts and accounts of wave `wave` (with
    /// `--canary`, wave 0 is the canaries).
    case stepStarted(RotationStep, wave: Int, count: Int)
    /// One host and account finished a step; `error` when it failed.
    case pairFinished(RotationPair, RotationStep, error: String?)
    /// A step ended for its wave.
    case stepFinished(RotationStep, wave: Int)
}

/// `keysync rotate`: replaces a shared key on every account it is granted to,
/// in three recorded steps per host and account (add, verify, retire), with
/// canary waves and resume. See docs/rotation.md.
///
/// The add and retire steps are pushes of just the rotated accounts (the
/// engine's probe, plan, compare-and-swap apply, snapshots and as-the-account
/// writes), with a ``RotationOverlay`` that stages the key.
public struct RotationRun: Sendable {
    /// What to rotate.
    public struct Request: Sendable {
        /// Inventory key name.
        public var keyName: String
        /// The new key: any format ``KeyImporter`` reads (a `.pub` or the private key).
        public var newKeyPath: String
        /// The new private key, for a real login in phase 2.
        public var verifyIdentity: String?
        /// Only accounts granted the key by these projects (empty: all).
        public var projects: [String]
        /// Hosts that go through all three steps first.
        public var canary: Int

        /// Rotate to a key of another type with the file check only (the
        /// operator knows every sshd accepts that type).
        public var acceptKeyType: Bool

        /// Creates a request.
        public init(keyName: String, newKeyPath: String, verifyIdentity: String? = nil, projects: [String] = [], canary: Int = 0,
                    acceptKeyType: Bool = false) {
            (self.keyName, self.newKeyPath, self.verifyIdentity, self.projects, self.canary) = (keyName, newKeyPath, verifyIdentity, projects, canary)
            self.acceptKeyType = acceptKeyType
        }
    }

    static let identityOption = "verify_identity", projectsOption = "projects", newKeyFileOption = "new_key_file"
    /// Drift that means a push step wrote nothing for the account.
    static let blockingDrift: Set<DriftKind> = [.symlink, .unsupportedPath, .lockoutRefused, .conflict, .dirOwner, .fileTooLarge, .fileUnreadable]
    /// Drift that means sshd would refuse a key login as the account.
    static let loginBreakers: Set<DriftKind> = [.accountMissing, .accountLocked, .accountExpired, .passwordChangeRequired,
                                                .shellInvalid, .fileOwner, .dirOwner, .homeUnsafe, .symlink, .unsupportedPath]

    public var inventory: Inventory
    public var store: Store
    /// Hosts in flight at once.
    public var parallel: Int
    /// Set by a signal handler: the current step finishes its hosts in flight, then the run stops (resumable).
    public var cancellation: Cancellation
    /// Asked at most once per encrypted key file.
    public var passphrase: @Sendable (String) -> String?
    /// Told about every step and every host and account as they finish.
    public var events: (@Sendable (RotationEvent) -> Void)?

    /// Creates a run; `parallel` defaults to the inventory's.
    public init(inventory: Inventory, store: Store, parallel: Int? = nil, cancellation: Cancellation = Cancellation(),
                passphrase: @escaping @Sendable (String) -> String? = { _ in nil },
                events: (@Sendable (RotationEvent) -> Void)? = nil) {
        self.inventory = inventory
        self.store = store
        self.parallel = parallel ?? inventory.parallel
        self.cancellation = cancellation
        let memo = PassphraseMemo(passphrase)
        self.passphrase = { memo.get($0) }
        self.events = events
    }

    /// What one run works with.
    struct Context {
        var rotation: Store.Rotation
        var key: InventoryKey
        var keys: RotationKeys
        var identity: SSHIdentity?
    }

    // MARK: - Entry points

    /// Starts a rotation and runs it as far as it goes.
    /// - Throws: ``RotationError`` for bad input (nothing touched), store errors.
    public func start(_ request: Request) throws -> RotationReport {
        guard let key = inventory.key(named: request.keyName) else {
            throw RotationError.unknownKey(name: request.keyName, known: inventory.keys.map(\.name))
        }
        if let unknown = request.projects.first(where: { inventory.project(named: $0) == nil }) { throw RotationError.unknownProject(unknown) }
        let new = try Self.importKey(request.newKeyPath)
        guard new.fingerprint != key.fingerprint else { throw RotationError.sameKey(name: key.name, fingerprint: key.fingerprint) }
        // Re-reading the file shows the key is there, not that sshd takes its
        // type (PubkeyAcceptedAlgorithms, a FIPS policy without ed25519): the
        // old key, which sshd did take, must not go on that evidence alone.
        if new.type != key.publicKey.type, request.verifyIdentity == nil, !request.acceptKeyType {
            throw RotationError.keyTypeChange(old: key.publicKey.type, new: new.type)
        }
        // The old key is retired by fingerprint, everywhere: a second name for
        // the same key (or the same file) would lose it without a rotation.
        let sharing = inventory.keys.filter {
            $0.name != key.name && ($0.fingerprint == key.fingerprint || ($0.file != nil && $0.file == key.file))
        }
        if !sharing.isEmpty { throw RotationError.sharedKeyMaterial(name: key.name, others: sharing.map(\.name)) }
        let retired = try store.retiredFingerprints()
        if retired.contains(key.fingerprint) { throw RotationError.inventoryNamesRetiredKey(name: key.name, fingerprint: key.fingerprint) }
        if retired.contains(new.fingerprint) || inventory.revokedFingerprints.contains(new.fingerprint) {
            throw RotationError.newKeyRevoked(fingerprint: new.fingerprint)
        }
        // Any unfinished rotation of this name, whatever its keys: once the
        // inventory names a rotation's new key its old fingerprint no longer
        // matches, and a second rotation would hide the first one's stages.
        let ofName = try store.rotations().filter { $0.keyName == key.name }
        if let open = ofName.first(where: { $0.status != .completed }) {
            throw RotationError.unfinished(name: key.name, id: open.id, newFingerprint: open.newFingerprint)
        }
        let earlier = ofName.filter { $0.oldFingerprint == key.fingerprint }
        if let other = earlier.first(where: { $0.newFingerprint != new.fingerprint }) {
            throw RotationError.otherNewKey(name: key.name, id: other.id, newFingerprint: other.newFingerprint)
        }
        let identity = try loadIdentity(request.verifyIdentity, expecting: new)
        // Accounts an earlier rotation to the same key already retired are done.
        let done = Set(try earlier.flatMap { try store.rotationHosts(id: $0.id) }.filter { $0.completedPhase == .retired }
            .map(\.pair))
        let pairs = RotationPlanner.pairs(of: key.name, in: inventory, projects: request.projects).filter { !done.contains($0) }
        guard !pairs.isEmpty else { throw RotationError.notGranted(name: key.name, projects: request.projects) }
        // Every identity the pushes log in with (hosts', jump hosts') loads now,
        // and every known_hosts file exists: bad input stops the start before a
        // rotation is recorded, not part way through it.
        let jobs = SyncRun(inventory: inventory, targets: try targets(for: pairs), settings: SyncEngine.Settings(mode: .push)).jobs
        if let problem = SyncEngine(jobs: jobs, settings: SyncEngine.Settings(mode: .push), passphrase: passphrase).inputProblem(jobs) {
            throw problem
        }

        var options = [RotationKeys.oldOption: key.publicKey.openSSHLine, RotationKeys.newOption: new.openSSHLine,
                       Self.newKeyFileOption: request.newKeyPath]
        options[Self.identityOption] = request.verifyIdentity
        if !request.projects.isEmpty { options[Self.projectsOption] = request.projects.joined(separator: "\n") }
        let id: Int64
        do {
            id = try store.createRotation(keyName: key.name, oldFingerprint: key.fingerprint, newFingerprint: new.fingerprint,
                                          canary: request.canary, options: options, targets: pairs.map { ($0.host, $0.account) })
        } catch let other as Store.RotationInProgress {
            // Another `rotate` of the key started since the check above.
            throw RotationError.unfinished(name: other.keyName, id: other.id, newFingerprint: other.newFingerprint)
        }
        guard let rotation = try store.rotation(id: id), let keys = RotationKeys(rotation) else { throw RotationError.unknownRotation(id) }
        return try run(Context(rotation: rotation, key: key, keys: keys, identity: identity))
    }

    /// Continues rotation `id` where it stopped: no host repeats a phase it
    /// completed; failed steps are tried again. `keyName` and `newKeyPath`, when
    /// given, must be the rotation's; `verifyIdentity` replaces the recorded one.
    public func resume(id: Int64, keyName: String? = nil, newKeyPath: String? = nil, verifyIdentity: String? = nil) throws -> RotationReport {
        guard let rotation = try store.rotation(id: id) else { throw RotationError.unknownRotation(id) }
        if let keyName, keyName != rotation.keyName {
            throw RotationError.resumeMismatch(id: id, reason: "it rotates \(rotation.keyName), not \(keyName)")
        }
        guard let keys = RotationKeys(rotation) else { throw RotationError.resumeMismatch(id: id, reason: "its keys are not recorded") }
        if let newKeyPath, try Self.importKey(newKeyPath).fingerprint != rotation.newFingerprint {
            throw RotationError.resumeMismatch(id: id, reason: "its new key is \(rotation.newFingerprint), not the key in \(newKeyPath)")
        }
        guard let key = inventory.key(named: rotation.keyName) else {
            throw RotationError.unknownKey(name: rotation.keyName, known: inventory.keys.map(\.name))
        }
        guard [rotation.oldFingerprint, rotation.newFingerprint].contains(key.fingerprint) else {
            throw RotationError.inventoryChanged(name: key.name, id: id)
        }
        // A new key revoked (or retired) since the start: retiring the old one
        // now would leave the accounts with neither.
        if rotation.status != .completed,
           try inventory.revokedFingerprints.contains(rotation.newFingerprint) || store.retiredFingerprints().contains(rotation.newFingerprint) {
            throw RotationError.newKeyRevoked(fingerprint: rotation.newFingerprint)
        }
        let identity = try loadIdentity(verifyIdentity ?? rotation.optionValues[Self.identityOption], expecting: keys.new)
        if let verifyIdentity, verifyIdentity != rotation.optionValues[Self.identityOption] {
            try store.setRotationOptions(id: id, rotation.optionValues.merging([Self.identityOption: verifyIdentity]) { $1 })
        }
        return try run(Context(rotation: rotation, key: key, keys: keys, identity: identity))
    }

    /// The stored state of rotation `id`, or of the latest one.
    public static func status(of store: Store, id: Int64? = nil) throws -> RotationReport {
        let found = try id.map { try store.rotation(id: $0) } ?? store.latestRotation()
        guard let rotation = found else { throw id.map { RotationError.unknownRotation($0) } ?? RotationError.noRotations }
        return RotationReport(rotation, rows: try store.rotationHosts(id: rotation.id),
                              oldKeyRetired: try store.retiredFingerprints().contains(rotation.oldFingerprint))
    }

    // MARK: - The run

    /// Runs the steps wave by wave, then finishes the rotation unless interrupted.
    func run(_ context: Context) throws -> RotationReport {
        let started = Date()
        let id = context.rotation.id
        try forgetUngranted(context)
        var rows = try store.rotationHosts(id: id)
        let waves = RotationPlanner.waves(rows.map(\.pair), canary: context.rotation.canary)
        waves: for (index, wave) in waves.enumerated() {
            let members = Set(wave)
            for step in RotationStep.allCases {
                guard !cancellation.isCancelled else { break waves }
                let due = RotationPlanner.due(step, in: rows.filter { members.contains($0.pair) })
                guard !due.isEmpty else { continue }
                events?(.stepStarted(step, wave: index, count: due.count))
                if step == .verify { try verify(due, context) } else { try push(step, due, context) }
                events?(.stepFinished(step, wave: index))
                rows = try store.rotationHosts(id: id)
            }
            let canaryFailed = waves.count > 1 && index == 0 && rows.contains { members.contains($0.pair) && $0.completedPhase != .retired }
            if canaryFailed { break }
        }

        let interrupted = cancellation.isCancelled
        var remaining: [RotationPair] = [], update: InventoryKeyUpdate?
        if !interrupted {
            let status = RotationPlanner.status(of: rows, canary: context.rotation.canary)
            if status == .completed { (remaining, update) = try complete(context) }
            try store.finishRotation(id: id, status: status)
        }
        guard let rotation = try store.rotation(id: id) else { throw RotationError.unknownRotation(id) }
        return RotationReport(rotation, rows: rows, seconds: Date().timeIntervalSince(started), interrupted: interrupted,
                              oldKeyRetired: try store.retiredFingerprints().contains(rotation.oldFingerprint),
                              remaining: remaining, inventory: update)
    }

    /// Pairs the inventory no longer grants the key to have nothing left to
    /// rotate: they are marked retired, with a note.
    func forgetUngranted(_ context: Context) throws {
        let grants = Set(RotationPlanner.pairs(of: context.key.name, in: inventory))
        for row in try store.rotationHosts(id: context.rotation.id) where row.completedPhase != .retired && !grants.contains(row.pair) {
            try store.setRotationPhase(rotationID: context.rotation.id, host: row.host, account: row.account, phase: .retired,
                                       error: "no longer granted \(context.key.name) by the inventory; nothing to rotate")
        }
    }

    /// Once every pair is retired: retires the old fingerprint if no grant of
    /// the key still holds it, and makes the inventory name the new key.
    func complete(_ context: Context) throws -> ([RotationPair], InventoryKeyUpdate?) {
        let rotation = context.rotation
        let siblings = try store.rotations().filter {
            $0.keyName == rotation.keyName && $0.oldFingerprint == rotation.oldFingerprint && $0.newFingerprint == rotation.newFingerprint
        }
        let retired = try siblings.flatMap { try store.rotationHosts(id: $0.id) }.filter { $0.completedPhase == .retired }.map(\.pair)
        let remaining = RotationPlanner.uncovered(RotationPlanner.pairs(of: rotation.keyName, in: inventory), retired: retired)
        guard remaining.isEmpty else { return (remaining, nil) }
        try store.recordRetired(fingerprint: rotation.oldFingerprint, keyName: rotation.keyName, rotationID: rotation.id)
        return ([], InventoryKeyUpdate.apply(key: context.key, new: context.keys.new, inventoryPath: inventory.path,
                                             newKeyPath: rotation.optionValues[Self.newKeyFileOption]))
    }

    // MARK: - Steps

    /// Add or retire: one push of the due accounts, the key staged for the step.
    func push(_ step: RotationStep, _ due: [RotationPair], _ context: Context) throws {
        let stored = try RotationOverlay.load(from: store, inventory: inventory)
        var key = stored.keys[context.key.name]
            ?? RotationOverlay.Key(name: context.key.name, old: context.keys.old, new: context.keys.new, stages: [:], otherwise: .old)
        for pair in due { key.stages[pair] = step.stage }
        var settings = SyncEngine.Settings(mode: .push, parallel: parallel)
        // Retiring removes the old key from the account wherever it is, not only from the block.
        if step == .retire { settings.plan.revoked = [context.keys.old.fingerprint] }
        let run = SyncRun(inventory: inventory, targets: try targets(for: due), settings: settings,
                          selectionText: "rotation \(context.rotation.id) \(step.rawValue)", command: "rotate",
                          rotationOverlay: stored.replacing(key))
        let recorder = PhaseRecorder(store: store, rotationID: context.rotation.id, events: events)
        let byHost = Dictionary(grouping: due, by: \.host)
        _ = try run.execute(store: store, cancellation: cancellation, passphrase: passphrase) { _, result in
            guard result.errorKind != .interrupted else { return }
            for pair in byHost[result.host] ?? [] { recorder.record(pair, step, error: Self.pushFailure(result, account: pair.account)) }
        }
        try recorder.rethrow()
    }

    /// Verify: a login with the new private key, or a re-read of the file.
    func verify(_ due: [RotationPair], _ context: Context) throws {
        let recorder = PhaseRecorder(store: store, rotationID: context.rotation.id, events: events)
        if let identity = context.identity {
            // Only for the way to the hosts (jump hosts' logins); the login itself uses `identity`.
            let jobs = SyncRun(inventory: inventory, targets: try targets(for: due), settings: SyncEngine.Settings(mode: .check)).jobs
            let engine = SyncEngine(jobs: jobs, settings: SyncEngine.Settings(mode: .check), passphrase: passphrase)
            if let problem = engine.inputProblem(jobs) { throw problem }
            // nil: not started (interrupted); .some(nil): logged in.
            _ = ParallelRunner(width: parallel).run(due, onResult: { index, outcome, _ in
                if let outcome { recorder.record(due[index], .verify, error: outcome) }
            }) { [inventory, cancellation] pair -> String?? in
                guard !cancellation.isCancelled else { return .none }
                guard let host = inventory.host(named: pair.host) else { return .some("\(pair.host) is not in the inventory") }
                return .some(Self.login(host, account: pair.account, identity: identity, engine: engine))
            }
        } else {
            let overlay = try RotationOverlay.load(from: store, inventory: inventory)
            let run = SyncRun(inventory: inventory, targets: overlay.apply(to: try targets(for: due)),
                              settings: SyncEngine.Settings(mode: .check, parallel: parallel))
            let byHost = Dictionary(grouping: due, by: \.host)
            let newFingerprint = context.keys.new.fingerprint
            _ = SyncEngine(jobs: run.jobs, settings: run.settings, cancellation: cancellation, passphrase: passphrase)
                .run(run.jobs, onResult: { _, result, _ in
                    guard result.errorKind != .interrupted else { return }
                    for pair in byHost[result.host] ?? [] {
                        recorder.record(pair, .verify, error: Self.fileFailure(result, account: pair.account, newFingerprint: newFingerprint))
                    }
                })
        }
        try recorder.rethrow()
    }

    /// The inventory's targets for `pairs`: their hosts, only their accounts (all blocks).
    /// Throws what selecting the whole inventory throws, instead of running on no host.
    func targets(for pairs: [RotationPair]) throws -> [HostTarget] {
        let accounts = Dictionary(grouping: pairs, by: \.host).mapValues { Set($0.map(\.account)) }
        return try inventory.select().compactMap { target in
            guard let wanted = accounts[target.host.name] else { return nil }
            var target = target
            target.accounts.removeAll { !wanted.contains($0.name) }
            return target
        }
    }

    // MARK: - Judging results

    /// Why a push step did not reach the account, or nil.
    static func pushFailure(_ result: HostResult, account: String) -> String? {
        if result.status == .failed { return result.error ?? "failed" }
        let blocking = result.drift.filter {
            $0.account == account && (blockingDrift.contains($0.kind) || [.accountMissing, .dirMode].contains($0.kind) && !$0.repairable)
        }
        return blocking.isEmpty ? nil : blocking.map(\.detail).joined(separator: "; ") + "; nothing written for \(account)"
    }

    /// Why a re-read does not prove the new key works for the account, or nil.
    static func fileFailure(_ result: HostResult, account: String, newFingerprint: String) -> String? {
        if result.status == .failed { return result.error ?? "failed" }
        guard result.seenKeys.contains(where: { $0.account == account && $0.fingerprint == newFingerprint && $0.managed }) else {
            return "the new key \(newFingerprint) is not in a managed block of \(account)'s authorized_keys"
        }
        let breakers = result.drift.filter { $0.account == account && loginBreakers.contains($0.kind) }
        return breakers.isEmpty ? nil : "the new key is in the file, but sshd would refuse the login: " + breakers.map(\.detail).joined(separator: "; ")
    }

    /// Logs in as `account` with the new key; nil when sshd accepted it, else why not.
    /// The accepted public-key authentication is the proof: sshd has then
    /// checked the key against the file, the account (shell, lock, Allow/Deny
    /// lists) and, with PAM, its account rules. Nothing is run: the account's
    /// own shell start-up files (`.bashrc`, `~/.ssh/rc`), which whoever holds
    /// the old key can write, could fail any command and keep the old key on
    /// the host (review s13), a `command=` key would run its forced command,
    /// and a `nologin` role account runs nothing at all.
    static func login(_ host: InventoryHost, account: String, identity: SSHIdentity, engine: SyncEngine) -> String? {
        let endpoint = SSHEndpoint(name: host.name, address: host.address, port: host.port, user: account,
                                   connectTimeout: host.connectTimeout, hostKeyPolicy: .knownHosts(path: host.knownHosts))
        do {
            let connection = try engine.open(endpoint, through: host.jumps.map(JumpHop.init))
            defer { connection.close() }
            try connection.authenticate(with: identity)
            return nil
        } catch {
            return "login as \(account) with the new key failed: \(error)"
        }
    }

    // MARK: - Keys

    /// The new key of a rotation; its comment goes onto every host's
    /// authorized_keys line and into the inventory, so it must be printable.
    static func importKey(_ path: String) throws -> PublicKey {
        let key: PublicKey
        do { key = try KeyImporter.importKey(contentsOf: path) } catch {
            throw RotationError.unreadableKey(path: path, reason: error.description)
        }
        if let problem = UnsafeText.problem(key.comment, "the key comment") {
            throw RotationError.unreadableKey(path: path, reason: problem)
        }
        if key.isCertificate {
            // A certificate line in authorized_keys grants nothing: every verification would fail.
            throw RotationError.unreadableKey(path: path, reason: "a certificate (\(key.type)); --new-key takes the plain public key")
        }
        return key
    }

    /// Loads `path` as an identity and checks that it is the private half of `new`.
    func loadIdentity(_ path: String?, expecting new: PublicKey) throws -> SSHIdentity? {
        guard let path else { return nil }
        let identity: SSHIdentity
        do {
            identity = try SSHIdentity.load(.file(path: path)) { passphrase(path) }
        } catch {
            if case .identity(_, let reason) = error { throw RotationError.unreadableKey(path: path, reason: reason) }
            throw RotationError.unreadableKey(path: path, reason: error.description)
        }
        guard let found = identity.publicKey ?? (try? KeyImporter.importKey(contentsOf: path)) else {
            throw RotationError.unreadableKey(path: path, reason: "cannot tell which public key it holds")
        }
        guard found.fingerprint == new.fingerprint else {
            throw RotationError.identityMismatch(path: path, expected: new.fingerprint, found: found.fingerprint)
        }
        return identity
    }
}

extension Store.RotationHost {
    /// The host and account of this row.
    var pair: RotationPair { RotationPair(host: host, account: account) }
}

/// Records each pair's step result as it arrives (one transaction each), so a
/// killed run keeps what it finished; the first store error is kept.
final class PhaseRecorder: Sendable {
    private let store: Store
    private let rotationID: Int64
    private let events: (@Sendable (RotationEvent) -> Void)?
    private let firstError = FirstError()

    init(store: Store, rotationID: Int64, events: (@Sendable (RotationEvent) -> Void)?) {
        (self.store, self.rotationID, self.events) = (store, rotationID, events)
    }

    func record(_ pair: RotationPair, _ step: RotationStep, error: String?) {
        do {
            try store.setRotationPhase(rotationID: rotationID, host: pair.host, account: pair.account,
                                       phase: error == nil ? step.phase : .failed, error: error)
        } catch {
            firstError.keep(error)
        }
        events?(.pairFinished(pair, step, error: error))
    }

    func rethrow() throws {
        try firstError.rethrow()
    }
}

/// Asks for each key file's passphrase at most once per run (the steps load identities anew).
final class PassphraseMemo: Sendable {
    private let ask: @Sendable (String) -> String?
    private let answers = Mutex<[String: String?]>([:])

    init(_ ask: @escaping @Sendable (String) -> String?) { self.ask = ask }

    func get(_ label: String) -> String? {
        answers.withLock { answers in
            if let known = answers[label] { return known }
            let answer = ask(label)
            answers[label] = answer
            return answer
        }
    }
}

import Foundation
import Testing
@testable import KeySync

@Suite struct RotationPlannerTests {
    func row(_ host: String, _ position: Int, account: String = "u", phase: Store.RotationPhase = .pending,
             completed: Store.RotationPhase? = nil) -> Store.RotationHost {
        Store.RotationHost(rotationID: 1, host: host, account: account, position: position, phase: phase,
                           completedPhase: completed ?? (phase == .failed ? .pending : phase), error: nil, updatedAt: hour(0))
    }

    @Test func pairsAreEveryGrantInHostOrderOrOnlyTheSelectedProjects() throws {
        let fixture = try RotationFixture()
        let all = RotationPlanner.pairs(of: "kp-usersample", in: fixture.inventory)
        #expect(all.map(\.description) == ["web-1 (usersample)", "web-1 (billing)", "web-2 (usersample)", "web-3 (usersample)", "db-1 (billing)"])
        let billing = RotationPlanner.pairs(of: "kp-usersample", in: fixture.inventory, projects: ["billing"])
        #expect(billing == [fixture.pair("web-1", "billing"), fixture.pair("db-1", "billing")])
        #expect(RotationPlanner.pairs(of: "kp-inline", in: fixture.inventory).map(\.account) == ["ops2", "ops2", "ops2"])
        #expect(RotationPlanner.pairs(of: "kp-inline", in: fixture.inventory, projects: ["billing"]).isEmpty)
    }

    @Test(arguments: [(0, [5]), (1, [2, 3]), (2, [3, 2]), (3, [4, 1]), (4, [5]), (9, [5])])
    func canariesAreTheFirstHostsWithAllTheirAccounts(_ canary: Int, _ sizes: [Int]) {
        let pairs = [("a", "u"), ("a", "v"), ("b", "u"), ("c", "u"), ("d", "u")].map { RotationPair(host: $0.0, account: $0.1) }
        let waves = RotationPlanner.waves(pairs, canary: canary)
        #expect(waves.map(\.count) == sizes)
        #expect(waves.flatMap { $0 } == pairs, "order is kept")
        #expect(RotationPlanner.waves([], canary: canary).isEmpty)
    }

    @Test func theNextStepNeverRepeatsACompletedPhase() {
        #expect(RotationStep.next(after: .pending) == .add)
        #expect(RotationStep.next(after: .added) == .verify)
        #expect(RotationStep.next(after: .verified) == .retire)
        #expect(RotationStep.next(after: .retired) == nil)
        #expect(RotationStep.allCases.map(\.phase) == [.added, .verified, .retired])
        #expect(RotationStep.allCases.map(\.stage) == [.both, .both, .new])
        #expect([Store.RotationPhase.pending, .added, .verified, .retired].map(RotationStage.init(completed:)) == [.old, .both, .both, .new])
    }

    @Test func dueFollowsTheCompletedPhaseOfFailedRowsToo() {
        let rows = [
            row("e", 4, phase: .failed, completed: .verified),
            row("a", 0),
            row("b", 1, phase: .added),
            row("c", 2, phase: .failed, completed: .added),
            row("d", 3, phase: .retired),
            row("f", 5, phase: .failed),
        ]
        #expect(RotationPlanner.due(.add, in: rows).map(\.host) == ["a", "f"])
        #expect(RotationPlanner.due(.verify, in: rows).map(\.host) == ["b", "c"])
        #expect(RotationPlanner.due(.retire, in: rows).map(\.host) == ["e"])
    }

    @Test func statusIsCompletedStoppedOrFailed() {
        let done = [row("a", 0, phase: .retired), row("b", 1, phase: .retired)]
        #expect(RotationPlanner.status(of: done, canary: 1) == .completed)
        let canaryFailed = [row("a", 0, phase: .failed, completed: .added), row("b", 1)]
        #expect(RotationPlanner.status(of: canaryFailed, canary: 1) == .stopped)
        #expect(RotationPlanner.status(of: canaryFailed, canary: 0) == .failed)
        let laterFailed = [row("a", 0, phase: .retired), row("b", 1, phase: .failed, completed: .added)]
        #expect(RotationPlanner.status(of: laterFailed, canary: 1) == .failed)
        #expect(RotationPlanner.status(of: laterFailed, canary: 5) == .failed, "a canary as large as the fleet is one wave")
    }

    @Test func uncoveredGrantsKeepTheOldKeyInService() {
        let grants = ["a", "b", "c"].map { RotationPair(host: $0, account: "u") }
        #expect(RotationPlanner.uncovered(grants, retired: grants.reversed()).isEmpty)
        #expect(RotationPlanner.uncovered(grants, retired: [grants[1], RotationPair(host: "z", account: "u")]) == [grants[0], grants[2]])
    }
}

import Foundation
import Testing
@testable import KeySync

@Suite struct ReportScratch {
    @Test func dump() throws {
        let store = try ReportFixture.store()
        let report = try ReportFixture.report(store)
        for format in ReportFormat.allCases {
            try format.render(report).write(toFile: "/tmp/rep.\(format.rawValue)", atomically: true, encoding: .utf8)
        }
        try ReportFormat.table.render(report, colour: true).write(toFile: "/tmp/rep.colour", atomically: true, encoding: .utf8)
        try KeyLocationReport(fingerprint: ReportFixture.bob, sightings: store.whereKey(fingerprint: ReportFixture.bob)).text().write(toFile: "/tmp/rep.where", atomically: true, encoding: .utf8)
        try HistoryReport.host("web-1", account: nil, store.history(host: "web-1")).text().write(toFile: "/tmp/rep.hist", atomically: true, encoding: .utf8)
        try HistoryReport.runs(store.runs()).text().write(toFile: "/tmp/rep.runs", atomically: true, encoding: .utf8)
        try RestorePlan(host: "web-1", run: store.run(id: 2)!, snapshots: store.snapshots(host: "web-1", runID: 2)).text(content: true).write(toFile: "/tmp/rep.restore", atomically: true, encoding: .utf8)
    }
}

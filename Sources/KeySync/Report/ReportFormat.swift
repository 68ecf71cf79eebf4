/// The output formats of `keysync report` (the `--format` values are a contract).
public enum ReportFormat: String, CaseIterable, Sendable {
    /// Aligned columns for a terminal (the default).
    case table
    /// One JSON document (shape in docs/reports.md).
    case json
    /// A Markdown page with a table, for tickets and wikis.
    case markdown
    /// RFC 4180 CSV, one row per open drift item.
    case csv
    /// One self-contained HTML page with a chart drawn in inline SVG.
    case html
    /// node_exporter textfile collector format.
    case prometheus

    /// `report` as text in this format, ending with a newline. `colour`
    /// (ANSI, for a terminal) applies to `table` only.
    public func render(_ report: DriftReport, colour: Bool = false) -> String {
        text(of: report, colour: colour)
    }

    /// The expiring-grants report as text in this format, ending with a
    /// newline; `colour` applies to `table` only.
    public func render(_ report: ExpiringGrantsReport, colour: Bool = false) -> String {
        text(of: report, colour: colour)
    }

    private func text(of report: some RenderableReport, colour: Bool) -> String {
        switch self {
        case .table: return report.table(colour: colour) + "\n"
        case .json: return ReportJSON.string(report.jsonDocument) + "\n"
        case .markdown: return report.markdown()
        case .csv: return report.csv()
        case .html: return report.html()
        case .prometheus: return report.prometheus()
        }
    }

    /// The file mode for `--output`: 0644 for `prometheus` (the node_exporter
    /// user must read it), 0600 for the rest (reports list accounts and keys).
    public var fileMode: UInt16 { self == .prometheus ? 0o644 : 0o600 }
}

/// A report in every ``ReportFormat``: each one renders itself.
protocol RenderableReport {
    associatedtype JSONDocument: Encodable
    func table(colour: Bool) -> String
    var jsonDocument: JSONDocument { get }
    func markdown() -> String
    func csv() -> String
    func html() -> String
    func prometheus() -> String
}

extension DriftReport: RenderableReport {}
extension ExpiringGrantsReport: RenderableReport {}

import Foundation

/// A strict reader of the Prometheus text exposition format (what node_exporter's
/// textfile collector and `promtool check metrics` accept), line by line.
enum PrometheusExposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Problem: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    static var metricName: Regex<Substring> { /[a-zA-Z_:][a-zA-Z0-9_:]*/ }
    static var labelName: Regex<Substring> { /[a-zA-Z_][a-zA-Z0-9_]*/ }
    static let types: Set<String> = ["counter", "gauge", "histogram", "summary", "untyped"]

    /// The samples of `text`; throws at the first line that breaks the format:
    /// bad names, label escapes other than `\\`, `\"`, `\n`, a `# TYPE` after
    /// samples of its metric or given twice, a metric's samples not together,
    /// a repeated series, a value that is not a float, no final newline.
    static func parse(_ text: String) throws -> [Sample] {
        guard text.isEmpty || text.hasSuffix("\n") else { throw Problem(line: 0, message: "no newline at the end") }
        var samples: [Sample] = []
        var typed: Set<String> = []
        var helped: Set<String> = []
        var finished: Set<String> = []
        var series: Set<String> = []
        var current: String?
        for (index, line) in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            func fail(_ message: String) -> Problem { Problem(line: number, message: message) }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE" else { continue }
                let name = String(parts[2])
                guard name.wholeMatch(of: metricName) != nil else { throw fail("bad metric name \(name)") }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, types.contains(String(parts[3])) else { throw fail("bad TYPE line") }
                    guard typed.insert(name).inserted else { throw fail("second TYPE for \(name)") }
                    guard !finished.contains(name) && current != name else { throw fail("TYPE after samples of \(name)") }
                } else {
                    guard helped.insert(name).inserted else { throw fail("second HELP for \(name)") }
                }
                continue
            }
            var rest = Substring(line)
            guard let name = rest.prefixMatch(of: metricName)?.output else { throw fail("bad metric name") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.hasPrefix("{") {
                rest = rest.dropFirst()
                while !rest.hasPrefix("}") {
                    guard let label = rest.prefixMatch(of: labelName)?.output else { throw fail("bad label name") }
                    rest = rest.dropFirst(label.count)
                    guard rest.hasPrefix("=\"") else { throw fail("expected =\" after \(label)") }
                    rest = rest.dropFirst(2)
                    var value = ""
                    while true {
                        guard let character = rest.first else { throw fail("unterminated label value") }
                        rest = rest.dropFirst()
                        if character == "\"" { break }
                        if character == "\\" {
                            switch rest.first {
                            case "\\": value += "\\"
                            case "\"": value += "\""
                            case "n": value += "\n"
                            default: throw fail("bad escape in label value")
                            }
                            rest = rest.dropFirst()
                        } else {
                            value.append(character)
                        }
                    }
                    guard labels.updateValue(value, forKey: String(label)) == nil else { throw fail("label \(label) twice") }
                    if rest.hasPrefix(",") { rest = rest.dropFirst() } else if !rest.hasPrefix("}") { throw fail("expected , or }") }
                }
                rest = rest.dropFirst()
            }
            let fields = rest.split(separator: " ")
            guard rest.hasPrefix(" "), (1...2).contains(fields.count) else { throw fail("expected ' value [timestamp]'") }
            guard let value = Double(fields[0]) ?? ["+Inf": .infinity, "-Inf": -.infinity, "NaN": .nan][String(fields[0])] else {
                throw fail("bad value \(fields[0])")
            }
            if fields.count == 2 && Int64(fields[1]) == nil { throw fail("bad timestamp") }
            let metric = String(name)
            if current != metric {
                guard !finished.contains(metric) else { throw fail("samples of \(metric) are not together") }
                if let current { finished.insert(current) }
                current = metric
            }
            let key = metric + labels.sorted { $0.key < $1.key }.map { "|\($0.key)=\($0.value)" }.joined()
            guard series.insert(key).inserted else { throw fail("series repeated: \(line)") }
            samples.append(Sample(name: metric, labels: labels, value: value))
        }
        return samples
    }
}

import Foundation

/// One gauge in node_exporter's textfile format, as every keysync report
/// writes it: `# HELP`, `# TYPE … gauge`, then a line per sample.
struct PrometheusGauge {
    /// One sample: its labels in order (values escaped here) and its value.
    struct Sample {
        var labels: [(name: String, value: String)]
        var value: String
    }

    var name: String
    var help: String
    var samples: [Sample]

    var text: String {
        "# HELP \(name) \(help)\n# TYPE \(name) gauge\n" + samples.map { sample in
            let labels = sample.labels.map { "\($0.name)=\"\($0.value.prometheusLabelEscaped)\"" }.joined(separator: ",")
            return "\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(sample.value)\n"
        }.joined()
    }
}

import Foundation

/// The `--hosts FILE` of `keysync adopt`: one `NAME ADDRESS[:PORT]` a line,
/// for a fleet that has no inventory yet. Blank lines and `#` comments are
/// skipped; an IPv6 address is written `[2001:db8::1]:2222`, or bare
/// without a port. Names and addresses follow the inventory's rules, so the
/// draft that lists them validates.
public enum AdoptHostList {
    /// One host of the list.
    public struct Entry: Hashable, Sendable {
        public var name: String
        public var address: String
        /// Nil when the line gives none.
        public var port: Int?
        /// 1-based line in the file.
        public var line: Int
    }

    /// Reads the list at `path`.
    public static func load(path: String) throws(AdoptError) -> [Entry] {
        try parse(AdoptError.text(of: path), path: path)
    }

    /// Parses list text as if read from `path` (diagnostics name it); every
    /// problem is collected before throwing.
    public static func parse(_ text: String, path: String) throws(AdoptError) -> [Entry] {
        var entries: [Entry] = [], problems: [Diagnostic] = []
        var names: [String: Int] = [:], endpoints: [String: (name: String, line: Int)] = [:]
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let number = index + 1
            var line = Substring(raw)
            if line.last == "\r" { line = line.dropLast() }
            func problem(_ column: Int, _ message: String) {
                problems.append(Diagnostic(file: path, line: number, column: column, message: message))
            }
            let words = fields(line)
            guard let first = words.first, !first.text.hasPrefix("#") else { continue }
            guard words.count >= 2, !words[1].text.hasPrefix("#") else {
                problem(first.column, "expected NAME ADDRESS[:PORT], found only \(UnsafeText.quoted(String(first.text)))")
                continue
            }
            if words.count > 2, !words[2].text.hasPrefix("#") {
                problem(words[2].column, "unexpected \(UnsafeText.quoted(String(words[2].text))) after the address (one NAME ADDRESS[:PORT] a line; a comment starts with #)")
                continue
            }
            let name = String(first.text)
            if let reason = InventoryRules.nameProblem(name) {
                problem(first.column, "host name \(UnsafeText.quoted(name)) \(reason)")
                continue
            }
            if let earlier = names[name] {
                problem(first.column, "host \"\(name)\" is already listed on line \(earlier)")
                continue
            }
            let target = words[1]
            let (address, port, portProblem) = split(target.text)
            if let portProblem {
                problem(target.column, portProblem)
                continue
            }
            let canonical: String
            switch InventoryRules.canonicalAddress(address) {
            case .success(let value): canonical = value
            case .failure(let failure):
                problem(target.column, "address \(UnsafeText.quoted(address)) \(failure.reason)")
                continue
            }
            let endpoint = "\(canonical) \(port ?? 22)"
            if let earlier = endpoints[endpoint] {
                problem(target.column, "\(address) port \(port ?? 22) is already host \"\(earlier.name)\" (line \(earlier.line))")
                continue
            }
            names[name] = number
            endpoints[endpoint] = (name, number)
            entries.append(Entry(name: name, address: address, port: port, line: number))
        }
        guard problems.isEmpty else { throw .invalid(problems) }
        guard !entries.isEmpty else { throw .noHosts(path) }
        return entries
    }

    /// Blank-separated words with their 1-based columns (in Unicode scalars).
    private static func fields(_ line: Substring) -> [(text: Substring, column: Int)] {
        var out: [(Substring, Int)] = [], column = 0, start: Substring.Index?, startColumn = 0
        var index = line.startIndex
        while index < line.endIndex {
            column += 1
            let blank = line[index] == " " || line[index] == "\t"
            if blank, let begin = start {
                out.append((line[begin..<index], startColumn))
                start = nil
            } else if !blank, start == nil {
                (start, startColumn) = (index, column)
            }
            index = line.index(after: index)
        }
        if let begin = start { out.append((line[begin...], startColumn)) }
        return out
    }

    /// `ADDRESS[:PORT]`, `[IPV6]:PORT` or a bare IPv6 address.
    private static func split(_ text: Substring) -> (address: String, port: Int?, problem: String?) {
        func port(_ digits: Substring) -> (Int?, String?) {
            guard let value = Int(digits), (1...65535).contains(value), digits.allSatisfy(\.isASCII) else {
                return (nil, "port \(UnsafeText.quoted(String(digits))) is not a number from 1 to 65535")
            }
            return (value, nil)
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return (String(text), nil, "\(UnsafeText.quoted(String(text))): missing ] after the IPv6 address") }
            let address = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (address, nil, nil) }
            guard rest.hasPrefix(":") else { return (address, nil, "expected :PORT after ], found \(UnsafeText.quoted(String(rest)))") }
            let (value, problem) = port(rest.dropFirst())
            return (address, value, problem)
        }
        let colons = text.filter { $0 == ":" }.count
        guard colons == 1, let colon = text.firstIndex(of: ":") else { return (String(text), nil, nil) }
        let (value, problem) = port(text[text.index(after: colon)...])
        return (String(text[..<colon]), value, problem)
    }
}

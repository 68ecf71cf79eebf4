import CYaml

/// How deeply lists and mappings nest in a YAML text, read with libyaml's event
/// parser, which keeps its state on the heap.
///
/// Yams builds its nodes recursively, two stack frames per level, so a small
/// file of a few thousand `[` (10 KB) overflowed the stack and crashed keysync
/// before any diagnostic. The loader asks this first and refuses deeper texts.
enum YAMLNesting {
    /// The 1-based line and column of the first list or mapping nested deeper
    /// than `limit`; nil when there is none, or when the text is not valid YAML
    /// up to that point (Yams then reports the syntax error itself).
    static func firstTooDeep(_ text: String, limit: Int) -> (line: Int, column: Int)? {
        var text = text
        return text.withUTF8 { bytes -> (line: Int, column: Int)? in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, base, bytes.count)
            var depth = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    depth += 1
                    if depth > limit { return (Int(event.start_mark.line) + 1, Int(event.start_mark.column) + 1) }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                case YAML_STREAM_END_EVENT, YAML_NO_EVENT:
                    return nil
                default:
                    break
                }
            }
        }
    }
}

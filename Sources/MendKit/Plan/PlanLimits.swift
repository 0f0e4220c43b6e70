// libyaml's event stream, which Yams reads but does not expose: the only place the size of a
// document with its aliases expanded can be counted before Yams builds (and hashes) it.
internal import CYaml

/// How big a plan may be, so that no file makes loading it hang or exhaust memory.
///
/// A YAML alias stands for its whole anchored node: nine anchors of nine aliases each, a few
/// hundred bytes, stand for 9^10 nodes. Yams shares an aliased node rather than copying it,
/// but it hashes every mapping key to find duplicates, and hashing an alias used as a key
/// walks everything it stands for; so do our own readers, walking an aliased list. The limit
/// is counted from the parser's events, before Yams composes the document.
enum PlanLimits {
    /// A plan is a page or two of YAML; a megabyte is far more than any needs.
    static let maxBytes = 1_048_576
    /// Nodes in the document with every alias expanded: the plan as its readers see it.
    static let maxNodes = 100_000

    /// The problem with `text` as a plan's size, or nil.
    static func problem(_ text: String, file: String) -> PlanProblem? {
        let bytes = text.utf8.count
        if bytes > maxBytes {
            return PlanProblem(
                FileLocation(file: file, line: 1, column: 1),
                "the file is \(bytes) bytes; a plan may be at most \(maxBytes) bytes (1 MB)")
        }
        if let mark = expansionOverflow(text, limit: maxNodes) {
            return PlanProblem(
                FileLocation(file: file, line: mark.line, column: mark.column),
                "this alias takes the plan past \(maxNodes) YAML nodes with its aliases expanded; write the plan out without aliases that repeat so much")
        }
        return nil
    }

    /// Where an alias takes the document past `limit` nodes, aliases expanded (1-based, as
    /// Yams marks count); nil when it stays within, or when the text is not YAML (Yams
    /// reports that, from the same parser, with its position).
    static func expansionOverflow(_ text: String, limit: Int) -> (line: Int, column: Int)? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> (line: Int, column: Int)? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            // Expanded sizes by anchor name (a later anchor of the same name shadows the earlier,
            // as in Yams), the collections still open with their sizes so far, and the total.
            var sizes: [String: Int] = [:]
            var open: [(anchor: String?, size: Int)] = []
            var total = 0
            func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                anchor.map { String(cString: $0) }
            }
            // Each size is at most `total`, and counting stops once `total` passes `limit`, so
            // none of these sums can overflow.
            func finished(_ size: Int, anchor: String?) {
                if let anchor { sizes[anchor] = size }
                if !open.isEmpty { open[open.count - 1].size += size }
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    total += 1
                    finished(1, anchor: name(event.data.scalar.anchor))
                case YAML_ALIAS_EVENT:
                    let size = name(event.data.alias.anchor).flatMap { sizes[$0] } ?? 1
                    total += size
                    if total > limit {
                        return (Int(event.start_mark.line) + 1, Int(event.start_mark.column) + 1)
                    }
                    finished(size, anchor: nil)
                case YAML_SEQUENCE_START_EVENT:
                    total += 1
                    open.append((name(event.data.sequence_start.anchor), 1))
                case YAML_MAPPING_START_EVENT:
                    total += 1
                    open.append((name(event.data.mapping_start.anchor), 1))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let closed = open.popLast() { finished(closed.size, anchor: closed.anchor) }
                default:
                    continue
                }
            }
        }
    }
}

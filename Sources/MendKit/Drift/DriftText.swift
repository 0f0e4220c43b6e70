/// `pgmend drift` for people: the matrix (fits 100 columns), the rename candidates, then what
/// differs, table by table.
public enum DriftText {
    static let cellWidth = 10

    public static func lines(_ report: DriftReport) -> [String] {
        let labels = ["database"] + report.sources.map(\.label)
        let nameWidth = min(max(24, report.rows.map { label($0).count }.max() ?? 0), 99 - (cellWidth + 1) * labels.count)
        // A long database name wraps the heading, as every other line fits 100 columns.
        var lines = wrap("drift of \(report.database): the database against \(report.sources.map(\.label).joined(separator: ", "))", width: 100)
        lines.append("")
        lines.append(line(pad("table", nameWidth), labels))
        for row in report.rows {
            let cells = [row.inDatabase ? (row.objectType == "table" ? "ok" : "present") : "absent"] + row.cells.map(\.state.rawValue)
            lines.append(line(pad(label(row), nameWidth), cells))
        }
        if !report.candidates.isEmpty {
            lines += ["", "Rename candidates:"]
            for candidate in report.candidates {
                let figures = candidate.similarity.map {
                    "\($0.table): columns \(DriftRenames.figure($0.columns)), with types \(DriftRenames.figure($0.typedColumns)), in common: \($0.common.joined(separator: ", "))"
                }
                lines += wrap("\(candidate.from) -> \(candidate.to.joined(separator: " + ")) (\(candidate.kind.rawValue), \(candidate.sources.joined(separator: ", "))): \(candidate.reason)", width: 96).map { "  " + $0 }
                for figure in figures { lines += wrap(figure, width: 94).map { "    " + $0 } }
            }
        }
        var detailLines: [String] = []
        var table = ""
        for row in report.rows {
            let notes = row.cells.flatMap { cell in cell.details.map { "\(cell.source): \($0)" } }
            guard !notes.isEmpty else { continue }
            if row.table != table {
                table = row.table
                detailLines += ["", row.table]
            }
            let head = row.objectType == "table" ? "" : "\(row.objectType) \(member(row)): "
            for note in notes { detailLines += indented(head + note) }
        }
        if !detailLines.isEmpty { lines += ["", "Details:"] + detailLines.dropFirst() }
        let differing = report.tableRows.filter { row in !row.cells.allSatisfy(row.agrees) }.count
        lines += ["", report.agree ? "every source agrees with the database"
                  : "\(differing) of \(TextLayout.count(report.tableRows.count, "table")) differ between the database and a source"]
        return lines
    }

    /// A row's name in the matrix: the table, or its member indented under it.
    static func label(_ row: DriftRow) -> String {
        row.objectType == "table" ? row.object : "  \(row.objectType) \(member(row))"
    }

    /// `work_sessions.notes` as `notes` under its table.
    static func member(_ row: DriftRow) -> String {
        row.object.hasPrefix(row.table + ".") ? String(row.object.dropFirst(row.table.count + 1)) : row.object
    }

    static func line(_ first: String, _ cells: [String]) -> String {
        var text = first
        for cell in cells { text += " " + pad(cell, cellWidth) }
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }

    /// `text` cut or padded to `width` columns; a cut name ends in `~`.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count > width ? String(text.prefix(width - 1)) + "~" : text + String(repeating: " ", count: width - text.count)
    }

    static func indented(_ text: String) -> [String] {
        let wrapped = wrap(text, width: 94)
        return wrapped.enumerated().map { $0.offset == 0 ? "  " + $0.element : "      " + $0.element }
    }
}

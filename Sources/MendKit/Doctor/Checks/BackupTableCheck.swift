import Foundation
import PostgresClient
import SchemaModel

/// `backup_table`: a leftover copy of a table. Signals, each named in the evidence: the name
/// (a `backup`/`bak`/`old`/`copy`/`tmp`/`temp` word at its end, or a date or hash suffix
/// after one of them or after a live table's name), a twin (a live table whose columns, by
/// name and type, this one's match), no primary key, constraint or index, no update or delete
/// since statistics began, and a comment saying backup or copy. A table is a finding when its
/// name says so, or when it is a twin without constraints; never when another table's foreign
/// key references it. Catalog and statistics only. Repaired by `archive_table`, once the
/// operator agrees that it may go.
enum BackupTableCheck: DoctorCheck {
    static let classes: [FindingClass] = [.backupTable]

    static let markers: Set<String> = ["backup", "backups", "bak", "bkp", "old", "copy", "tmp", "temp"]
    static let prefixMarkers: Set<String> = ["backup", "bak", "bkp", "copy", "tmp", "temp"]
    static let commentWords = ["backup", "copy", "leftover", "safe to drop", "not used", "temporary", "snapshot of"]

    /// `20240101`, `2024_01_01` (as its last words), `202401011230`.
    static func isDate(_ word: String) -> Bool {
        word.count >= 8 && word.count <= 14 && word.allSatisfy(\.isASCII) && word.allSatisfy(\.isNumber) && (word.hasPrefix("19") || word.hasPrefix("20"))
    }

    /// 6 to 40 hex digits with at least one digit and one letter: `66d3d5d1`.
    static func isHash(_ word: String) -> Bool {
        (6...40).contains(word.count) && word.allSatisfy { $0.isASCII && $0.isHexDigit }
            && word.contains(where: \.isNumber) && word.contains(where: \.isLetter)
    }

    /// What the name says: the base name it copies (if it names one) and the words that say so.
    static func nameSignal(_ name: String, live: Set<String>) -> (base: String?, words: [String])? {
        var words = ColumnRoles.words(name)
        var said: [String] = []
        // Suffixes: a date (one word or y_m_d), a hash, then a marker word.
        if words.count >= 4, words.suffix(3).allSatisfy({ $0.allSatisfy(\.isNumber) }), isDate(words.suffix(3).joined()) {
            said.append("date suffix _\(words.suffix(3).joined(separator: "_"))")
            words.removeLast(3)
        } else if words.count >= 2, let last = words.last, isDate(last) {
            said.append("date suffix _\(last)")
            words.removeLast()
        } else if words.count >= 2, let last = words.last, isHash(last) {
            said.append("hash suffix _\(last)")
            words.removeLast()
        }
        var marked = false
        while words.count >= 2, let last = words.last, markers.contains(last) || last.range(of: #"^(backup|bak|old|copy)\d+$"#, options: .regularExpression) != nil {
            said.append("_\(last)")
            words.removeLast()
            marked = true
        }
        if !marked, words.count >= 2, prefixMarkers.contains(words[0]) {
            let rest = words.dropFirst().joined(separator: "_")
            if live.contains(rest) || live.contains(words.dropFirst(words[1] == "of" ? 2 : 1).joined(separator: "_")) {
                said.append("\(words[0])_ prefix")
                words = Array(words.dropFirst(words[1] == "of" ? 2 : 1))
                marked = true
            }
        }
        let base = words.joined(separator: "_")
        // A date or hash suffix alone says "copy" only after a live table's name.
        guard marked || (!said.isEmpty && live.contains(base)) else { return nil }
        return (live.contains(base) ? base : nil, said)
    }

    static func hasNoConstraints(_ table: Table) -> Bool { table.constraints.isEmpty && table.indexes.isEmpty }

    /// The live table whose columns this one's match best: (table, matching, of its own).
    static func twin(of table: Table, base: String?, among tables: [(table: Table, columns: Set<String>)]) -> (table: Table, matching: Int, columns: Int)? {
        let own = signature(table)
        guard own.count >= 2 else { return nil }
        var best: (table: Table, matching: Int, columns: Int)?
        for (other, theirs) in tables where other.objectName != table.objectName {
            let matching = own.intersection(theirs).count
            let named = other.objectName.description.lowercased() == base
            // Most of either table's columns match (a backup of an older version may lack some).
            guard matching >= 2, matching * 5 >= max(own.count, theirs.count) * 4 || (named && matching * 2 >= own.count) else { continue }
            if best == nil || matching > best!.matching || (matching == best!.matching && named) {
                best = (other, matching, own.count)
            }
        }
        return best
    }

    /// A table's columns as `name type`.
    static func signature(_ table: Table) -> Set<String> { Set(table.columns.map { "\($0.name) \($0.type)" }) }

    static func findings(_ context: DoctorContext) throws -> [Finding] {
        let tables = ColumnRoles.tables(context).filter { $0.kind == .ordinary }
        let referenced = Set(context.schema.tables.values.flatMap { table in
            table.constraints.values.compactMap(\.foreignKey).map(\.referencedTable).filter { $0 != table.objectName.key }
        })
        var candidates: [(table: Table, name: (base: String?, words: [String])?)] = []
        // A base name is shorter than the table's own, so the table never finds itself here.
        let live = Set(tables.map { $0.objectName.description.lowercased() })
        for table in tables where !referenced.contains(table.objectName.key) {
            let name = nameSignal(table.objectName.description, live: live)
            if name != nil || (hasNoConstraints(table) && table.columns.count >= 2) { candidates.append((table, name)) }
        }
        guard !candidates.isEmpty else { return [] }
        let candidateNames = Set(candidates.filter { $0.name != nil }.map(\.table.objectName))
        let liveTables = tables.filter { !candidateNames.contains($0.objectName) }.map { ($0, signature($0)) }
        let activity = try lastActivity(context, candidates.map(\.table))
        var findings: [Finding] = []
        for candidate in candidates {
            let twin = twin(of: candidate.table, base: candidate.name?.base, among: liveTables)
            guard candidate.name != nil || (twin != nil && hasNoConstraints(candidate.table)) else { continue }
            findings.append(finding(candidate.table, name: candidate.name?.words ?? [], twin: twin, context: context, activity: activity[candidate.table.objectName.key]))
        }
        return findings
    }

    /// `pg_stat_user_tables` beyond the facts: changes since the last analyze and when each
    /// maintenance ran, for the candidates only (one query).
    static func lastActivity(_ context: DoctorContext, _ tables: [Table]) throws -> [String: (modifiedSinceAnalyze: Int64, lastAnalyze: String?)] {
        var found: [String: (modifiedSinceAnalyze: Int64, lastAnalyze: String?)] = [:]
        for row in try context.connection.query(
            """
            SELECT schemaname || '.' || relname, n_mod_since_analyze,
                   to_char(greatest(last_analyze, last_autoanalyze) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
            FROM pg_stat_user_tables WHERE schemaname || '.' || relname = ANY(\(bind: tables.map(\.objectName.key))::text[])
            """)
        {
            found[try row.get(0, as: String.self)] = (try row.get(1), try row.get(2, as: String?.self))
        }
        return found
    }

    static func finding(
        _ table: Table, name: [String], twin: (table: Table, matching: Int, columns: Int)?, context: DoctorContext,
        activity: (modifiedSinceAnalyze: Int64, lastAnalyze: String?)?
    ) -> Finding {
        let facts = context.facts(table)
        var signals: [String] = []
        var evidence: [EvidenceItem] = []
        if !name.isEmpty { signals.append("name (\(name.joined(separator: ", ")))") }
        if let twin {
            signals.append("twin of \(twin.table.objectName)")
            evidence.append(EvidenceItem("twin", .text(twin.table.objectName.description)))
            evidence.append(EvidenceItem("matching_columns", .text("\(twin.matching) of \(twin.columns)")))
        }
        if hasNoConstraints(table) { signals.append("no primary key, constraints or indexes") }
        if facts.updates + facts.deletes == 0 { signals.append("no updates or deletes since statistics began") }
        let comment = table.comment.flatMap { text in commentWords.contains { text.lowercased().contains($0) } ? text : nil }
        if comment != nil { signals.append("comment says so") }
        evidence.append(EvidenceItem("estimated_rows", .int(max(facts.estimatedRows, 0))))
        evidence.append(EvidenceItem("size", .text(ByteSize.text(facts.totalBytes))))
        evidence.append(EvidenceItem("writes_seen", .text(
            "\(facts.inserts) inserts, \(facts.updates) updates, \(facts.deletes) deletes since statistics began (\(context.statisticsSince ?? "never reset"))")))
        if let activity, let analyzed = activity.lastAnalyze {
            let since = activity.modifiedSinceAnalyze == 0 ? "no change since" : "\(activity.modifiedSinceAnalyze) rows changed since"
            evidence.append(EvidenceItem("last_write_seen", .text("\(since) the last analyze, \(analyzed)")))
        }
        if let comment { evidence.append(EvidenceItem("comment", .text(comment))) }
        evidence.insert(EvidenceItem("signals", .list(signals)), at: 0)
        let what = twin.map { "a leftover copy of \($0.table.objectName)" } ?? "a leftover backup"
        return Finding(
            .backupTable, .warning, objects: [table.objectName.description], table: table.objectName.description,
            summary: "\(table.objectName) looks like \(what) (\(signals.count) signals): archive it and drop it",
            evidence: evidence, repair: ArchiveTableStep.kind,
            planData: ["question": .text("may \(table.objectName) go? \(signals.joined(separator: "; ")); \(max(facts.estimatedRows, 0)) rows, \(ByteSize.text(facts.totalBytes))"
                + (comment.map { "; comment: \($0.trimmingCharacters(in: CharacterSet(charactersIn: ".?! ")))" } ?? "") + ". It is archived (verified) before the drop. Delete this line to accept")])
    }

    /// One `archive_table` step per table, each with a step-level `decide:` the operator deletes
    /// to let the table go.
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] {
        findings.map { finding in
            PlanDraftStep(
                .backupTable, kind: ArchiveTableStep.kind, comments: ["\(finding.id): \(finding.summary)"],
                options: [YAMLPair("table", .plain(finding.subject)), YAMLPair("decide", .plain(finding.planData["question"]?.description ?? "may \(finding.subject) go?"))])
        }
    }
}

import Foundation
import PostgresClient
import SchemaModel

/// One group of doctor's checks: the classes it can find, how it finds them, and the plan
/// steps that repair what it found (for `--write-plan`).
public protocol DoctorCheck {
    /// The classes its findings are of; a check is skipped when `--only` names none of them.
    static var classes: [FindingClass] { get }
    /// Reads the database (through `context`, bounded by its rules) and names the problems.
    static func findings(_ context: DoctorContext) throws -> [Finding]
    /// Steps that repair `findings` (this check's, none of them kept), in plan order. A
    /// finding with a `repair` kind must be covered by one of them; findings without one go
    /// to the plan's `ignore:` list with a decision to make.
    static func planSteps(_ findings: [Finding]) -> [PlanDraftStep]
}

extension DoctorCheck {
    public static func planSteps(_ findings: [Finding]) -> [PlanDraftStep] { [] }
}

/// What `pgmend doctor` is asked to do.
public struct DoctorOptions: Sendable {
    /// Read every table whole, however large.
    public var exact = false
    /// Tables whose heap is larger are read as a sample.
    public var sampleAboveBytes: Int64 = 64 << 20
    /// `statement_timeout` of each probe, in milliseconds.
    public var probeTimeout = 30_000
    /// Only these classes (nil: all).
    public var only: Set<FindingClass>?
    /// Findings kept on purpose, from plans' `ignore:` lists.
    public var ignores: [PlanIgnore] = []
    /// The session's `lock_timeout` and `statement_timeout`, pinned before the first read so
    /// that the role's own (a `statement_timeout` of 5ms, no `lock_timeout`) never apply.
    public var timeouts = SessionTimeouts.commandDefaults

    public init() {}
}

/// A finding kept on purpose by a plan's `ignore:` entry.
public struct KeptFinding: Sendable, Encodable {
    public var finding: Finding
    public var reason: String?
    /// `file:line:col` of the `ignore:` entry.
    public var keptBy: String

    enum CodingKeys: String, CodingKey { case finding, reason, keptBy = "kept_by" }
}

/// Everything doctor found, in the seeds' priority order.
public struct DoctorReport: Sendable, Encodable {
    public var database: String
    public var tables: Int
    public var exact: Bool
    public var sampleAboveBytes: Int64
    /// Tables read as a sample, with the percent of their pages.
    public var sampled: [String: Double]
    public var findings: [Finding]
    public var kept: [KeptFinding]
    public var skipped: [SkippedProbe]
    /// `ignore:` entries that matched no finding (the problem is gone, or the entry is misspelt).
    public var unusedIgnores: [String]

    enum CodingKeys: String, CodingKey {
        case database, tables, exact, sampleAboveBytes = "sample_above_bytes", sampled, findings, kept, skipped
        case unusedIgnores = "unused_ignores", counts
    }

    public var counts: [String: Int] {
        Dictionary(uniqueKeysWithValues: Severity.allCases.map { severity in (severity.rawValue, findings.count { $0.severity == severity }) })
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(database, forKey: .database)
        try container.encode(tables, forKey: .tables)
        try container.encode(exact, forKey: .exact)
        try container.encode(sampleAboveBytes, forKey: .sampleAboveBytes)
        try container.encode(sampled, forKey: .sampled)
        try container.encode(findings, forKey: .findings)
        try container.encode(kept, forKey: .kept)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(unusedIgnores, forKey: .unusedIgnores)
        try container.encode(counts, forKey: .counts)
    }
}

/// `pgmend doctor`: reads a live database in one read-only transaction and names each
/// problem the seeds describe, with its evidence (docs/doctor.md).
public struct Doctor {
    /// Every check, in the seeds' priority order of the classes they find.
    public static let checks: [any DoctorCheck.Type] = [
        JSONFieldsCheck.self,
        BackupTableCheck.self,
        UUIDAsTextCheck.self,
        NaiveTimestampCheck.self,
        IndexChecks.self,
        FreeTextEnumCheck.self,
        UnusedEnumCheck.self,
        ForeignKeyDataChecks.self,
        ColumnTypeChecks.self,
        ForeignKeyChecks.self,
        NoPrimaryKeyCheck.self,
        NullableUniqueCheck.self,
        SequenceChecks.self,
    ]

    let connection: Connection
    let options: DoctorOptions
    let progress: any ProgressReporter
    /// `checks`, or others in tests (a check that reads every table, to show how reads are bounded).
    let chosenChecks: [any DoctorCheck.Type]

    public init(connection: Connection, options: DoctorOptions, progress: any ProgressReporter = SilentProgress()) {
        self.init(connection: connection, options: options, progress: progress, checks: Self.checks)
    }

    init(connection: Connection, options: DoctorOptions, progress: any ProgressReporter, checks: [any DoctorCheck.Type]) {
        self.connection = connection
        self.options = options
        self.progress = progress
        self.chosenChecks = checks
    }

    /// Reads the database and reports. Nothing is written: the session is read-only
    /// (`default_transaction_read_only`) and every read is in one REPEATABLE READ READ ONLY
    /// transaction, so all checks see one moment; it works on a hot standby.
    public func examine() throws -> DoctorReport {
        try options.timeouts.pin(on: connection)
        // For doctor's session only: the connection is the caller's again afterwards.
        try connection.execute("SET default_transaction_read_only = on")
        defer { _ = try? connection.execute("RESET default_transaction_read_only") }
        let (found, context) = try connection.transaction(isolation: .repeatableRead, readOnly: true) { _ in
            let schema = try CatalogReader(connection: connection).readSchemaInCurrentTransaction()
            let context = try DoctorContext(
                connection: connection, schema: schema, exact: options.exact, sampleAboveBytes: options.sampleAboveBytes,
                probeTimeout: options.probeTimeout, progress: progress)
            var found: [Finding] = []
            let chosen = chosenChecks.filter { check in options.only.map { !$0.isDisjoint(with: check.classes) } ?? true }
            for (number, check) in chosen.enumerated() {
                progress.progress(task: "doctor", done: number, total: chosen.count, unit: "checks", detail: check.classes.map(\.rawValue).joined(separator: ", "))
                found += try check.findings(context).filter { options.only?.contains($0.classID) ?? true }
                progress.finish(task: DoctorContext.readingTask)
            }
            progress.finish(task: "doctor")
            return (found, context)
        }
        return report(Self.foldingIntoBackups(found).sorted(by: Self.reportOrder), context)
    }

    /// A leftover backup table goes with its repair (archived and dropped): its other findings
    /// (no primary key, UUIDs as text, ...) would only repeat it, so they are left out.
    static func foldingIntoBackups(_ found: [Finding]) -> [Finding] {
        let backups = Set(found.filter { $0.classID == .backupTable }.compactMap(\.table))
        return found.filter { $0.classID == .backupTable || $0.table.map { !backups.contains($0) } ?? true }
    }

    func report(_ found: [Finding], _ context: DoctorContext) -> DoctorReport {
        var findings: [Finding] = []
        var kept: [KeptFinding] = []
        var used: Set<PlanIgnore> = []
        for finding in found {
            if let entry = options.ignores.first(where: { $0.classID == finding.classID.rawValue && $0.object == finding.subject }) {
                kept.append(KeptFinding(finding: finding, reason: entry.reason, keptBy: entry.location.description))
                used.insert(entry)
            } else {
                findings.append(finding)
            }
        }
        let sampled = context.tables.compactMap { table in context.plannedRead(table).percent.map { (table.objectName.description, $0) } }
        return DoctorReport(
            database: connection.database, tables: context.schema.tables.count, exact: options.exact,
            sampleAboveBytes: options.sampleAboveBytes, sampled: Dictionary(uniqueKeysWithValues: sampled), findings: findings, kept: kept,
            skipped: context.skipped,
            unusedIgnores: options.ignores.filter { !used.contains($0) }.map { "\($0.location): \($0.classID) \($0.object)" })
    }

    /// Class (the seeds' priority order), then severity, then object.
    static func reportOrder(_ a: Finding, _ b: Finding) -> Bool {
        (a.classID.order, a.severity.rank, a.subject, a.objects.joined(separator: " ")) < (b.classID.order, b.severity.rank, b.subject, b.objects.joined(separator: " "))
    }
}

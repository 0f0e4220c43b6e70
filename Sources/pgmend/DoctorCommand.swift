import ArgumentParser
import Foundation
import MendKit
import SchemaModel

extension PgMend {
    /// `pgmend doctor`: names the drift of a live database, with evidence, and can write the
    /// plan that repairs it. Read-only.
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the drift of a live database, with evidence, and write the plan that repairs it.",
            discussion: """
                Read-only: one READ ONLY transaction, each read bounded by --probe-timeout, tables over \
                --sample-above read as a sample unless --exact. Findings kept on purpose by a plan's ignore: \
                list (every plan in --plans, or those named by --plan) are reported as kept. Exits 0 when \
                nothing is found, 1 with findings. docs/doctor.md lists the classes and the JSON fields.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var format: FormatOption
        @OptionGroup var progress: ProgressOption
        @Option(help: ArgumentHelp("Also write the plan that repairs the findings to this file.", valueName: "file"))
        var writePlan: String?
        @Flag(help: "Read every table whole, however large (counts are then exact, not estimates).")
        var exact = false
        @Option(help: ArgumentHelp("Only these classes, comma-separated (docs/doctor.md lists them).", valueName: "class,..."))
        var only: String?
        @Option(help: ArgumentHelp("Tables larger than this are read as a TABLESAMPLE sample (default 64MB).", valueName: "size"))
        var sampleAbove: String = "64MB"
        @Option(help: ArgumentHelp("statement_timeout of each read; a read that runs past it is reported as not checked (default 30s).", valueName: "duration"))
        var probeTimeout: String = "30s"
        @Option(help: ArgumentHelp("Take ignore: lists only from this plan (name or path; repeatable).", valueName: "plan"))
        var plan: [String] = []
        @OptionGroup var plans: PlansOption

        func validate() throws {
            if let only {
                let parsed = FindingClass.parseList(only)
                if !parsed.unknown.isEmpty {
                    throw ValidationError("--only: unknown class \(parsed.unknown.joined(separator: ", ")); the classes are \(FindingClass.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            }
            guard case .bytes = ByteSize.parse(sampleAbove) else { throw ValidationError("--sample-above takes a size like 64MB or 1GB, not '\(sampleAbove)'") }
            guard SessionTimeouts.lockTimeout(probeTimeout) != nil else {
                throw ValidationError("--probe-timeout takes a duration like 500ms, 30s or 2min, not '\(probeTimeout)'")
            }
        }

        func run() throws {
            try format.answering(Self.self) { try examine() }
        }

        func examine() throws {
            var options = DoctorOptions()
            options.exact = exact
            options.only = only.map { FindingClass.parseList($0).classes }
            if case .bytes(let bytes) = ByteSize.parse(sampleAbove) { options.sampleAboveBytes = bytes }
            options.probeTimeout = SessionTimeouts.lockTimeout(probeTimeout) ?? options.probeTimeout
            options.ignores = try ignores()
            options.timeouts = self.connection.timeouts
            let connection = try connection.connect()
            let report = try self.connection.reading("reading the database", on: connection) {
                try MendKit.Doctor(connection: connection, options: options, progress: progress.reporter()).examine()
            }
            if let writePlan {
                do {
                    try OutputFile.write(Data(PlanWriter.text(report, path: writePlan).utf8), to: writePlan)
                } catch {
                    throw CommandFailure(.failed, "cannot write \(writePlan): \(error.localizedDescription)")
                }
                StandardError.write("wrote \(writePlan): make its decisions, then pgmend plan check \(writePlan)\n")
            }
            switch format.format {
            case .json: print(try CanonicalJSON.encode(report), terminator: "")
            case .text: print(DoctorText.lines(report).joined(separator: "\n"))
            }
            if !report.findings.isEmpty { throw ExitCode(ExitStatus.failed.rawValue) }
        }

        /// The `ignore:` entries of the plans named by `--plan`, or of every plan in `--plans`
        /// that loads (one with decisions still to make does not: its entries count once made).
        func ignores() throws -> [PlanIgnore] {
            if !plan.isEmpty { return try plan.flatMap { try plans.load($0).ignores } }
            return plans.catalog.names().flatMap { name in (try? plans.catalog.load(name))?.ignores ?? [] }
        }
    }
}

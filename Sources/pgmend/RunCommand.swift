import ArgumentParser
import Foundation
import MendKit
import PostgresClient
import SchemaModel

extension PgMend {
    /// `pgmend run NAME [--dry-run | --rehearse]`.
    struct RunCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a named plan: --dry-run to see what it would do, --rehearse to try it and roll back.",
            discussion: """
                Exits 0 when done (or nothing to do), 1 when a statement failed or the result differs \
                from the prediction, 2 for a bad plan, 3 when a step is blocked by data problems, \
                4 when the database, its run lock or a table lock could not be had, 5 when the operator \
                declined at the prompt.
                """)

        @Argument(help: "Plan name (Plans/NAME.yaml) or path.") var plan: String
        @OptionGroup var plans: PlansOption
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Assess every step and show the SQL and the predicted schema diff; change nothing.")
        var dryRun = false
        @Flag(help: "Run the plan inside one transaction, report, and roll back.")
        var rehearse = false
        @Option(help: "Refuse to rehearse when the tables involved are larger than this (e.g. 500MB, 2GB).")
        var maxRehearsalSize: String = "1GB"
        @Flag(help: "Do not ask for confirmation on a terminal.")
        var yes = false
        @Flag(name: .shortAndLong, help: "Show every statement in full, and in a run or a rehearsal each step's actions and SQL.")
        var verbose = false
        @Flag(help: "Only the step lines and the schema changes (and the details of a step that stopped).")
        var brief = false
        @OptionGroup var snapshots: SnapshotsOption
        @OptionGroup var archives: ArchivesOption
        @Flag(help: "Snapshots with row counts and content fingerprints (reads every table twice), so the run's data changes can be verified after it.")
        var data = false
        @Option(help: ArgumentHelp(
            "The application's models: a dry run warns about each change they would undo (as the plan's settings models: does, which this replaces).",
            valueName: "module:attr"))
        var models: String?
        @Option(name: .customLong("models-path"), help: ArgumentHelp("The folder the models' module is imported from.", valueName: "dir"))
        var modelsPath: String?
        @Option(help: ArgumentHelp("The Python that imports the plan's models (settings: models:); default: python3 on PATH.", valueName: "path"))
        var python: String?
        @OptionGroup var format: FormatOption
        @OptionGroup var progress: ProgressOption

        var detail: RunReportText.Detail { verbose ? .verbose : brief ? .brief : .normal }

        func validate() throws {
            if verbose && brief { throw ValidationError("choose --verbose or --brief, not both") }
            if dryRun && rehearse { throw ValidationError("choose --dry-run or --rehearse, not both") }
            if modelsPath != nil && models == nil { throw ValidationError("--models-path goes with --models MODULE:ATTR") }
            if data && (dryRun || rehearse) { throw ValidationError("--data is for a real run: a dry run and a rehearsal write no snapshots") }
            switch ByteSize.parse(maxRehearsalSize) {
            case .bytes: break
            case .tooLarge: throw ValidationError("--max-rehearsal-size must be at most 1TB, not '\(maxRehearsalSize)'")
            case .malformed: throw ValidationError("--max-rehearsal-size takes a size like 500MB or 2GB, not '\(maxRehearsalSize)'")
            }
        }

        /// `--max-rehearsal-size` in bytes (checked in `validate`).
        var maxRehearsalBytes: Int64 {
            if case .bytes(let bytes) = ByteSize.parse(maxRehearsalSize) { return bytes }
            return 0
        }

        func run() throws {
            // One JSON document for every outcome: a script reads stdout whatever happened.
            try format.answering(Self.self, plan: plan) { try runPlan() }
        }

        func runPlan() throws {
            var plan = try plans.load(plan, archives: archives.archives)
            if let models {
                plan.settings.models = models
                plan.settings.modelsPath = modelsPath
            }
            let connection = try connection.connect()
            var runner = Runner(connection: connection, plan: plan, progress: progress.reporter())
            // The test hook that kills the run at a chosen effect: read here, once, and handed
            // to the executor; the library reads no environment variable for it.
            runner.faults = FaultPoints(parsing: ProcessInfo.processInfo.environment["PGMEND_FAULT"] ?? "")
            runner.modelsSnapshot = PgMend.modelsSnapshot(python: python, conninfo: try self.connection.conninfo())
            let report: RunReport
            do {
                if dryRun {
                    report = try runner.dryRun()
                } else if rehearse {
                    RehearsalSignals.install()
                    report = try runner.rehearse(maxBytes: maxRehearsalBytes)
                } else {
                    report = try runner.apply(snapshotDirectory: snapshots.snapshots, includeData: data, confirm: confirm)
                }
            } catch let failure as RunFailure {
                if failure.isLock { throw CommandFailure(.unreachable, failure.description) }
                throw CommandFailure(.failed, failure.description)
            } catch let wait as LockWaitTimedOut {
                throw CommandFailure(.unreachable, wait.description)
            } catch let timedOut as StatementTimedOut {
                throw CommandFailure(.failed, timedOut.description)
            } catch let unavailable as JournalUnavailable {
                throw CommandFailure(.failed, unavailable.description)
            } catch let unavailable as ModelsUnavailable {
                throw CommandFailure(.badInput, unavailable.description)
            } catch let refused as RehearsalRefused {
                throw CommandFailure(.badInput, refused.description)
            } catch let failure as SnapshotNotWritten {
                // Only the pre-snapshot is thrown: a post-snapshot failure is in the report.
                throw CommandFailure(.failed, "nothing was changed; \(failure)")
            }
            if report.mode == .dryRun && !dryRun {
                // The operator saw the dry run at the prompt and said no.
                throw CommandFailure(.declined, "not confirmed; nothing was changed")
            }
            switch format.format {
            case .json: print(try CanonicalJSON.encode(report), terminator: "")
            case .text: print(RunReportText(report, color: isatty(STDOUT_FILENO) == 1, detail: detail).text, terminator: "")
            }
            if report.exitStatus != .ok { throw ExitCode(report.exitStatus.rawValue) }
        }

        /// On a terminal, unless --yes: show the dry run and ask, counting what will run, the
        /// steps that wait for earlier ones included.
        func confirm(_ preview: RunReport) -> Bool {
            guard !yes, format.format == .text, isatty(STDIN_FILENO) == 1 else { return true }
            print(RunReportText(preview, color: isatty(STDOUT_FILENO) == 1, detail: detail).text)
            print("Against \(preview.database): run \(preview.pendingWork ?? "nothing")? [y/N] ", terminator: "")
            return readLine()?.lowercased().hasPrefix("y") ?? false
        }
    }
}

/// An interrupted rehearsal (Ctrl-C, SIGTERM, SIGHUP) removes its private folder of archives
/// (`RehearsalFolder`) before the process ends as the signal would have ended it; the server
/// rolls its transaction back when the connection closes.
enum RehearsalSignals {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        guard sources.isEmpty else { return }
        // A mask inherited blocked (a parent that spawned pgmend from one of its threads)
        // would keep these pending forever: this thread takes them, for the sources below.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&unblocked, number) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        for number in [SIGINT, SIGTERM, SIGHUP] {
            // Delivered to the dispatch source only, on a thread of its own: the main thread
            // may be waiting in libpq.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                RehearsalFolder.removeLive()
                signal(number, SIG_DFL)
                // To the process, not this thread: dispatch's threads block signals.
                kill(getpid(), number)
            }
            source.resume()
            sources.append(source)
        }
    }
}

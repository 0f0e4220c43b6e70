import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The contract every step kind keeps (DESIGN.md, "The step contract"), checked through the
/// built `pgmend` binary on a fresh database per case: the dry run is golden and changes
/// nothing; the run applies (and the runner has checked the catalog against the prediction
/// after each step, so exit 0 means they were equal); a second run executes nothing; a
/// rehearsal changes nothing; a run killed after or inside any of its effects is finished by
/// the next run, which leaves exactly what an uninterrupted run leaves.
///
/// Driven by the step registry: a kind registered without a folder under `Fixtures/` fails
/// every test below for that kind.
@Suite("Conformance of every step kind")
struct ConformanceTests {
    /// Every kind pgmend knows, read from the registry so that a new kind is in the suite the
    /// moment it is registered.
    static let kinds = StepRegistry.names

    @Test("every registered kind has a fixture folder, and every folder is a registered kind")
    func foldersMatchTheRegistry() {
        let folders = KindFixture.folders()
        for kind in Self.kinds {
            #expect(folders.contains(kind), "\(MissingFixture(kind: kind, file: ""))")
        }
        for folder in folders {
            #expect(Self.kinds.contains(folder), "Fixtures/\(folder)/ is not a registered step kind (registered: \(Self.kinds.joined(separator: ", ")))")
        }
    }

    @Test("the fixture plan is named plan and uses its kind", arguments: kinds)
    func planUsesItsKind(kind: String) throws {
        let fixture = KindFixture(kind)
        _ = try fixture.text("plan.yaml")
        let plan = try PlanLoader.load(path: fixture.path("plan.yaml"))
        #expect(plan.name == "plan")
        #expect(plan.steps.contains { $0.kind == kind }, "Fixtures/\(kind)/plan.yaml has no \(kind) step")
    }

    /// Exit 0: every fixture is one a real run applies, so its dry run is not blocked.
    @Test("a dry run prints the golden text and changes nothing", arguments: kinds)
    func dryRun(kind: String) throws {
        let fixture = KindFixture(kind)
        try Workbench.with(fixture, "dry_run") { bench in
            let before = try bench.state()
            let outcome = try bench.pgmend(["run", "plan", "--dry-run", "--verbose"])
            #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
            try fixture.expectGoldenDryRun(try bench.masked(outcome.stdout))
            bench.expectState(try bench.state(), equals: before, "a dry run of \(kind) changed the database")
            let journal = try bench.database.connect().scalar("SELECT to_regnamespace('pgmend') IS NOT NULL", as: Bool.self)
            #expect(journal == false, "a dry run created the journal schema")
        }
    }

    @Test("a run applies as predicted and verifies; a second run executes nothing", arguments: kinds)
    func applyThenNothingToDo(kind: String) throws {
        try Workbench.with(KindFixture(kind), "apply") { bench in
            let first = try bench.pgmend(["run", "plan", "--yes", "--format", "json"])
            // Exit 0 also says the catalog equalled the prediction after every step.
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
            let report = try RunSummary(json: first.stdout)
            #expect(report.outcome == "ok")
            #expect(report.statementsExecuted > 0, "the fixture gives \(kind) nothing to do")
            #expect(report.steps.allSatisfy { $0.status == "applied" }, "\(report.steps.map { "\($0.kind): \($0.status)" })")
            let reference = try bench.state()

            if let post = report.postSnapshot {
                let verify = try bench.pgmend(["verify", post])
                #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            } else {
                Issue.record("the run wrote no post-snapshot")
            }

            let second = try bench.pgmend(["run", "plan", "--yes", "--format", "json"])
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            let again = try RunSummary(json: second.stdout)
            #expect(again.statementsExecuted == 0)
            #expect(again.steps.allSatisfy { $0.status == "satisfied" }, "\(again.steps.map { "\($0.kind): \($0.status)" })")
            bench.expectState(try bench.state(), equals: reference, "the second run changed the database")
            #expect(try bench.journalRuns() == ["ok", "ok"])
        }
    }

    @Test("a rehearsal runs everything, rolls back and changes nothing", arguments: kinds)
    func rehearsal(kind: String) throws {
        try Workbench.with(KindFixture(kind), "rehearsal") { bench in
            let before = try bench.state()
            let outcome = try bench.pgmend(["run", "plan", "--rehearse", "--format", "json"])
            func expectItRan() throws {
                #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
                let report = try RunSummary(json: outcome.stdout)
                #expect(report.outcome == "ok")
                #expect(report.statementsExecuted > 0)
            }
            // A non-transactional sql step (CREATE INDEX CONCURRENTLY) is rehearsed in its
            // transactional form, inside the rehearsal's transaction.
            try expectItRan()
            bench.expectState(try bench.state(), equals: before, "a rehearsal of \(kind) changed the database")
            // Archives a rehearsal writes go to a throwaway folder, never beside the plan.
            let written = (try? FileManager.default.subpathsOfDirectory(atPath: "\(bench.folder)/Snapshots")) ?? []
            #expect(written.isEmpty, "a rehearsal wrote \(written)")
        }
    }

    /// For each effect k of an uninterrupted run (E of them): killed with SIGKILL once it has
    /// finished (`after:k`) and in its middle, after its work and before its COMMIT
    /// (`inside:k`); then run again. The second run must finish (exit 0) and leave the schema
    /// and data an uninterrupted run leaves; the killed run stays in the journal, marked
    /// `interrupted` by the next one.
    @Test("killed after or inside any effect, the next run ends as if never killed", arguments: kinds)
    func killedAnywhereThenResumed(kind: String) throws {
        let fixture = KindFixture(kind)
        let (effects, reference) = try Workbench.with(fixture, "uninterrupted") { bench in
            let outcome = try bench.pgmend(["run", "plan", "--yes", "--format", "json"])
            #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
            let effects = try RunSummary(json: outcome.stdout).statementsExecuted
            // The journal agrees: one finished row per effect.
            let journaled = try bench.database.connect().scalar(
                "SELECT count(*) FROM pgmend.statements WHERE finished_at IS NOT NULL AND error IS NULL", as: Int.self)
            #expect(journaled == effects)
            return (effects, try bench.state())
        }
        #expect(effects > 0, "the fixture gives \(kind) nothing to do")
        for effect in stride(from: 1, through: effects, by: 1) {
            for point in ["after", "inside"] {
                try Workbench.with(fixture, "\(point)_\(effect)") { bench in
                    try Self.killThenResume(bench, point: point, effect: effect, reference: reference)
                }
            }
        }
    }

    static func killThenResume(_ bench: Workbench, point: String, effect: Int, reference: DatabaseState) throws {
        let kind = bench.fixture.kind
        let fault = "\(point):\(effect)"
        let killed = try bench.pgmend(["run", "plan", "--yes"], fault: fault)
        #expect(
            killed.status == 128 + SIGKILL && killed.stderr.contains("PGMEND_FAULT=\(fault): killing the process"),
            "\(kind), PGMEND_FAULT=\(fault): not killed (exit \(killed.status))\n\(killed.stdout)\(killed.stderr)")
        try bench.waitForKilledSessions()
        // The fault counts effects as the journal does: killed after effect k, k are finished;
        // killed inside it, k - 1 are, and the k-th was started.
        let journal = try bench.database.connect().query(
            "SELECT count(*) FILTER (WHERE finished_at IS NOT NULL), count(*) FROM pgmend.statements")
        let finished = try journal.first?.get(0, as: Int.self)
        let started = try journal.first?.get(1, as: Int.self)
        #expect(finished == (point == "after" ? effect : effect - 1) && started == effect, "\(kind), PGMEND_FAULT=\(fault): \(finished ?? -1) statements finished of \(started ?? -1) started")
        let resumed = try bench.pgmend(["run", "plan", "--yes", "--format", "json"])
        #expect(resumed.status == 0, "\(kind), after PGMEND_FAULT=\(fault): the next run failed\n\(resumed.stdout)\(resumed.stderr)")
        bench.expectState(
            try bench.state(), equals: reference, "\(kind), after PGMEND_FAULT=\(fault) and a second run: differs from an uninterrupted run")
        #expect(try bench.journalRuns() == ["interrupted", "ok"], "\(kind), PGMEND_FAULT=\(fault)")
    }
}

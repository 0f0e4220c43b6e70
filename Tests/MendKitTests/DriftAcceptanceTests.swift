import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import Testing

/// Issue 22's acceptance, as an operator runs it through the binary on the demo: drift writes
/// the plan and the repair migration; the plan, decided, runs; the document is rewritten; then
/// drift with the models, the migrations (the written one included) and the new document finds
/// no difference, and Alembic's own compare_metadata agrees with the database.
@Suite("drift, end to end on the demo", .serialized)
struct DriftAcceptanceTests {
    /// Alembic's comparison of the demo application's models with the database: one line per
    /// difference, none when they agree (the public schema; pgmend's journal is its own).
    /// Comments are left out of it as drift leaves them out (docs/drift.md): the demo's tables
    /// carry comments its models do not, and no repair should delete documentation.
    static let compare = """
        import sys, warnings
        sys.path.insert(0, sys.argv[1])
        import sqlalchemy as sa
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext
        from app.models import Base
        engine = sa.create_engine(sys.argv[2])
        with engine.connect() as connection:
            # The test role is named pgmend: "$user" would make pgmend's journal the default schema.
            connection.exec_driver_sql("SET search_path TO public")
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", sa.exc.SAWarning)
                differences = compare_metadata(context, Base.metadata)
        comments = {"add_table_comment", "remove_table_comment", "modify_comment"}
        differences = [d for d in differences if not (isinstance(d, tuple) and d[0] in comments)
                       and not (isinstance(d, list) and all(item[0] in comments for item in d))]
        for difference in differences:
            print(difference)
        sys.exit(1 if differences else 0)
        """

    @Test func afterThePlanEverySourceAgreesAndAlembicToo() throws {
        let cluster = try ThrowawayCluster.shared()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-drift-e2e-\(UUID().uuidString.prefix(8))")
        let app = work.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: GenerateModelsTests.root.appendingPathComponent("Plans/demo/app"), to: app)
        defer { try? FileManager.default.removeItem(at: work) }
        let python = try GenerateModelsTests.python()
        try cluster.withFreshDatabase { database in
            try loadSQL("Plans/demo/drifted.sql", into: database, variables: ["users": "60"])
            let db = database.conninfo
            let plans = work.appendingPathComponent("plans").path
            try FileManager.default.createDirectory(atPath: plans, withIntermediateDirectories: true)
            func drift(docs: String, extra: [String] = []) throws -> ProcessOutcome {
                try PgMendBinary.run([
                    "drift", "--db", db, "--models", "app.models:Base", "--path", app.path, "--python", python,
                    "--migrations", app.appendingPathComponent("alembic.ini").path, "--docs", docs,
                ] + extra)
            }
            let before = try drift(docs: GenerateModelsTests.root.appendingPathComponent("Plans/demo/DATABASE_SCHEMA.md").path, extra: [
                "--write-plan", plans + "/drift.yaml", "--archive-folder", work.appendingPathComponent("archive").path,
            ])
            #expect(before.status == 1, "\(before.stdout)\(before.stderr)")
            #expect(FileManager.default.fileExists(atPath: app.appendingPathComponent("migrations/versions/003_pgmend_repair.py").path))

            // The operator's decisions: create the renamed tables anew and archive the old ones,
            // the naive timestamps were UTC, drop what only the database has.
            let written = try String(contentsOfFile: plans + "/drift.yaml", encoding: .utf8)
            try DriftDecisions.createAnew(written).write(toFile: plans + "/drift.yaml", atomically: true, encoding: .utf8)
            let run = try PgMendBinary.run(["run", "drift", "--plans", plans, "--yes", "--db", db, "--snapshots", work.appendingPathComponent("runs").path])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            let document = work.appendingPathComponent("DATABASE_SCHEMA.md").path
            let docs = try PgMendBinary.run(["docs", "--db", db, "-o", document])
            #expect(docs.status == 0, "\(docs.stderr)")

            let after = try drift(docs: document)
            #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
            let alembic = try ProcessRunner.run(python, ["-c", Self.compare, app.path, GenerateModelsTests.sqlalchemyURL(database)])
            #expect(alembic.status == 0, "compare_metadata:\n\(alembic.stdout)\(alembic.stderr)")
            let again = try PgMendBinary.run(["run", "drift", "--plans", plans, "--yes", "--db", db, "--snapshots", work.appendingPathComponent("runs").path])
            #expect(again.stdout.contains("0 statements executed"), "\(again.stdout)")
        }
    }
}

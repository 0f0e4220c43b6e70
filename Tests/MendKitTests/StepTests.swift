import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// Builds a step from YAML options the way a plan would, failing the test on any problem.
func makeStep(_ yaml: String) throws -> any RepairStep {
    let plan = try PlanLoader.parse("name: t\nsteps:\n  - \(yaml)\n", file: "t.yaml")
    return try #require(plan.steps.first).step
}

/// needed -> apply the effects -> the catalog equals the prediction -> satisfied.
func applyAndCheckPrediction(_ step: any RepairStep, on connection: Connection, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let reader = CatalogReader(connection: connection)
    let probe = Probe(connection: connection)
    let before = try reader.readSchema()
    guard case .needed(let effects, let predicted) = try step.assess(before, probe) else {
        Issue.record("expected the step to be needed", sourceLocation: sourceLocation)
        return
    }
    let context = EffectContext.standalone(connection)
    for effect in effects { _ = try effect.apply(context) }
    let after = try reader.readSchema()
    if let predicted {
        let differences = SchemaDiff.changes(from: predicted, to: after).map(\.description)
        #expect(differences == [], "prediction differs from the catalog", sourceLocation: sourceLocation)
    }
    guard case .satisfied = try step.assess(after, probe) else {
        Issue.record("expected the step to be satisfied after running", sourceLocation: sourceLocation)
        return
    }
}

@Suite("Step kinds: needed, applied, predicted, satisfied")
struct StepTests {
    @Test func renameTable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE calendar (id int PRIMARY KEY, title text);
                CREATE INDEX calendar_title_idx ON calendar (title);
                CREATE TABLE reminders (id int, calendar_id int REFERENCES calendar (id));
                CREATE VIEW upcoming AS SELECT id, title FROM calendar;
                """)
            let step = try makeStep("rename_table: {from: calendar, to: calendar_events}")
            try applyAndCheckPrediction(step, on: connection)
        }
    }

    @Test func renameTableWithItsDependents() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                SET search_path = public;
                CREATE TABLE file_locks (id serial PRIMARY KEY, path text UNIQUE, owner int CHECK (owner > 0), at timestamptz);
                CREATE INDEX file_locks_at_idx ON file_locks (at);
                CREATE INDEX recent_locks ON file_locks (at DESC);
                CREATE TABLE lock_events (id int, lock_id int CONSTRAINT lock_events_lock_fkey REFERENCES file_locks (id));
                """)
            let step = try makeStep("rename_table: {from: file_locks, to: claude_code_file_locks, rename_dependents: true}")
            try applyAndCheckPrediction(step, on: connection)
            let names = try connection.query("""
                SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('i', 'S')
                UNION ALL SELECT conname::text FROM pg_constraint WHERE conrelid = 'public.claude_code_file_locks'::regclass ORDER BY 1
                """).map { try $0.get(0, as: String.self) }
            #expect(names == [
                "claude_code_file_locks_at_idx", "claude_code_file_locks_id_seq", "claude_code_file_locks_owner_check",
                "claude_code_file_locks_path_key", "claude_code_file_locks_path_key", "claude_code_file_locks_pkey",
                "claude_code_file_locks_pkey", "recent_locks",
            ])
            #expect(try connection.scalar("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.claude_code_file_locks'::regclass", as: String.self)
                == "nextval('claude_code_file_locks_id_seq'::regclass)")
        }
    }

    @Test func renameTableFinishesWhatAPlainRenameLeft() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            // to begins with from_: names already beginning with to_ are the new ones.
            try connection.execute("CREATE TABLE public.calendar (id int PRIMARY KEY, title text); CREATE INDEX calendar_title_idx ON public.calendar (title)")
            try applyAndCheckPrediction(try makeStep("rename_table: {from: calendar, to: calendar_events}"), on: connection)
            #expect(try connection.scalar("SELECT count(*) FROM pg_class WHERE relname IN ('calendar_pkey', 'calendar_title_idx')", as: Int.self) == 2)
            try applyAndCheckPrediction(try makeStep("rename_table: {from: calendar, to: calendar_events, rename_dependents: true}"), on: connection)
            #expect(try connection.scalar("SELECT count(*) FROM pg_class WHERE relname IN ('calendar_events_pkey', 'calendar_events_title_idx')", as: Int.self) == 2)
        }
    }

    @Test func renameTableBlocksWhenBothOrNeitherExist() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE a (id int); CREATE TABLE b (id int)")
            let probe = Probe(connection: connection)
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try makeStep("rename_table: {from: a, to: b}").assess(schema, probe) else {
                Issue.record("both exist: should be blocked"); return
            }
            #expect(problems.map(\.description) == ["both a and b exist; pgmend will not choose between them"])
            guard case .blocked = try makeStep("rename_table: {from: x, to: y}").assess(schema, probe) else {
                Issue.record("neither exists: should be blocked"); return
            }
        }
    }

    @Test func addCheck() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE goals (id int PRIMARY KEY, progress int); INSERT INTO goals VALUES (1, 10), (2, NULL)")
            try applyAndCheckPrediction(
                try makeStep("add_check: {table: goals, name: goals_progress_range, expression: progress BETWEEN 0 AND 100}"), on: connection)
        }
    }

    @Test func addCheckIsBlockedByViolatingRowsListedByPrimaryKey() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE goals (id int PRIMARY KEY, progress int); INSERT INTO goals SELECT g, g * 10 FROM generate_series(1, 15) g")
            let schema = try CatalogReader(connection: connection).readSchema()
            let step = try makeStep("add_check: {table: goals, name: goals_progress_range, expression: progress <= 100}")
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("violating rows should block"); return
            }
            #expect(problems.map(\.description) == ["rows of goals violate CHECK (progress <= 100) (5 rows: 11, 12, 13, 14, 15)"])
            #expect(try connection.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'goals_progress_range'", as: Int.self) == 0)
        }
    }

    @Test func toEnum() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE apps (id int PRIMARY KEY, sync_status varchar(20) DEFAULT 'pending');
                CREATE INDEX apps_sync_status_idx ON apps (sync_status);
                INSERT INTO apps VALUES (1, 'synced'), (2, 'pending'), (3, NULL);
                """)
            try applyAndCheckPrediction(
                try makeStep("to_enum: {table: apps, column: sync_status, type: sync_status, labels: [synced, pending, failed]}"), on: connection)
            #expect(try connection.scalar("SELECT sync_status::text FROM apps WHERE id = 1", as: String.self) == "synced")
        }
    }

    @Test func toEnumIsBlockedByValuesOutsideTheLabels() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE apps (id int PRIMARY KEY, sync_status text); INSERT INTO apps VALUES (1, 'synced'), (2, 'SYNCED'), (3, 'unknown ')")
            let schema = try CatalogReader(connection: connection).readSchema()
            let step = try makeStep("to_enum: {table: apps, column: sync_status, type: sync_status, labels: [synced, pending]}")
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("outside values should block"); return
            }
            #expect(problems.map(\.description) == ["values of apps.sync_status outside (synced, pending): 'SYNCED', 'unknown ' (2 rows: 2, 3)"])
        }
    }

    @Test func toEnumIsBlockedByWhatTheTypeChangeCannotCarryOver() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                SET search_path = public;
                CREATE TABLE apps (id int PRIMARY KEY, status text, name text);
                CREATE INDEX apps_status_idx ON apps (status);
                CREATE INDEX apps_name_live_idx ON apps (name) WHERE name <> '';
                INSERT INTO apps VALUES (1, 'x', 'a'), (2, 'y', 'b');
                CREATE VIEW app_names AS SELECT id, name FROM apps;
                """)
            let step = try makeStep("to_enum: {table: apps, column: status, type: app_status, labels: [x, y]}")
            // A plain index on the column, a partial index and a view on other columns: the ALTER rebuilds
            // the first and leaves the others alone.
            guard case .needed = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("a plain index of the column should not block"); return
            }

            try connection.execute("""
                SET search_path = public;
                CREATE VIEW pending_apps AS SELECT id FROM apps WHERE status = 'x';
                CREATE INDEX apps_x_idx ON apps (id) WHERE status = 'x';
                CREATE INDEX apps_status_lower_idx ON apps (lower(status));
                CREATE INDEX apps_status_pattern_idx ON apps (status text_pattern_ops);
                CREATE TABLE app_labels (id int, status text, label text GENERATED ALWAYS AS (upper(status)) STORED);
                ALTER TABLE apps ADD COLUMN status_upper text GENERATED ALWAYS AS (upper(status)) STORED;
                CREATE RULE apps_no_y AS ON UPDATE TO apps WHERE new.status = 'y' DO INSTEAD NOTHING;
                CREATE POLICY apps_only_x ON apps USING (status = 'x');
                """)
            let before = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try step.assess(before, Probe(connection: connection)) else {
                Issue.record("a view, indexes, a rule, a generated column and a policy should block"); return
            }
            let advice = ": ALTER COLUMN ... TYPE cannot carry it over; drop it in an earlier step and create it again after"
            #expect(problems.map(\.description) == [
                "generated column apps.status_upper reads apps.status",
                "index apps_status_lower_idx reads in its expression or predicate apps.status",
                "index apps_x_idx reads in its expression or predicate apps.status",
                "index apps_status_pattern_idx has an operator class for the old type of apps.status",
                "policy apps_only_x on apps reads apps.status",
                "rule apps_no_y on apps reads apps.status",
                "view pending_apps reads apps.status",
            ].map { $0 + advice })
            #expect(problems.allSatisfy { $0.table == ObjectName(schema: "public", name: "apps") })
            #expect(try CatalogReader(connection: connection).readSchema() == before)
            #expect(try connection.scalar("SELECT to_regtype('public.app_status') IS NULL", as: Bool.self) == true)
        }
    }

    @Test func addCheckIsBlockedByACheckOfTheSameNameAndAnotherExpression() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE public.goals (id int PRIMARY KEY, progress int CONSTRAINT goals_progress_range CHECK (progress >= 0));
                INSERT INTO public.goals VALUES (1, 10);
                """)
            let step = try makeStep("add_check: {table: goals, name: goals_progress_range, expression: progress BETWEEN 0 AND 100}")
            let before = try CatalogReader(connection: connection).readSchema()
            guard case .blocked(let problems) = try step.assess(before, Probe(connection: connection)) else {
                Issue.record("a check of that name with another expression should block"); return
            }
            #expect(problems.map(\.description) == [
                "goals already has a check named goals_progress_range with another expression: it is CHECK (progress >= 0), the plan wants CHECK (progress >= 0 AND progress <= 100); drop or rename it in an earlier step",
            ])

            // NOT VALID with another expression blocks too; with the same one it is only validated.
            try connection.execute("""
                ALTER TABLE public.goals DROP CONSTRAINT goals_progress_range;
                ALTER TABLE public.goals ADD CONSTRAINT goals_progress_range CHECK (progress > 0) NOT VALID;
                """)
            guard case .blocked(let notValid) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("a NOT VALID check of that name with another expression should block"); return
            }
            #expect(notValid.map(\.description) == [
                "goals already has a check named goals_progress_range with another expression: it is CHECK (progress > 0) NOT VALID, the plan wants CHECK (progress >= 0 AND progress <= 100); drop or rename it in an earlier step",
            ])
            try connection.execute("""
                ALTER TABLE public.goals DROP CONSTRAINT goals_progress_range;
                ALTER TABLE public.goals ADD CONSTRAINT goals_progress_range CHECK (progress BETWEEN 0 AND 100) NOT VALID;
                """)
            guard case .needed(let effects, _) = try step.assess(try CatalogReader(connection: connection).readSchema(), Probe(connection: connection)) else {
                Issue.record("a NOT VALID check of the same expression should be validated"); return
            }
            #expect(effects.map(\.sql) == [#"ALTER TABLE "public"."goals" VALIDATE CONSTRAINT "goals_progress_range""#])
            try applyAndCheckPrediction(step, on: connection)
        }
    }

    /// Sequential scans of a table so far, with this backend's own counts flushed first.
    static func sequentialScans(_ table: String, _ connection: Connection) throws -> Int {
        try connection.execute("SELECT pg_stat_force_next_flush()")
        try connection.execute("SELECT pg_stat_clear_snapshot()")
        return try connection.scalar("SELECT seq_scan::int FROM pg_stat_user_tables WHERE relid = to_regclass(\(bind: table))", as: Int.self) ?? -1
    }

    @Test func archiveTableKeptAndArchivedReadsTheTableOnce() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE public.notes (id int PRIMARY KEY, body text); INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1, 100) g")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-steps-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let step = try makeStep("archive_table: {table: notes, to: \(folder), drop: false}")
            let schema = try CatalogReader(connection: connection).readSchema()
            guard case .needed(let effects, _) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("expected the archive to be needed"); return
            }
            for effect in effects { _ = try effect.apply(EffectContext.standalone(connection)) }

            let before = try Self.sequentialScans("public.notes", connection)
            let probe = Probe(connection: connection)
            guard case .satisfied = try probe.assessing({ try step.assess(schema, $0) }) else {
                Issue.record("expected the archived table to be satisfied"); return
            }
            let assessed = try Self.sequentialScans("public.notes", connection) - before
            #expect(assessed == 1, "one assessment scanned the table \(assessed) times")
            let plan = try writePlan("steps:\n  - archive_table: {table: notes, to: \(folder), drop: false}\n")
            let beforeRun = try Self.sequentialScans("public.notes", connection)
            let report = try Runner(connection: connection, plan: plan).apply(snapshotDirectory: folder + "/snapshots")
            #expect(report.steps.map(\.status) == [.satisfied])
            let run = try Self.sequentialScans("public.notes", connection) - beforeRun
            #expect(run == 1, "a run of the satisfied step scanned the table \(run) times")
        }
    }

    @Test func createTable() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE users (id uuid PRIMARY KEY)")
            let step = try makeStep("""
                create_table:
                      name: goals
                      columns:
                        - {name: id, type: bigint, primary_key: true, identity: by_default}
                        - {name: user_id, type: uuid, nullable: false, references: users(id), on_delete: cascade}
                        - {name: category, type: varchar(50), check: "category IN ('personal', 'work')"}
                        - {name: title, type: varchar(200), nullable: false}
                        - {name: status, type: varchar(20), default: "'active'", check: "status IN ('active', 'completed', 'paused', 'abandoned')"}
                        - {name: progress, type: int, default: 0, check: progress BETWEEN 0 AND 100}
                        - {name: extra_data, type: jsonb}
                        - {name: created_at, type: timestamptz, default: now()}
                      unique: [[user_id, title]]
                      indexes:
                        - {columns: [user_id, status]}
                """)
            try applyAndCheckPrediction(step, on: connection)
        }
    }

    @Test func createTableBlocksWhenATableOfAnotherShapeExists() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE work_sessions (id bigint PRIMARY KEY, notes text)")
            let schema = try CatalogReader(connection: connection).readSchema()
            let step = try makeStep("create_table: {name: work_sessions, columns: [{name: id, type: bigint, primary_key: true}, {name: completed, type: boolean}]}")
            guard case .blocked(let problems) = try step.assess(schema, Probe(connection: connection)) else {
                Issue.record("another shape should block"); return
            }
            #expect(problems.map(\.description) == [
                "work_sessions exists with another definition: table work_sessions: column notes added: text NULL",
                "work_sessions exists with another definition: table work_sessions: column completed removed",
            ])
        }
    }

    @Test func sqlStepRunsUntilDone() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE apps (id int)")
            let step = try makeStep("""
                sql:
                      run: ALTER TABLE apps ADD COLUMN sync_version integer
                      done_when: SELECT count(*) = 1 FROM information_schema.columns WHERE table_name = 'apps' AND column_name = 'sync_version'
                """)
            try applyAndCheckPrediction(step, on: connection)
            let broken = try makeStep("sql: {run: SELECT 1, done_when: SELECT 1}")
            guard case .blocked(let problems) = try broken.assess(Schema(), Probe(connection: connection)) else {
                Issue.record("a non-boolean done_when should block"); return
            }
            #expect(problems.first?.message.hasPrefix("done_when must return one row with one boolean") == true)
        }
    }
}

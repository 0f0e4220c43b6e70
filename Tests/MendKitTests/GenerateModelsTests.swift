import Foundation
import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// SQLAlchemy models and Alembic migrations generated from a live database, judged by
/// SQLAlchemy and Alembic themselves: the models import and compile, Alembic's autogenerate
/// comparison finds no difference between them and the database, and the migration, run by
/// Alembic on an empty database, recreates tables the schema diff finds equal to the originals.
@Suite("generate_models: SQLAlchemy models and Alembic migrations")
struct GenerateModelsTests {
    /// Every type the emitter maps and every kind of constraint and index it writes.
    static let everyKindSQL: SQL = """
        SET search_path = public;
        CREATE TYPE public.mood AS ENUM ('happy', 'sad', 'not sure');
        CREATE DOMAIN public.gen_email AS varchar(200) CONSTRAINT gen_email_check CHECK (VALUE LIKE '%@%');
        CREATE DOMAIN public.gen_positive AS integer NOT NULL DEFAULT 1
            CONSTRAINT gen_positive_check CHECK (VALUE > 0) CONSTRAINT gen_positive_small CHECK (VALUE < 1000000);
        CREATE DOMAIN public.gen_work_email AS public.gen_email CONSTRAINT gen_work_email_check CHECK (VALUE NOT LIKE '%@example.com');
        CREATE SEQUENCE public.gen_shared_seq;
        CREATE TABLE public.gen_parents (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            code varchar(20) NOT NULL,
            tenant integer NOT NULL,
            CONSTRAINT gen_parents_pkey PRIMARY KEY (id),
            CONSTRAINT gen_parents_code_key UNIQUE (code),
            CONSTRAINT gen_parents_tenant_code_key UNIQUE (tenant, code)
        );
        COMMENT ON TABLE public.gen_parents IS 'Parents of "everything", one per code';
        CREATE TABLE public.gen_everything (
            id bigint GENERATED ALWAYS AS IDENTITY,
            parent_id uuid,
            tenant integer,
            parent_code varchar(20),
            small smallint NOT NULL DEFAULT 0,
            whole integer,
            big bigint,
            price numeric(10,2) NOT NULL DEFAULT 0,
            ratio numeric,
            score real,
            weight double precision,
            flag boolean NOT NULL DEFAULT false,
            title varchar(200) NOT NULL,
            note text,
            code char(3),
            label varchar,
            payload bytea,
            born date,
            wakes time,
            wakes_zoned time with time zone,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamp,
            measured timestamp(3) with time zone,
            span interval,
            doc json,
            docb jsonb DEFAULT '{}'::jsonb,
            tags text[] DEFAULT '{}'::text[],
            scores integer[],
            mood public.mood NOT NULL DEFAULT 'happy',
            moods public.mood[],
            address inet,
            markup xml,
            "metadata" jsonb,
            "class" text,
            "Mixed Case" text COLLATE "C",
            doubled integer GENERATED ALWAYS AS (whole * 2) STORED,
            email public.gen_email,
            work_email public.gen_work_email,
            emails public.gen_email[],
            quantity public.gen_positive,
            CONSTRAINT gen_everything_pkey PRIMARY KEY (id),
            CONSTRAINT gen_everything_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.gen_parents (id)
                ON DELETE CASCADE ON UPDATE RESTRICT,
            CONSTRAINT gen_everything_tenant_code_fkey FOREIGN KEY (tenant, parent_code)
                REFERENCES public.gen_parents (tenant, code) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
            CONSTRAINT gen_everything_price_check CHECK (price >= 0),
            CONSTRAINT gen_everything_span_check CHECK (span > interval '0' AND score BETWEEN 0 AND 1),
            CONSTRAINT gen_everything_title_key UNIQUE (title)
        );
        COMMENT ON TABLE public.gen_everything IS 'Everything the emitter maps';
        ALTER TABLE public.gen_everything ADD CONSTRAINT gen_everything_whole_check CHECK (whole > 0) NOT VALID;
        COMMENT ON COLUMN public.gen_everything.title IS 'What it''s called';
        CREATE INDEX gen_everything_created_idx ON public.gen_everything (created_at DESC);
        CREATE INDEX gen_everything_docb_idx ON public.gen_everything USING gin (docb);
        CREATE UNIQUE INDEX gen_everything_lower_note_idx ON public.gen_everything (lower(note)) WHERE note IS NOT NULL;
        CREATE INDEX gen_everything_parent_created_idx ON public.gen_everything (parent_id, created_at) INCLUDE (title);
        CREATE INDEX gen_everything_code_pattern_idx ON public.gen_everything (code bpchar_pattern_ops);
        CREATE TABLE public.gen_pairs (
            left_id integer NOT NULL,
            right_id integer NOT NULL,
            label text,
            CONSTRAINT gen_pairs_key PRIMARY KEY (right_id, left_id)
        );
        CREATE TABLE public.gen_counters (
            id serial PRIMARY KEY,
            ticket integer GENERATED BY DEFAULT AS IDENTITY (START WITH 100 INCREMENT BY 5) NOT NULL,
            n integer,
            serial_no serial,
            batch bigint NOT NULL,
            shared bigint DEFAULT nextval('public.gen_shared_seq')
        );
        CREATE SEQUENCE public.gen_counters_batch_seq AS integer INCREMENT BY -10 MAXVALUE 5000 START WITH 4000 CACHE 5 CYCLE
            OWNED BY public.gen_counters.batch;
        ALTER TABLE public.gen_counters ALTER COLUMN batch SET DEFAULT nextval('public.gen_counters_batch_seq');
        CREATE TABLE public.gen_nodes (
            id integer PRIMARY KEY,
            parent_id integer REFERENCES public.gen_nodes (id),
            sibling_id integer REFERENCES public.gen_nodes (id)
        );
        CREATE TABLE public.gen_log (
            at timestamptz DEFAULT now(),
            parent_id uuid REFERENCES public.gen_parents (id),
            message text NOT NULL
        );
        CREATE INDEX gen_log_at_idx ON public.gen_log (at);
        CREATE TABLE public.gen_teams (id integer PRIMARY KEY, captain_id integer);
        CREATE TABLE public.gen_players (id integer PRIMARY KEY, team_id integer NOT NULL REFERENCES public.gen_teams (id));
        ALTER TABLE public.gen_teams ADD CONSTRAINT gen_teams_captain_fkey FOREIGN KEY (captain_id) REFERENCES public.gen_players (id);
        ALTER TABLE public.gen_pairs ADD CONSTRAINT gen_pairs_left_fkey FOREIGN KEY (left_id) REFERENCES public.gen_nodes (id) NOT VALID;
        """

    static let everyKindTables = [
        "gen_parents", "gen_everything", "gen_pairs", "gen_counters", "gen_nodes", "gen_log", "gen_teams", "gen_players",
    ]

    @Test func modelsOfEveryKindMatchTheDatabaseForAlembic() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.everyKindSQL)
            let schema = try CatalogReader(connection: connection).readSchema()
            let models = try SQLAlchemyModels.render(schema, tables: Self.everyKindTables.map { ObjectName(parsing: $0) })
            let folder = try Self.scratchFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let path = "\(folder)/every_kind_models.py"
            try models.write(toFile: path, atomically: true, encoding: .utf8)
            try Self.expectGolden(models, "every_kind_models.py")

            try Self.expectPython(["-m", "py_compile", path], "py_compile")
            try Self.expectPython(
                [Self.checker, "compare", Self.sqlalchemyURL(database), path] + Self.everyKindTables,
                "Alembic's compare_metadata between the models and the database\n\(models)")

            // The comparison sees drift: a changed type, a lost index, a nullability change,
            // a changed default, another domain, a renamed unique constraint, a changed foreign key action.
            try connection.execute(
                """
                ALTER TABLE public.gen_everything ALTER COLUMN note TYPE varchar(5);
                DROP INDEX public.gen_everything_docb_idx;
                ALTER TABLE public.gen_parents ALTER COLUMN code DROP NOT NULL;
                ALTER TABLE public.gen_everything ALTER COLUMN small SET DEFAULT 7;
                ALTER TABLE public.gen_everything ALTER COLUMN email TYPE public.gen_work_email;
                ALTER TABLE public.gen_parents RENAME CONSTRAINT gen_parents_code_key TO gen_parents_code_unique;
                ALTER TABLE public.gen_everything DROP CONSTRAINT gen_everything_parent_id_fkey,
                    ADD CONSTRAINT gen_everything_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.gen_parents (id);
                """)
            let drift = try ProcessRunner.run(try Self.python(), [Self.checker, "compare", Self.sqlalchemyURL(database), path] + Self.everyKindTables)
            #expect(drift.status == 1, "\(drift.stdout)\n\(drift.stderr)")
            for expected in ["modify_type gen_everything.note", "add_index gen_everything.gen_everything_docb_idx",
                             "modify_nullable gen_parents.code", "modify_default gen_everything.small",
                             "modify_type gen_everything.email",
                             "remove_constraint gen_parents.gen_parents_code_unique", "add_constraint gen_parents.gen_parents_code_key",
                             "add_fk gen_everything.gen_everything_parent_id_fkey"] {
                #expect(drift.stdout.contains(expected), "compare_metadata did not report \(expected):\n\(drift.stdout)")
            }

            // A few lines a reader relies on, written exactly.
            #expect(models.contains("class GenEverything(Base):"))
            #expect(models.contains("metadata_: Mapped[Any] = mapped_column(\"metadata\", JSONB, nullable=True)") || models.contains("metadata_: Mapped[Any] = mapped_column(\"metadata\", JSONB(), nullable=True)"))
            #expect(models.contains("gen_log_table = Table("))
            #expect(models.contains("# gen_log has no primary key"))
            #expect(models.contains("mood: Mapped[Mood] = mapped_column("))
            #expect(models.contains("class Mood(enum.Enum):"))
            #expect(models.contains("    not_sure = \"not sure\""))
            #expect(models.contains("gen_everything: Mapped[list[GenEverything]] = relationship(") == false)
        }
    }

    @Test func theMigrationRecreatesTablesEqualToTheOriginals() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase(label: "models_original") { original in
            let connection = try original.connect()
            try connection.execute(Self.everyKindSQL)
            let names = Self.everyKindTables.map { ObjectName(parsing: $0) }
            let schema = try CatalogReader(connection: connection).readSchema()
            let migration = try AlembicMigration.render(schema, tables: names, revision: "0002_every_kind", downRevision: nil)
            let folder = try Self.scratchFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let path = "\(folder)/0002_every_kind.py"
            try migration.write(toFile: path, atomically: true, encoding: .utf8)
            try Self.expectGolden(migration, "every_kind_migration.py")
            try Self.expectPython(["-m", "py_compile", path], "py_compile")

            try cluster.withFreshDatabase(label: "models_upgraded") { empty in
                try Self.expectPython([Self.checker, "upgrade", Self.sqlalchemyURL(empty), path], "alembic upgrade head\n\(migration)")
                let upgraded = try CatalogReader(connection: try empty.connect()).readSchema()
                let changes = SchemaDiff.changes(from: Self.only(names, of: schema), to: Self.only(names, of: upgraded))
                #expect(changes.isEmpty, "the migration's tables differ from the originals:\n\(changes.map(\.description).joined(separator: "\n"))\n\(migration)")
            }
            try cluster.withFreshDatabase(label: "models_downgraded") { empty in
                try Self.expectPython([Self.checker, "downgrade", Self.sqlalchemyURL(empty), path], "alembic upgrade, then downgrade base")
                let left = try CatalogReader(connection: try empty.connect()).readSchema()
                #expect(Set(left.tables.keys) == ["public.alembic_version"])
            }
        }
    }

    @Test func theDemoDatabasesClaudeCodeTablesMatchTheirGoldenFiles() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase(label: "models_demo") { database in
            try Self.loadDemo(database)
            let names = [ObjectName(parsing: "claude_code_sessions"), ObjectName(parsing: "claude_code_agents")]
            let schema = try CatalogReader(connection: try database.connect()).readSchema()
            let models = try SQLAlchemyModels.render(schema, tables: names)
            // The revision ids Plans/claude-code-models.yaml gives, so its run writes these files.
            let migration = try AlembicMigration.render(schema, tables: names, revision: "0002_claude_code", downRevision: "001")
            try Self.expectGolden(models, "claude_code_models.py")
            try Self.expectGolden(migration, "claude_code_migration.py")

            let folder = try Self.scratchFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try models.write(toFile: "\(folder)/claude_code.py", atomically: true, encoding: .utf8)
            try Self.expectPython(
                [Self.checker, "compare", Self.sqlalchemyURL(database), "\(folder)/claude_code.py", "claude_code_sessions", "claude_code_agents"],
                "compare_metadata on the demo's claude_code_* models")
            // Alembic needs the migration to be the first of its history to run it alone.
            let first = try AlembicMigration.render(schema, tables: names, revision: "0002_claude_code", downRevision: nil)
            try first.write(toFile: "\(folder)/0002_claude_code.py", atomically: true, encoding: .utf8)
            try cluster.withFreshDatabase(label: "models_demo_upgraded") { empty in
                try Self.expectPython([Self.checker, "upgrade", Self.sqlalchemyURL(empty), "\(folder)/0002_claude_code.py"], "alembic upgrade head")
                let upgraded = try CatalogReader(connection: try empty.connect()).readSchema()
                let changes = SchemaDiff.changes(from: Self.only(names, of: schema), to: Self.only(names, of: upgraded))
                #expect(changes.isEmpty, "\(changes.map(\.description).joined(separator: "\n"))")
            }
        }
    }

    @Test func theOutputIsTheSameWhateverOrderTablesAreNamedIn() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(Self.everyKindSQL)
            let schema = try CatalogReader(connection: connection).readSchema()
            let names = Self.everyKindTables.map { ObjectName(parsing: $0) }
            let forward = try SQLAlchemyModels.render(schema, tables: names)
            let backward = try SQLAlchemyModels.render(schema, tables: names.reversed())
            #expect(forward == backward)
            #expect(try AlembicMigration.render(schema, tables: names) == AlembicMigration.render(schema, tables: names.reversed()))
            // The revision id is derived from the migration itself: stable, and it changes with the schema.
            let migration = try AlembicMigration.render(schema, tables: names)
            var changed = schema
            changed.tables["public.gen_pairs"]?.columns.append(Column(name: "extra", type: "text"))
            #expect(try AlembicMigration.render(changed, tables: names) != migration)
            #expect(throws: CodegenError.unknownTables(["nope"])) { try SQLAlchemyModels.render(schema, tables: [ObjectName(parsing: "nope")]) }
        }
    }

    @Test func aBaseFromTheApplicationIsImportedNotDeclared() throws {
        let table = Table(
            schema: "public", name: "notes",
            columns: [Column(name: "id", type: "integer", notNull: true), Column(name: "body", type: "text")],
            constraints: ["notes_pkey": Constraint(name: "notes_pkey", kind: .primaryKey, columns: ["id"], definition: "PRIMARY KEY (id)")])
        let schema = Schema(namespaces: ["public"], tables: ["public.notes": table])
        let models = try SQLAlchemyModels.render(schema, tables: [ObjectName(parsing: "notes")], base: "app.db:Model")
        #expect(models.contains("from app.db import Model as Base"))
        #expect(!models.contains("class Base(DeclarativeBase)"))
        #expect(models.contains("    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=False)"))
        #expect(models.contains("    body: Mapped[str | None] = mapped_column(Text(), nullable=True)"))
    }

    // MARK: - Helpers

    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let checker = root.appendingPathComponent("Tests/MendKitTests/Fixtures/python/alembic_check.py").path
    static let goldenFolder = root.appendingPathComponent("Tests/MendKitTests/Fixtures/golden").path

    /// The virtualenv `make test` creates (scripts/python-venv.sh) with SQLAlchemy, Alembic and
    /// psycopg2. Missing, it is a failure that says how to create it, never a skip.
    static func python() throws -> String {
        let path = root.appendingPathComponent(".build/venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ClusterFailure("no Python virtualenv at \(path); create it with scripts/python-venv.sh (make test does)")
        }
        return path
    }

    static func expectPython(_ arguments: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let outcome = try ProcessRunner.run(try python(), arguments)
        #expect(outcome.status == 0, "\(what): exit \(outcome.status)\n\(outcome.stdout)\n\(outcome.stderr)", sourceLocation: sourceLocation)
    }

    static func sqlalchemyURL(_ database: TestDatabase) -> String {
        "postgresql+psycopg2://\(ThrowawayCluster.superuser)@/\(database.name)?host=\(database.cluster.socketDirectory)&port=\(database.cluster.port)"
    }

    static func scratchFolder() throws -> String {
        let path = NSTemporaryDirectory() + "pgmend-models-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `names` of `schema` and what only they use: their enum types and the sequences they own.
    static func only(_ names: [ObjectName], of schema: Schema) -> Schema {
        let keys = Set(names.map(\.key))
        let tables = schema.tables.filter { keys.contains($0.key) }
        let types = Set(tables.values.flatMap { $0.columns.map { $0.type.hasSuffix("[]") ? String($0.type.dropLast(2)) : $0.type } })
        return Schema(
            namespaces: schema.namespaces, tables: tables,
            sequences: schema.sequences.filter { sequence in
                keys.contains { sequence.value.ownedBy?.hasPrefix($0 + ".") ?? false }
            },
            enums: schema.enums.filter { types.contains($0.key) },
            domains: schema.domains.filter { $0.key.hasPrefix("public.gen_") })
    }

    static func loadDemo(_ database: TestDatabase) throws {
        let script = root.appendingPathComponent("Plans/demo/drifted.sql").path
        let outcome = try ProcessRunner.run(
            "\(database.cluster.binDirectory)/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "users=60", "-d", database.conninfo, "-f", script])
        #expect(outcome.status == 0, "psql: \(outcome.stderr)")
    }

    /// Compares with the golden file; `PGMEND_RECORD=<its name>` (or `=GenerateModelsTests`)
    /// writes it instead (see `Golden`).
    static func expectGolden(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Golden.check(text, against: URL(fileURLWithPath: "\(goldenFolder)/\(name)"), suite: GenerateModelsTests.self, sourceLocation: sourceLocation)
    }
}

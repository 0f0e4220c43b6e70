import SchemaModel
import Testing

/// A small schema to change one thing at a time.
func sampleSchema() -> Schema {
    let users = Table(
        schema: "public", name: "users",
        columns: [
            Column(name: "id", type: "uuid", notNull: true),
            Column(name: "email", type: "character varying(255)", notNull: true),
            Column(name: "created_at", type: "timestamp without time zone", defaultExpression: "now()"),
        ],
        constraints: [
            "users_pkey": Constraint(name: "users_pkey", kind: .primaryKey, columns: ["id"], definition: "PRIMARY KEY (id)", index: "users_pkey"),
            "users_email_check": Constraint(
                name: "users_email_check", kind: .check, columns: ["email"], definition: "CHECK (email::text <> ''::text)",
                checkExpression: "email::text <> ''::text"),
        ],
        indexes: [
            "users_pkey": Index(
                name: "users_pkey", definition: "CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)",
                keys: [IndexKey(expression: "id")], unique: true, primary: true, constraint: "users_pkey"),
        ])
    let keys = Table(
        schema: "public", name: "api_keys",
        columns: [
            Column(name: "id", type: "bigint", notNull: true, identity: .byDefault),
            Column(name: "user_id", type: "character varying(36)"),
        ],
        indexes: [
            "idx_apikey_user_id": Index(
                name: "idx_apikey_user_id", definition: "CREATE INDEX idx_apikey_user_id ON public.api_keys USING btree (user_id)",
                keys: [IndexKey(expression: "user_id")]),
        ])
    return Schema(
        namespaces: ["public"],
        tables: ["public.users": users, "public.api_keys": keys],
        enums: ["public.sms_role": EnumType(schema: "public", name: "sms_role", labels: ["user", "assistant"])])
}

@Suite("Schema diff")
struct SchemaDiffTests {
    func diff(_ change: (inout Schema) -> Void) -> [String] {
        var changed = sampleSchema()
        change(&changed)
        return SchemaDiff.changes(from: sampleSchema(), to: changed).map(\.description)
    }

    @Test func identicalSchemasHaveNoChanges() {
        #expect(SchemaDiff.changes(from: sampleSchema(), to: sampleSchema()).isEmpty)
    }

    @Test func aColumnAdded() {
        #expect(diff { $0.tables["public.users"]?.columns.append(Column(name: "phone_number", type: "character varying(20)")) }
            == ["table users: column phone_number added: character varying(20) NULL"])
    }

    @Test func aColumnRemoved() {
        #expect(diff { $0.tables["public.users"]?.columns.removeLast() } == ["table users: column created_at removed"])
    }

    @Test func aTypeChanged() {
        #expect(diff { $0.tables["public.api_keys"]?.columns[1].type = "uuid" }
            == ["column api_keys.user_id: type character varying(36) -> uuid"])
    }

    @Test func nullabilityAndDefaultChanged() {
        #expect(diff {
            $0.tables["public.users"]?.columns[2].notNull = true
            $0.tables["public.users"]?.columns[2].defaultExpression = "CURRENT_TIMESTAMP"
        } == [
            "column users.created_at: nullability NULL -> NOT NULL",
            "column users.created_at: default now() -> CURRENT_TIMESTAMP",
        ])
    }

    @Test func anIndexRemovedAndAdded() {
        #expect(diff { $0.tables["public.api_keys"]?.indexes["idx_apikey_user_id"] = nil } == ["index idx_apikey_user_id on api_keys removed"])
        #expect(diff {
            $0.tables["public.api_keys"]?.indexes["idx_apikey_user_id"]?.definition =
                "CREATE INDEX idx_apikey_user_id ON public.api_keys USING hash (user_id)"
        } == [
            "index idx_apikey_user_id: definition CREATE INDEX idx_apikey_user_id ON public.api_keys USING btree (user_id) -> CREATE INDEX idx_apikey_user_id ON public.api_keys USING hash (user_id)",
        ])
    }

    @Test func aCheckExpressionChanged() {
        #expect(diff { $0.tables["public.users"]?.constraints["users_email_check"]?.definition = "CHECK (length(email::text) > 3)" }
            == ["constraint users.users_email_check: definition CHECK (email::text <> ''::text) -> CHECK (length(email::text) > 3)"])
    }

    @Test func aConstraintAddedNotValid() {
        #expect(diff {
            $0.tables["public.api_keys"]?.constraints["api_keys_user_fk"] = Constraint(
                name: "api_keys_user_fk", kind: .foreignKey, columns: ["user_id"],
                definition: "FOREIGN KEY (user_id) REFERENCES users(id)", validated: false)
        } == ["table api_keys: constraint api_keys_user_fk added: FOREIGN KEY (user_id) REFERENCES users(id) NOT VALID"])
    }

    @Test func tablesAddedRemovedAndRenamed() {
        #expect(diff { schema in
            schema.tables["public.calendar_events"] = schema.tables["public.api_keys"].map {
                var table = $0
                table.name = "calendar_events"
                return table
            }
            schema.tables["public.api_keys"] = nil
        } == ["table api_keys renamed to calendar_events"])
        // Other columns: not the same table.
        #expect(diff { schema in
            schema.tables["public.calendar_events"] = schema.tables["public.api_keys"].map {
                var table = $0
                table.name = "calendar_events"
                table.columns[1].type = "uuid"
                return table
            }
            schema.tables["public.api_keys"] = nil
        } == ["table api_keys removed", "table calendar_events added: 2 columns"])
    }

    @Test func aTableRenamedWithItsConstraintsIndexesAndSequence() {
        var before = sampleSchema()
        before.tables["public.users"]?.columns[0].defaultExpression = "nextval('public.users_id_seq'::regclass)"
        guard var accounts = before.tables["public.users"] else { Issue.record("no users table"); return }
        accounts.name = "accounts"
        accounts.columns[0].defaultExpression = "nextval('public.accounts_id_seq'::regclass)"

        // Renamed alone: the constraints and indexes keep their names, definitions print the new one.
        var plain = accounts
        plain.indexes["users_pkey"]?.definition = "CREATE UNIQUE INDEX users_pkey ON public.accounts USING btree (id)"
        var after = before
        after.tables["public.users"] = nil
        after.tables["public.accounts"] = plain
        #expect(SchemaDiff.changes(from: before, to: after).map(\.description) == ["table users renamed to accounts"])

        // Renamed with them (rename_dependents), and a comment added on the way.
        accounts.constraints = [
            "accounts_pkey": Constraint(name: "accounts_pkey", kind: .primaryKey, columns: ["id"], definition: "PRIMARY KEY (id)", index: "accounts_pkey"),
            "accounts_email_check": Constraint(
                name: "accounts_email_check", kind: .check, columns: ["email"], definition: "CHECK (email::text <> ''::text)",
                checkExpression: "email::text <> ''::text"),
        ]
        accounts.indexes = [
            "accounts_pkey": Index(
                name: "accounts_pkey", definition: "CREATE UNIQUE INDEX accounts_pkey ON public.accounts USING btree (id)",
                keys: [IndexKey(expression: "id")], unique: true, primary: true, constraint: "accounts_pkey"),
        ]
        accounts.comment = "who signs in"
        after.tables["public.accounts"] = accounts
        #expect(SchemaDiff.changes(from: before, to: after).map(\.description)
            == ["table users renamed to accounts", "table accounts: comment none -> who signs in"])

        // A constraint that is not the renamed one: a drop and an add.
        accounts.constraints["accounts_email_check"]?.definition = "CHECK (length(email::text) > 3)"
        after.tables["public.accounts"] = accounts
        #expect(SchemaDiff.changes(from: before, to: after).map(\.description) == ["table accounts added: 3 columns", "table users removed"])
    }

    @Test func enumLabelsAndColumnOrder() {
        #expect(diff { $0.enums["public.sms_role"]?.labels.append("system") }
            == ["enum sms_role: labels user, assistant -> user, assistant, system"])
        #expect(diff { $0.tables["public.users"]?.columns.swapAt(1, 2) }
            == ["table users: column order id, email, created_at -> id, created_at, email"])
    }

    @Test func otherSchemasAreQualified() {
        var before = sampleSchema()
        before.namespaces.append("audit")
        var after = before
        after.tables["audit.log"] = Table(schema: "audit", name: "log", columns: [Column(name: "at", type: "timestamp with time zone")])
        #expect(SchemaDiff.changes(from: before, to: after).map(\.description) == ["table audit.log added: 1 column"])
    }

    @Test func dataChangesNeedBothSides() {
        let a = ["public.users": TableData(rows: 10, fingerprint: "123")]
        let b = ["public.users": TableData(rows: 11, fingerprint: "456")]
        let c = ["public.users": TableData(rows: 10, fingerprint: "789")]
        #expect(SchemaDiff.changes(from: sampleSchema(), to: sampleSchema(), oldData: a, newData: b).map(\.description)
            == ["table users: rows 10 -> 11"])
        #expect(SchemaDiff.changes(from: sampleSchema(), to: sampleSchema(), oldData: a, newData: c).map(\.description)
            == ["table users: content changed (same 10 rows, different fingerprint)"])
        #expect(SchemaDiff.changes(from: sampleSchema(), to: sampleSchema(), oldData: a, newData: nil).isEmpty)
    }

    @Test func changesCarryStructureForJSON() throws {
        var changed = sampleSchema()
        changed.tables["public.api_keys"]?.columns[1].type = "uuid"
        let changes = SchemaDiff.changes(from: sampleSchema(), to: changed)
        #expect(changes.count == 1)
        let change = try #require(changes.first)
        #expect(change.objectType == "column")
        #expect(change.object == "api_keys.user_id")
        #expect(change.action == .changed)
        #expect(change.property == "type")
        #expect(change.before == "character varying(36)")
        #expect(change.after == "uuid")
    }
}

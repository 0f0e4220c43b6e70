import Foundation
import MendKit
import MendTestSupport
import SchemaModel
import Testing

/// The Markdown schema reference: exact lines an operator reads, escaping that keeps tables
/// intact, and byte-identical output however the schema's dictionaries were filled.
@Suite("SchemaDocs: the Markdown schema reference")
struct SchemaDocsTests {
    @Test func columnTableRowsAreExact() {
        let users = section(of: render(), titled: "## users")
        #expect(users.contains("| Column | Type | Nullable | Default | Notes |"))
        #expect(users.contains("| --- | --- | --- | --- | --- |"))
        #expect(users.contains("| id | `bigint` | no |  | PK; identity (always) |"))
        #expect(users.contains("| email | `text` | no |  | unique |"))
        #expect(users.contains("| created_at | `timestamp with time zone` | no | `now()` |  |"))

        let orders = section(of: render(), titled: "## orders")
        #expect(orders.contains("| id | `bigint` | no | `nextval('orders_id_seq'::regclass)` | PK |"))
        #expect(orders.contains("| user_id | `bigint` | no |  | FK -> users.id |"))
        #expect(orders.contains("| status | `order_status` | no | `'pending'::order_status` |  |"))
        #expect(orders.contains("| total | `numeric(12,2)` | yes |  | generated: `(subtotal * 1.2)` |"))
        // Column order is the table's, not alphabetical.
        let rowNames = orders.filter { $0.hasPrefix("| ") && !$0.hasPrefix("| Column") && !$0.hasPrefix("| ---") }
            .map { $0.split(separator: " ")[1] }
        #expect(rowNames == ["id", "user_id", "status", "subtotal", "total"])
    }

    @Test func pipesAndNewlinesInCellsAreEscaped() {
        let users = section(of: render(), titled: "## users")
        #expect(users.contains("| display_name | `text` | yes |  | Shown as name \\| handle in the app, first line second line |"))
        let events = section(of: render(), titled: "## audit.events")
        #expect(events.contains("| kind | `text` | yes | `'a|b'::text` |  |") == false)
        #expect(events.contains("| kind | `text` | yes | `'a\\|b'::text` |  |"))
        // Every row of every table has exactly the header's five cells once escapes are removed.
        let tableRows = ["## users", "## orders", "## audit.events"].flatMap { section(of: render(), titled: $0) }
        for line in tableRows where line.hasPrefix("| ") {
            let unescapedPipes = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            #expect(unescapedPipes == 6, "row broken: \(line)")
        }
    }

    @Test func tableCommentIsQuotedWithItsLineBreaks() {
        let users = section(of: render(), titled: "## users")
        #expect(users.contains("> People who can sign in."))
        #expect(users.contains("> One row per account | login."))
    }

    @Test func keysConstraintsAndIndexes() {
        let orders = section(of: render(), titled: "## orders")
        #expect(orders.contains("**Keys and constraints**"))
        #expect(orders.contains("- `orders_pkey` (primary key): `PRIMARY KEY (id)`"))
        #expect(orders.contains("- `orders_subtotal_check` (check): `CHECK ((subtotal >= (0)::numeric))` NOT VALID"))
        #expect(orders.contains("- `orders_created_at_idx` (invalid): `CREATE INDEX orders_created_at_idx ON public.orders USING btree (created_at)`"))
        #expect(orders.contains("- `orders_user_id_idx`: `CREATE INDEX orders_user_id_idx ON public.orders USING btree (user_id)`"))
        // Foreign keys have their own list rather than appearing twice.
        #expect(!orders.contains { $0.contains("(foreign key)") })
        let users = section(of: render(), titled: "## users")
        #expect(users.contains("- `users_email_key` (unique): `UNIQUE (email)`"))
    }

    @Test func foreignKeysShowOnlyNonDefaultActions() {
        let orders = section(of: render(), titled: "## orders")
        #expect(orders.contains("**Foreign keys**"))
        #expect(orders.contains("- user_id -> users.id, ON DELETE CASCADE (`orders_user_id_fkey`)"))
        let events = section(of: render(), titled: "## audit.events")
        #expect(events.contains("- order_id -> orders.id (`events_order_id_fkey`)"))
        #expect(!render().contains("NO ACTION"))
        #expect(!render().contains("MATCH SIMPLE"))
    }

    @Test func referencedByIsComputedFromOtherTables() {
        let users = section(of: render(), titled: "## users")
        let referencedBy = lines(after: "**Referenced by**", in: users)
        #expect(referencedBy == ["- orders.user_id -> users.id, ON DELETE CASCADE (`orders_user_id_fkey`)"])
        let orders = section(of: render(), titled: "## orders")
        #expect(lines(after: "**Referenced by**", in: orders) == ["- audit.events.order_id -> orders.id (`events_order_id_fkey`)"])
        // Nothing points at audit.events, so it has no such list.
        #expect(!section(of: render(), titled: "## audit.events").contains("**Referenced by**"))
    }

    @Test func triggersAreListedWithTheirState() {
        let events = section(of: render(), titled: "## audit.events")
        #expect(events.contains("- `events_notify` (disabled): `CREATE TRIGGER events_notify AFTER INSERT ON audit.events FOR EACH ROW EXECUTE FUNCTION audit.notify()`"))
    }

    @Test func summaryContentsAndSectionOrder() {
        let output = render()
        let all = output.components(separatedBy: "\n")
        #expect(Array(all.prefix(3)) == ["# Shop database", "", "3 tables, 1 view, 1 enum type, 1 domain, 1 sequence, 1 extension in schemas audit, public."])
        #expect(lines(after: "## Contents", in: all) == [
            "- Tables", "  - [audit.events](#auditevents)", "  - [orders](#orders)", "  - [users](#users)",
            "- [Views](#views)", "- [Enum types](#enum-types)", "- [Domains](#domains)", "- [Sequences](#sequences)",
            "- [Extensions](#extensions)",
        ])
        let headings = all.filter { $0.hasPrefix("## ") }
        #expect(headings == [
            "## Contents", "## audit.events", "## orders", "## users", "## Views", "## Enum types", "## Domains",
            "## Sequences", "## Extensions",
        ])
        #expect(output.hasSuffix("\n") && !output.hasSuffix("\n\n"))
    }

    @Test func viewsEnumsAndTheRest() {
        let output = render()
        let views = section(of: output, titled: "## Views")
        #expect(views.contains("### active_users"))
        #expect(views.contains("Reads users.email, users.id."))
        #expect(lines(after: "```sql", in: views) == [" SELECT users.id,", "    users.email", "   FROM users;", "```"])
        #expect(section(of: output, titled: "## Enum types") == ["", "- `order_status`: `pending`, `paid`, `shipped`", ""])
        #expect(section(of: output, titled: "## Domains").contains(
            "- `email_address`: `text`, NOT NULL, `email_address_check` `CHECK ((VALUE ~~ '%@%'::text))`"))
        #expect(section(of: output, titled: "## Sequences").contains("- `orders_id_seq`: bigint, owned by orders.id"))
        #expect(section(of: output, titled: "## Extensions").contains("- `pgcrypto` 1.3, in schema public"))
    }

    @Test func emptySectionsAreLeftOut() {
        let schema = Schema(namespaces: ["public"], tables: ["public.t": Table(schema: "public", name: "t")])
        let output = SchemaDocs.markdown(schema, title: "Tiny")
        #expect(output == """
            # Tiny

            1 table in schema public.

            ## Contents

            - Tables
              - [t](#t)

            ## t

            No columns.

            """)
        #expect(SchemaDocs.markdown(Schema(), title: "Empty") == "# Empty\n\n0 tables.\n")
    }

    @Test func contentsLinksSurviveHeadingsThatSlugAlike() {
        // A table called `views` takes the anchor first; the Views section gets `views-1`, as on GitHub.
        var schema = Schema(tables: [
            "public.views": Table(schema: "public", name: "views"),
            "public.contents": Table(schema: "public", name: "contents"),
        ])
        schema.views["public.v"] = View(schema: "public", name: "v", definition: "SELECT 1")
        let output = SchemaDocs.markdown(schema, title: "Anchors")
        #expect(output.contains("  - [contents](#contents-1)"))
        #expect(output.contains("  - [views](#views)"))
        #expect(output.contains("- [Views](#views-1)"))
    }

    @Test func outputDoesNotDependOnDictionaryOrder() {
        let forward = fixtureSchema(reversed: false)
        let backward = fixtureSchema(reversed: true)
        #expect(forward == backward)
        #expect(SchemaDocs.markdown(forward, title: "Shop database") == SchemaDocs.markdown(backward, title: "Shop database"))
    }

    /// Re-record with `PGMEND_RECORD=schema-docs.golden.md swift test --filter SchemaDocs`
    /// (or `=SchemaDocsTests`, see `Golden`) after a deliberate change, and review the
    /// fixture's diff like code.
    @Test func matchesGoldenFile() throws {
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schema-docs.golden.md")
        try Golden.check(render(), against: golden, suite: SchemaDocsTests.self)
    }
}

// MARK: - Helpers

private func render() -> String {
    SchemaDocs.markdown(fixtureSchema(reversed: false), title: "Shop database")
}

/// The lines from `heading` (exclusive) up to the next heading of the same or a higher level.
private func section(of output: String, titled heading: String) -> [String] {
    let all = output.components(separatedBy: "\n")
    guard let start = all.firstIndex(of: heading) else { return [] }
    let rest = all[(start + 1)...]
    let end = rest.firstIndex { $0.hasPrefix("## ") || $0.hasPrefix("# ") } ?? all.endIndex
    return Array(all[(start + 1)..<end])
}

/// The block that follows `label` after a blank line, up to the next blank line.
private func lines(after label: String, in lines: [String]) -> [String] {
    guard let start = lines.firstIndex(of: label) else { return [] }
    var block: [String] = []
    for line in lines[(start + 1)...] {
        if line.isEmpty {
            if block.isEmpty { continue }
            break
        }
        block.append(line)
    }
    return block
}

/// A small shop: users, orders (cascade-deleted with their user) and an audit table in another
/// schema. `reversed` fills every dictionary in the opposite order and with a different capacity,
/// so their iteration order differs while the values are equal.
private func fixtureSchema(reversed: Bool) -> Schema {
    func dictionary<Value>(_ entries: [(String, Value)]) -> [String: Value] {
        var result = [String: Value](minimumCapacity: reversed ? 64 : 0)
        for (key, value) in reversed ? entries.reversed() : entries { result[key] = value }
        return result
    }

    let users = Table(
        schema: "public", name: "users",
        comment: "People who can sign in.\nOne row per account | login.",
        columns: [
            Column(name: "id", type: "bigint", notNull: true, identity: .always),
            Column(name: "email", type: "text", notNull: true),
            Column(name: "display_name", type: "text", comment: "Shown as name | handle in the app,\nfirst line\r\nsecond line"),
            Column(name: "created_at", type: "timestamp with time zone", notNull: true, defaultExpression: "now()"),
        ],
        constraints: dictionary([
            ("users_pkey", Constraint(name: "users_pkey", kind: .primaryKey, columns: ["id"], definition: "PRIMARY KEY (id)", index: "users_pkey")),
            ("users_email_key", Constraint(name: "users_email_key", kind: .unique, columns: ["email"], definition: "UNIQUE (email)", index: "users_email_key")),
        ]),
        indexes: dictionary([
            ("users_pkey", Index(
                name: "users_pkey", definition: "CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)",
                keys: [IndexKey(expression: "id")], unique: true, primary: true, constraint: "users_pkey")),
            ("users_email_key", Index(
                name: "users_email_key", definition: "CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)",
                keys: [IndexKey(expression: "email")], unique: true, constraint: "users_email_key")),
        ])
    )

    let orders = Table(
        schema: "public", name: "orders",
        columns: [
            Column(name: "id", type: "bigint", notNull: true, defaultExpression: "nextval('orders_id_seq'::regclass)"),
            Column(name: "user_id", type: "bigint", notNull: true),
            Column(name: "status", type: "order_status", notNull: true, defaultExpression: "'pending'::order_status"),
            Column(name: "subtotal", type: "numeric(12,2)"),
            Column(name: "total", type: "numeric(12,2)", generatedExpression: "(subtotal * 1.2)"),
        ],
        constraints: dictionary([
            ("orders_pkey", Constraint(name: "orders_pkey", kind: .primaryKey, columns: ["id"], definition: "PRIMARY KEY (id)", index: "orders_pkey")),
            ("orders_user_id_fkey", Constraint(
                name: "orders_user_id_fkey", kind: .foreignKey, columns: ["user_id"],
                definition: "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
                foreignKey: ForeignKey(referencedTable: "public.users", referencedColumns: ["id"], onDelete: .cascade))),
            ("orders_subtotal_check", Constraint(
                name: "orders_subtotal_check", kind: .check, columns: ["subtotal"],
                definition: "CHECK ((subtotal >= (0)::numeric)) NOT VALID", checkExpression: "(subtotal >= (0)::numeric)",
                validated: false)),
        ]),
        indexes: dictionary([
            ("orders_pkey", Index(
                name: "orders_pkey", definition: "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
                keys: [IndexKey(expression: "id")], unique: true, primary: true, constraint: "orders_pkey")),
            ("orders_user_id_idx", Index(
                name: "orders_user_id_idx", definition: "CREATE INDEX orders_user_id_idx ON public.orders USING btree (user_id)",
                keys: [IndexKey(expression: "user_id")])),
            ("orders_created_at_idx", Index(
                name: "orders_created_at_idx",
                definition: "CREATE INDEX orders_created_at_idx ON public.orders USING btree (created_at)",
                keys: [IndexKey(expression: "created_at")], valid: false)),
        ])
    )

    let events = Table(
        schema: "audit", name: "events",
        columns: [
            Column(name: "id", type: "bigint", notNull: true),
            Column(name: "order_id", type: "bigint"),
            Column(name: "kind", type: "text", defaultExpression: "'a|b'::text"),
        ],
        constraints: dictionary([
            ("events_pkey", Constraint(name: "events_pkey", kind: .primaryKey, columns: ["id"], definition: "PRIMARY KEY (id)")),
            ("events_order_id_fkey", Constraint(
                name: "events_order_id_fkey", kind: .foreignKey, columns: ["order_id"],
                definition: "FOREIGN KEY (order_id) REFERENCES orders(id)",
                foreignKey: ForeignKey(referencedTable: "public.orders", referencedColumns: ["id"]))),
        ]),
        triggers: dictionary([
            ("events_notify", Trigger(
                name: "events_notify",
                definition: "CREATE TRIGGER events_notify AFTER INSERT ON audit.events FOR EACH ROW EXECUTE FUNCTION audit.notify()",
                enabled: "D")),
        ])
    )

    let activeUsers = View(
        schema: "public", name: "active_users",
        definition: " SELECT users.id,\n    users.email\n   FROM users;\n",
        columns: [Column(name: "id", type: "bigint"), Column(name: "email", type: "text")],
        dependsOn: reversed ? ["public.users.id", "public.users.email"] : ["public.users.email", "public.users.id"]
    )

    return Schema(
        namespaces: reversed ? ["public", "audit"] : ["audit", "public"],
        tables: dictionary([("public.users", users), ("public.orders", orders), ("audit.events", events)]),
        views: dictionary([("public.active_users", activeUsers)]),
        sequences: dictionary([
            ("public.orders_id_seq", SequenceDefinition(schema: "public", name: "orders_id_seq", ownedBy: "public.orders.id")),
        ]),
        enums: dictionary([
            ("public.order_status", EnumType(schema: "public", name: "order_status", labels: ["pending", "paid", "shipped"])),
        ]),
        domains: dictionary([
            ("public.email_address", Domain(
                schema: "public", name: "email_address", baseType: "text", notNull: true,
                checks: ["email_address_check": "CHECK ((VALUE ~~ '%@%'::text))"])),
        ]),
        extensions: dictionary([("pgcrypto", Extension(name: "pgcrypto", version: "1.3", schema: "public"))])
    )
}

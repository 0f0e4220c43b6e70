import MendKit
import MendTestSupport
import PostgresClient
import SchemaModel
import Testing

/// The catalog reader names constraint columns from the columns it read and cuts check
/// expressions from their definitions, instead of asking the server for each. What it gives
/// must be what the server says: for checks with NO INHERIT and NOT VALID, a check on a system
/// column, multi-column keys in a non-default order, and a foreign key to a table in a schema
/// the snapshot leaves out.
@Suite("Catalog constraint columns")
struct CatalogConstraintColumnsTests {
    @Test func namesAndExpressionsAreTheServers() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let connection = try database.connect()
            try connection.execute(
                """
                CREATE SCHEMA other;
                CREATE TABLE other.target (a int, b text, c int, PRIMARY KEY (c, a));
                CREATE TABLE public.parent (x int, "Odd Name" text, y int, UNIQUE (y, x));
                CREATE TABLE public.child (
                    id int, gone int, a int, c int, x int, y int,
                    CONSTRAINT child_target FOREIGN KEY (c, a) REFERENCES other.target (c, a),
                    CONSTRAINT child_parent FOREIGN KEY (y, x) REFERENCES public.parent (y, x),
                    CONSTRAINT plain CHECK (id > 0 AND a <> c),
                    CONSTRAINT no_inherit CHECK (id < 100) NO INHERIT,
                    CONSTRAINT on_system CHECK (tableoid <> 0));
                ALTER TABLE public.child DROP COLUMN gone;
                ALTER TABLE public.child ADD CONSTRAINT later CHECK (x IS NOT NULL) NO INHERIT NOT VALID;
                ALTER TABLE public.child ADD CONSTRAINT later_too CHECK (y > 0) NOT VALID;
                """)
            let schema = try CatalogReader(connection: connection).readSchema(.only(["public"]))
            let rows = try connection.query(
                """
                SELECT c.relname, co.conname, pg_get_expr(co.conbin, co.conrelid, true),
                       ARRAY(SELECT a.attname FROM unnest(co.conkey) WITH ORDINALITY k(n, o)
                             JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n ORDER BY k.o)::text[],
                       ARRAY(SELECT a.attname FROM unnest(co.confkey) WITH ORDINALITY k(n, o)
                             JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n ORDER BY k.o)::text[]
                FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
                WHERE c.relnamespace = 'public'::regnamespace
                """)
            #expect(rows.count == 8)
            for row in rows {
                let table = try #require(schema.table(try row.get(0, as: String.self)))
                let constraint = try #require(table.constraints[try row.get(1, as: String.self)])
                #expect(constraint.checkExpression == (try row.get(2, as: String?.self)), "\(constraint.name)")
                #expect(constraint.columns == (try row.get(3, as: [String].self)), "\(constraint.name)")
                #expect((constraint.foreignKey?.referencedColumns ?? []) == (try row.get(4, as: [String].self)), "\(constraint.name)")
            }
            #expect(schema.table("child")?.constraints["child_target"]?.foreignKey?.referencedColumns == ["c", "a"])
            #expect(schema.table("child")?.constraints["on_system"]?.columns == ["tableoid"])
        }
    }
}

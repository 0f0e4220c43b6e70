import PostgresClient
import SchemaModel

/// Row-level security that would hide rows of a table from the role pgmend runs as.
///
/// Every session pgmend opens sets `row_security = off` (as pg_dump does, see `Connection`):
/// a query that a policy would filter fails with SQLSTATE 42501 instead of reading a subset,
/// so a count, an archive or a proof is of all of a table or of nothing. This names the table
/// and what the role lacks, as a step's problem: ahead of any read where a step can tell
/// cheaply (`problems(of:)`), and from the server's refusal where it cannot (`problem(for:)`).
enum RowSecurity {
    /// The server's words when `row_security = off` meets a policy that applies.
    static let refusalPrefix = "query would be affected by row-level security policy for table"

    /// Whether `error` is the server refusing a read that a policy would filter.
    static func isRefusal(_ error: any Error) -> Bool {
        refusedTable(error) != nil
    }

    /// The table the server named in its refusal (unqualified, as the server names it).
    static func refusedTable(_ error: any Error) -> String? {
        let server = (error as? PostgresError) ?? (error as? PlanTextRefused)?.error
        guard let server, server.kind == .server, server.sqlState?.rawValue == "42501",
            let range = server.message.range(of: refusalPrefix)
        else { return nil }
        let rest = server.message[range.upperBound...].trimmingCharacters(in: .whitespaces)
        return rest.count >= 2 && rest.hasPrefix("\"") && rest.hasSuffix("\"") ? String(rest.dropFirst().dropLast()) : rest
    }

    /// One table whose policies apply to the current role.
    struct Applying {
        var table: ObjectName
        var role: String
        var owner: String
        var forced: Bool
        var roleIsOwner: Bool

        /// What the role lacks, and what would let pgmend read every row.
        var problem: StepProblem {
            let why: String
            if forced {
                why = roleIsOwner
                    ? "role \(role) owns it, but FORCE ROW LEVEL SECURITY applies the policies to the owner too, and \(role) is not a superuser and has no BYPASSRLS"
                    : "role \(role) is not a superuser, has no BYPASSRLS, and FORCE ROW LEVEL SECURITY applies the policies even to the owner (\(owner))"
            } else {
                why = "role \(role) is not a superuser, has no BYPASSRLS and is not the table's owner (\(owner))"
            }
            let remedy = forced
                ? "run pgmend as a superuser or as a role with BYPASSRLS (ALTER ROLE \(SQLIdentifier(role).quoted) BYPASSRLS, by a superuser)"
                : "run pgmend as a superuser, as a role with BYPASSRLS (ALTER ROLE \(SQLIdentifier(role).quoted) BYPASSRLS, by a superuser) or as the owner \(owner)"
            return StepProblem(
                "\(table) has row-level security whose policies would hide rows from pgmend: \(why); pgmend reads all of a table or none (row_security = off), so nothing of this step runs; \(remedy)",
                table: table)
        }
    }

    /// When a policy of the table applies to the role (as the server decides it, `check_enable_rls`):
    /// row security on, the role neither a superuser nor BYPASSRLS, and either not the owner
    /// (nor a member with its privileges) or the table forced.
    static let applyingQuery: SQL = """
        SELECT n.nspname, c.relname, current_user::text, pg_get_userbyid(c.relowner)::text, c.relforcerowsecurity,
               pg_has_role(c.relowner, 'USAGE')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_roles r ON r.rolname = current_user
        WHERE c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls
          AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))
        """

    static func applying(_ rows: QueryResult) throws -> [Applying] {
        try rows.map { row in
            Applying(
                table: ObjectName(schema: try row.get(0, as: String.self), name: try row.get(1, as: String.self)),
                role: try row.get(2, as: String.self), owner: try row.get(3, as: String.self),
                forced: try row.get(4, as: Bool.self), roleIsOwner: try row.get(5, as: Bool.self))
        }
    }

    /// The tables of `tables` that policies would filter for this role, as problems: read
    /// from the catalog only, so a dry run says blocked before any row is read.
    static func problems(of tables: [ObjectName], probe: Probe) throws -> [StepProblem] {
        let names = tables.map { $0.sqlName.quoted }
        let rows = try probe.query("\(applyingQuery) AND c.oid = ANY (SELECT to_regclass(t) FROM unnest(\(bind: names)::text[]) t) ORDER BY 1, 2")
        return try applying(rows).map(\.problem)
    }

    /// The problem behind a refusal (`isRefusal`), the table looked up by the name the server
    /// gave; without a catalog answer (an aborted transaction), the server's words.
    static func problem(for error: any Error, on connection: Connection) -> StepProblem {
        let name = refusedTable(error) ?? "?"
        let found = try? applying(connection.query("\(applyingQuery) AND c.relname = \(bind: name) ORDER BY 1, 2"))
        if let found, found.count == 1, let only = found.first { return only.problem }
        let words = (error as? PostgresError)?.message ?? (error as? PlanTextRefused)?.error.message ?? "\(error)"
        return StepProblem(
            "\(words): row-level security would hide rows of \(name) from pgmend, which reads all of a table or none (row_security = off), so nothing of this step runs; run pgmend as a superuser or as a role with BYPASSRLS")
    }
}

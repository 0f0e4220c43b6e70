import Foundation
import MendTestSupport
import PostgresClient
import Testing

/// The built `pgmend` binary, end to end: exit codes, output, and libpq's connection conventions.
@Suite("pgmend ping and the command line")
struct PingCommandTests {
    @Test func versionAndHelp() throws {
        let version = try PgMendBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        // Only the top command has it: after a subcommand it is an unknown option (exit 2),
        // not the version printed instead of the work asked for.
        for command in [["ping"], ["plan", "list"], ["run", "x"]] {
            let outcome = try PgMendBinary.run(command + ["--version"])
            #expect(outcome.status == 2 && outcome.stderr.contains("--version"), "\(command): \(outcome.stdout)\(outcome.stderr)")
        }
        let help = try PgMendBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("ping"))
        #expect(help.stdout.contains("4 could not connect"))
        #expect(help.stdout.containsFlowed("`pgmend --version` prints the version"))
    }

    @Test func badArgumentsExitTwo() throws {
        let outcome = try PgMendBinary.run(["ping", "--no-such-option"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("--no-such-option"))
        #expect(try PgMendBinary.run(["no-such-command"]).status == 2)
    }

    @Test func pingPrintsServerVersionAndDatabase() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let expected = try database.connect().scalar("SHOW server_version", as: String.self) ?? ""
            let outcome = try PgMendBinary.run(["ping", "--db", database.conninfo])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.contains("server:   PostgreSQL \(expected)"))
            #expect(outcome.stdout.contains("database: \(database.name)"))
        }
    }

    @Test func pingTakesAURI() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase { database in
            let outcome = try PgMendBinary.run(["ping", "--db", cluster.uri(database: database.name)])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.contains("via:      127.0.0.1:\(cluster.port)"))
        }
    }

    @Test func withoutDbTheEnvironmentDecidesAsForPsql() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase { database in
            let outcome = try PgMendBinary.run(["ping"], environment: [
                "PGHOST": cluster.socketDirectory, "PGPORT": String(cluster.port),
                "PGDATABASE": database.name, "PGUSER": ThrowawayCluster.superuser,
            ])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.contains("database: \(database.name)"))
        }
    }

    @Test func passwordFileAndServiceFileApply() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase { database in
            let role = "svc_\(database.name)"
            let admin = try database.connect()
            try admin.execute("CREATE ROLE \(SQLIdentifier(role)) LOGIN PASSWORD 'from-the-pgpass-file' IN ROLE \(ident: ThrowawayCluster.passwordLoginRole)")
            defer { _ = try? admin.execute("DROP ROLE \(SQLIdentifier(role))") }

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-\(database.name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let passfile = directory.appendingPathComponent("pgpass").path
            try "127.0.0.1:\(cluster.port):\(database.name):\(role):from-the-pgpass-file\n"
                .write(toFile: passfile, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passfile)
            let servicefile = directory.appendingPathComponent("pg_service.conf").path
            try "[demo]\nhost=127.0.0.1\nport=\(cluster.port)\ndbname=\(database.name)\nuser=\(role)\n"
                .write(toFile: servicefile, atomically: true, encoding: .utf8)

            let environment = ["PGPASSFILE": passfile, "PGSERVICEFILE": servicefile]
            let outcome = try PgMendBinary.run(["ping", "--db", "service=demo"], environment: environment)
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.contains("user:     \(role)"))

            // Without the password file the same service cannot log in: the file was what worked.
            let refused = try PgMendBinary.run(["ping", "--db", "service=demo"], environment: [
                "PGPASSFILE": "/nonexistent", "PGSERVICEFILE": servicefile,
            ])
            #expect(refused.status == 4)
        }
    }

    @Test func unreachableDatabasesExitFourWithOneLine() throws {
        let cluster = try ThrowawayCluster.shared()
        let cases: [(conninfo: String, reason: String)] = [
            ("host=\(cluster.socketDirectory) port=1 dbname=postgres", "No such file or directory"),
            (cluster.conninfo(database: "no_such_db"), "database \"no_such_db\" does not exist"),
            ("host=127.0.0.1 port=\(cluster.port) dbname=postgres user=no_such_role", "role \"no_such_role\" does not exist"),
        ]
        for (conninfo, reason) in cases {
            let outcome = try PgMendBinary.run(["ping", "--db", conninfo])
            #expect(outcome.status == 4)
            #expect(outcome.stdout.isEmpty)
            #expect(outcome.stderr.hasPrefix("pgmend: could not connect: "))
            #expect(outcome.stderr.contains(reason), "stderr: \(outcome.stderr)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "stderr: \(outcome.stderr)")
        }
    }

    @Test func aBadPasswordExitsFourWithoutShowingIt() throws {
        let cluster = try ThrowawayCluster.shared()
        try cluster.withFreshDatabase { database in
            let role = "pw_\(database.name)"
            let admin = try database.connect()
            try admin.execute("CREATE ROLE \(SQLIdentifier(role)) LOGIN PASSWORD 'the-real-one' IN ROLE \(ident: ThrowawayCluster.passwordLoginRole)")
            defer { _ = try? admin.execute("DROP ROLE \(SQLIdentifier(role))") }
            let secret = "Hunter2-Not-Right"
            let outcome = try PgMendBinary.run(["ping", "--db", cluster.uri(database: database.name, user: role, password: secret)])
            #expect(outcome.status == 4)
            #expect(outcome.stderr.contains("password authentication failed"))
            #expect(!outcome.stderr.contains(secret) && !outcome.stdout.contains(secret))
        }
    }

    /// A host that accepts TCP and never answers: exit 4 naming it, within PGCONNECT_TIMEOUT.
    @Test func aHostThatNeverAnswersExitsFourNamingIt() throws {
        let server = try SilentServer()
        // Released after 8 s whatever happens, so a hang fails the test instead of stopping it.
        DispatchQueue.global().asyncAfter(deadline: .now() + 8) { server.stop() }
        let started = Date()
        let outcome = try PgMendBinary.run(
            ["ping", "--db", "host=127.0.0.1 port=\(server.port) dbname=app user=app"], environment: ["PGCONNECT_TIMEOUT": "2"])
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(outcome.status == 4)
        #expect(outcome.stderr.contains("could not connect"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("127.0.0.1"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("timeout"), "\(outcome.stderr)")
    }

    /// The conninfo can stay out of `ps`: from PGMEND_DB or a file; a password in --db is warned about.
    @Test func theConninfoComesFromTheEnvironmentOrAFileAndAPasswordInDbIsWarnedAbout() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let fromEnvironment = try PgMendBinary.run(["ping"], environment: ["PGMEND_DB": database.conninfo])
            #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
            #expect(fromEnvironment.stdout.contains("database: \(database.name)"))
            #expect(!fromEnvironment.stderr.contains("warning"))

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("pgmend-db-\(database.name)").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            try (database.conninfo + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let fromFile = try PgMendBinary.run(["ping", "--db-file", file], environment: ["PGMEND_DB": "dbname=not_this_one"])
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            #expect(fromFile.stdout.contains("database: \(database.name)"))
            let missing = try PgMendBinary.run(["ping", "--db-file", file + ".missing"])
            #expect(missing.status == 2, "\(missing.stderr)")
            #expect(try PgMendBinary.run(["ping", "--db-file", file, "--db", database.conninfo]).status == 2)

            // Over the socket the test cluster trusts, so the password is not checked: only warned about.
            let keyword = try PgMendBinary.run(["ping", "--db", database.conninfo + " password=s3cret-word"])
            #expect(keyword.status == 0, "\(keyword.stderr)")
            #expect(keyword.stderr.contains("warning: --db holds a password"), "\(keyword.stderr)")
            #expect(keyword.stderr.contains(".pgpass") && keyword.stderr.contains("PGMEND_DB"))
            #expect(!keyword.stderr.contains("s3cret-word"))
            let uri = try PgMendBinary.run(["ping", "--db", "postgresql://someone:s3cret-word@127.0.0.1:1/nothing"])
            #expect(uri.status == 4)
            #expect(uri.stderr.contains("warning: --db holds a password"), "\(uri.stderr)")
            #expect(!uri.stderr.contains("s3cret-word"))
            let plain = try PgMendBinary.run(["ping", "--db", database.conninfo])
            #expect(plain.status == 0)
            #expect(!plain.stderr.contains("warning"))
        }
    }
}

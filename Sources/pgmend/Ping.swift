import ArgumentParser
import PostgresClient

extension PgMend {
    /// `pgmend ping`: can pgmend reach the database, and what is it?
    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect, then print the server version and the current database.",
            discussion: "Exits 4 with the reason on one line when the database cannot be reached.")

        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let connection = try connection.connect()
            let where_ = connection.host.hasPrefix("/")
                ? "socket \(connection.host), port \(connection.port)"
                : "\(connection.host):\(connection.port)"
            print("server:   PostgreSQL \(connection.serverVersion)")
            print("database: \(connection.database)")
            print("user:     \(connection.user)")
            print("via:      \(where_)")
        }
    }
}

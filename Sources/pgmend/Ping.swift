import ArgumentParser
import PostgresClient

extension PgMend {
    /// `pgmend ping`: can pgmend reach the database, and what is it?
    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect, then print the server version and the current database.",
            discussion: "Exits 4 with the reason on one line when the database cannot be reached.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var format: FormatOption

        /// The JSON answer of `ping`.
        struct Answer: Encodable {
            var serverVersion: String
            var database: String
            var user: String
            /// A socket directory (starting with `/`) or a host name or address.
            var host: String
            var port: Int?

            enum CodingKeys: String, CodingKey { case serverVersion = "server_version", database, user, host, port }
        }

        func run() throws {
            try format.answering(Self.self) { try ping() }
        }

        func ping() throws {
            let connection = try connection.connect()
            let answer = Answer(
                serverVersion: connection.serverVersion, database: connection.database, user: connection.user,
                host: connection.host, port: Int(connection.port))
            try format.answer(answer) {
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
}

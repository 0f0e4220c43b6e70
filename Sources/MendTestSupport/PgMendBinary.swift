import Foundation

/// The built `pgmend` executable, for end-to-end tests.
public enum PgMendBinary {
    /// `$PGMEND_BINARY`, else `pgmend` next to the running test bundle (SwiftPM puts every
    /// product of a build in one directory), else under the package's `.build/debug`.
    public static func path(filePath: String = #filePath) throws -> String {
        let fileManager = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["PGMEND_BINARY"] {
            return explicit
        }
        var candidates: [String] = []
        if let executable = try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
            // Inside a bundle (macOS: X.xctest/Contents/MacOS), climb out of it.
            while directory.path.contains(".xctest") { directory.deleteLastPathComponent() }
            candidates.append(directory.appendingPathComponent("pgmend").path)
        }
        let packageRoot = URL(fileURLWithPath: filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/pgmend").path)
        guard let found = candidates.first(where: fileManager.isExecutableFile(atPath:)) else {
            throw ClusterFailure("the pgmend binary is not built (looked in \(candidates)); run `swift build` first")
        }
        return found
    }

    /// Runs `pgmend` with `arguments` and the extra environment variables.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutcome {
        try ProcessRunner.run(try path(), arguments, environment: environment)
    }
}

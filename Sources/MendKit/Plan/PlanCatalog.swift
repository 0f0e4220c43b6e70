import Foundation

/// The named plans in a folder (`Plans/` by default), found by name or by path.
public struct PlanCatalog {
    public let directory: String
    /// Where the plans' steps that name no archive folder archive to.
    public let archiveFolder: String

    public init(directory: String = "Plans", archiveFolder: String = PlanLoader.defaultArchiveFolder) {
        self.directory = directory
        self.archiveFolder = archiveFolder
    }

    /// Plan names: the `.yaml` files directly in the folder, sorted.
    public func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }

    /// Whether `nameOrPath` names a file rather than a plan of the folder.
    public static func isPath(_ nameOrPath: String) -> Bool {
        nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml")
    }

    /// The file for `nameOrPath`: a path to an existing file, or `<directory>/<name>.yaml`.
    public func path(for nameOrPath: String) throws -> String {
        if Self.isPath(nameOrPath) {
            guard FileManager.default.fileExists(atPath: nameOrPath) else { throw PlanNotFound(name: nameOrPath, available: names(), directory: directory) }
            return nameOrPath
        }
        let path = "\(directory)/\(nameOrPath).yaml"
        guard FileManager.default.fileExists(atPath: path) else { throw PlanNotFound(name: nameOrPath, available: names(), directory: directory) }
        return path
    }

    public func load(_ nameOrPath: String) throws -> Plan {
        try PlanLoader.load(path: try path(for: nameOrPath), archiveFolder: archiveFolder)
    }
}

/// No plan by that name.
public struct PlanNotFound: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var available: [String]
    public var directory: String
    public var description: String {
        if PlanCatalog.isPath(name) { return "no plan file \(name)" }
        let list = available.isEmpty ? "there are none" : "there are: \(available.joined(separator: ", "))"
        return "no plan '\(name)' in \(directory)/\(Suggestion.hint(for: name, among: available)); \(list)"
    }
}

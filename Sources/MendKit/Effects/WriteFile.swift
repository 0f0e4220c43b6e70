import Foundation
import SchemaModel

/// A file pgmend generates (model code, a migration, docs): written to a temporary file beside
/// it and renamed over it, so a reader sees the old file or the new one, never half of one.
/// Satisfied when the file holds exactly `content` (`WriteFile.isSatisfied`).
public struct WriteFile: Effect {
    public var path: String
    public var content: String
    /// What a dry run shows in place of SQL, e.g. the diff between the file and `content`.
    public var preview: String?

    public init(path: String, content: String, preview: String? = nil) {
        self.path = path
        self.content = content
        self.preview = preview
    }

    public var summary: String { "write \(path) (\(content.utf8.count) bytes)" }
    public var sql: String { preview ?? "-- no SQL: writes \(path)" }
    public var lock: LockLevel { .none }

    /// Whether `path` already holds exactly `content`.
    public static func isSatisfied(path: String, content: String) -> Bool {
        FileManager.default.contents(atPath: path) == Data(content.utf8)
    }

    public func apply(_ context: EffectContext) throws -> EffectOutcome {
        // A rehearsal writes nothing outside its throwaway folder.
        let target = context.rehearsal ? context.archiveDirectory("") + "/files/" + (path as NSString).lastPathComponent : path
        let directory = (target as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let temporary = "\(target).pgmend-\(getpid()).partial"
        try Data(content.utf8).write(to: URL(fileURLWithPath: temporary))
        context.fault(.inside)
        guard rename(temporary, target) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw ArchiveError.io(target, "cannot rename \(temporary) to", code)
        }
        return EffectOutcome(note: context.rehearsal ? "\(path) written to a throwaway folder (rehearsal)" : "wrote \(path)")
    }
}

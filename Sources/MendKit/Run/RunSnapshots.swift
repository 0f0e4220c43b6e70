import Foundation
import SchemaModel

/// Where a real run's pre- and post-snapshots go:
/// `<folder>/<database>-<plan>-run<ID>-<UTC time>-{pre,post}.json`, named by the journal's run
/// id so that two runs in the same second never write the same file (and by time too, as run
/// ids of different servers, or of a journal dropped and made again, repeat).
struct RunSnapshots {
    enum Stage: String { case pre, post }

    let base: String

    init(directory: String, database: String, plan: String, run: Int64) {
        var base = "\(directory)/\(SafeFileName.encode(database))-\(SafeFileName.encode(plan))-run\(run)-\(FileStamp.now())"
        var suffix = 1
        let fileManager = FileManager.default
        while fileManager.fileExists(atPath: "\(base)-pre.json") || fileManager.fileExists(atPath: "\(base)-post.json") {
            suffix += 1
            base = "\(directory)/\(SafeFileName.encode(database))-\(SafeFileName.encode(plan))-run\(run)-\(FileStamp.now())-\(suffix)"
        }
        self.base = base
    }

    func path(_ stage: Stage) -> String { "\(base)-\(stage.rawValue).json" }

    /// Writes the snapshot through a temporary file renamed into place, flushed to disk, so a
    /// snapshot file is complete or absent; a failure says which file and why, in plain words.
    func write(_ snapshot: Snapshot, _ stage: Stage, hook: ((String) throws -> Void)?) throws -> String {
        let path = path(stage)
        let temporary = "\(path).partial"
        do {
            try FileSink.createDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            try hook?(path)
            try FileSink.write(Data(try snapshot.jsonText().utf8), to: temporary)
            guard rename(temporary, path) == 0 else { throw ArchiveError.io(path, "cannot rename \(temporary) to", errno) }
            return path
        } catch ArchiveError.io(_, _, let code) {
            unlink(temporary)
            throw SnapshotNotWritten(stage: stage, path: path, code: code)
        } catch {
            unlink(temporary)
            throw error
        }
    }
}

/// A run's pre- or post-snapshot could not be written (a full disk, a folder that cannot be
/// made or written to).
public struct SnapshotNotWritten: Error, Sendable, CustomStringConvertible {
    public var stage: String
    public var path: String
    public var code: Int32

    init(stage: RunSnapshots.Stage, path: String, code: Int32) {
        self.stage = stage.rawValue
        self.path = path
        self.code = code
    }

    /// `disk full`, `Not a directory`, ...
    public var reason: String { code == ENOSPC ? "disk full" : String(cString: strerror(code)) }

    public var description: String { "the \(stage)-snapshot could not be written: \(reason) at \(path)" }
}

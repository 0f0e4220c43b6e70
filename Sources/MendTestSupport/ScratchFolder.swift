import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Folders a test writes its plans and files to, all inside one folder of this test process,
/// `$TMPDIR/pgmend-tests-<pid>`, removed when the process exits; one a killed run left is
/// removed by the next. (A folder each in `$TMPDIR` left tens of thousands behind.)
public enum ScratchFolder {
    private static let prefix = "pgmend-tests-"

    /// This process's folder, made (and its removal at exit arranged) on first use.
    public static let root: URL = {
        let temporary = FileManager.default.temporaryDirectory
        removeAbandoned(in: temporary.path)
        let folder = temporary.appendingPathComponent("\(prefix)\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: ScratchFolder.root) }
        return folder
    }()

    /// A new, empty folder named `label-<UUID>` inside `root`.
    public static func make(_ label: String) throws -> URL {
        let folder = root.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Folders of test processes that are gone.
    private static func removeAbandoned(in parent: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = pid_t(name.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: "\(parent)/\(name)")
        }
    }
}

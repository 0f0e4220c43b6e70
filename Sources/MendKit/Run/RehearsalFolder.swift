import Foundation

/// The private folder a rehearsal writes its archives and files to, removed when it ends.
///
/// Made by `mkdtemp` in the system's temporary folder: a name nobody can guess or create
/// first, mode 0700, so no other local user can read the table copies in it or put a
/// symbolic link where pgmend would write. It is removed when the rehearsal returns or throws,
/// by `removeLive` when the CLI is interrupted (SIGINT, SIGTERM, SIGHUP), and, when a
/// rehearsal was killed outright, by the next one: its name carries the process id.
public final class RehearsalFolder {
    public let path: String
    static let prefix = "pgmend-rehearsal-"
    private static let lock = NSLock()
    nonisolated(unsafe) private static var live: Set<String> = []

    init(parent: String = FileManager.default.temporaryDirectory.path) throws {
        Self.removeAbandoned(in: parent)
        var template = Array("\(parent)/\(Self.prefix)\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ArchiveError.io(parent, "cannot create a private folder for the rehearsal in", errno)
        }
        path = String(cString: made)
        Self.lock.withLock { _ = Self.live.insert(path) }
    }

    /// Removes the folder and everything in it (links inside are removed, never followed).
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
        Self.lock.withLock { _ = Self.live.remove(path) }
    }

    deinit { remove() }

    /// Removes the folders of the rehearsals running in this process: for a signal handler
    /// that is about to end it. The main thread may still be writing an archive into one
    /// (a file created while the tree is removed fails the removal with ENOTEMPTY, a `mkdir -p`
    /// recreates a folder just removed), so this removes until nothing is left, for up to a
    /// second.
    public static func removeLive() {
        let paths = lock.withLock { live }
        for _ in 0..<100 {
            for path in paths { try? FileManager.default.removeItem(atPath: path) }
            if !paths.contains(where: { FileManager.default.fileExists(atPath: $0) }) { return }
            usleep(10_000)
        }
    }

    /// Folders this user's rehearsals left when they were killed (their process is gone):
    /// real folders only, owned by this user, never what a symbolic link points at.
    static func removeAbandoned(in parent: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid != getpid() else { continue }
            // Alive, or someone else's process (EPERM): not abandoned.
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
            var status = stat()
            let path = "\(parent)/\(name)"
            guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR, status.st_uid == getuid() else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

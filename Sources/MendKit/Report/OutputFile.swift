import Foundation

/// Writes a file the operator named with `-o`.
///
/// A regular file (or a new one) is written atomically, through a temporary file renamed over
/// it, so a reader never sees half a snapshot. Anything else (`/dev/stdout`, `/dev/null`, a
/// pipe) is written in place: renaming over a device would replace it with a regular file,
/// which as root breaks the machine's `/dev/null`.
public enum OutputFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        var status = stat()
        let exists = stat(path, &status) == 0
        if exists && (status.st_mode & S_IFMT) != S_IFREG {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            return
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }
}

import Foundation

/// Why an archive could not be written, read or trusted. The table it was for is never
/// dropped when one of these happens.
public enum ArchiveError: Error, Sendable, CustomStringConvertible {
    case io(String, String, Int32)
    case compression(String)
    case missing(String)
    case corrupt(String, String)
    case mismatch(String)
    case unusable(String)

    public var description: String {
        switch self {
        case .io(let path, let what, let code):
            let reason = code == ENOSPC ? "the disk is full" : String(cString: strerror(code))
            return "\(what) \(path): \(reason)"
        case .compression(let message): return "compression: \(message)"
        case .missing(let path): return "\(path) is missing"
        case .corrupt(let path, let message): return "\(path) is damaged: \(message)"
        case .mismatch(let message): return "the archive does not match the table: \(message)"
        case .unusable(let message): return message
        }
    }
}

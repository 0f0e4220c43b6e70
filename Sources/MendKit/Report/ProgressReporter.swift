/// Where long-running work reports how far it got. The library never prints; the command
/// line supplies a reporter (stderr, only on a terminal), tests supply none.
public protocol ProgressReporter: Sendable {
    /// `done` of `total` units of `task` are finished; `detail` names the current item.
    func progress(task: String, done: Int, total: Int, detail: String)
    /// The task is over; a reporter that drew a status line clears it.
    func finish(task: String)
    /// Something the operator should know while it happens ("waiting for ..."); unlike
    /// progress, worth saying off a terminal too.
    func note(_ message: String)
}

extension ProgressReporter {
    public func note(_ message: String) {}
}

/// Reports nothing.
public struct SilentProgress: ProgressReporter {
    public init() {}
    public func progress(task: String, done: Int, total: Int, detail: String) {}
    public func finish(task: String) {}
}

/// Where long-running work reports how far it got. The library never prints; the command
/// line supplies a reporter (stderr, only on a terminal), tests supply none.
public protocol ProgressReporter: Sendable {
    /// `done` of `total` units of `task` are finished; `detail` names the current item.
    func progress(task: String, done: Int, total: Int, detail: String)
    /// The task is over; a reporter that drew a status line clears it.
    func finish(task: String)
}

/// Reports nothing.
public struct SilentProgress: ProgressReporter {
    public init() {}
    public func progress(task: String, done: Int, total: Int, detail: String) {}
    public func finish(task: String) {}
}

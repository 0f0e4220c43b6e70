/// Where long-running work reports how far it got. The library never prints; the command
/// line supplies a reporter (a status line, periodic lines or JSON on stderr), tests supply
/// none or one that acts at a given moment.
public protocol ProgressReporter: Sendable {
    /// `done` of `total` `unit`s ("rows", "tables") of `task` are finished; `total` 0 or less
    /// when not known; `detail` names the current pass or item. Called as often as work
    /// advances (every batch): the reporter decides how often to show it.
    func progress(task: String, done: Int, total: Int, unit: String, detail: String)
    /// The task is over; a reporter that drew a status line clears it.
    func finish(task: String)
    /// Something the operator should know while it happens ("waiting for ..."); unlike
    /// progress, worth saying off a terminal too.
    func note(_ message: String)
    /// False when progress is shown nowhere: work that would open a connection only to
    /// watch itself (an index build's progress) does not.
    var showsProgress: Bool { get }
}

extension ProgressReporter {
    public func note(_ message: String) {}
    public var showsProgress: Bool { true }
}

/// Reports nothing.
public struct SilentProgress: ProgressReporter {
    public init() {}
    public func progress(task: String, done: Int, total: Int, unit: String, detail: String) {}
    public func finish(task: String) {}
    public var showsProgress: Bool { false }
}

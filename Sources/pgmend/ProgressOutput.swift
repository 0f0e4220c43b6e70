import ArgumentParser
import Foundation
import MendKit

/// How progress is shown on stderr.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    /// A status line redrawn in place on a terminal; a line every few seconds in a pipe.
    case auto
    /// One JSON object per line, for scripts.
    case json
    /// Nothing but notes ("waiting for ...") and failures.
    case none
}

/// The `--progress` option, the same on every command that reports progress; kept apart from
/// `FormatOption` because `--format` is about stdout and this is about stderr.
struct ProgressOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Progress on stderr: a status line on a terminal, a line every few seconds in a pipe (auto), JSON lines (json), or none.",
            discussion: "In a pipe or with json, lines come every \(Int(ProgressOption.defaultInterval)) s, or every PGMEND_PROGRESS_INTERVAL seconds."))
    var progress: ProgressMode = .auto

    static let defaultInterval = 5.0

    /// Seconds between lines in a pipe or JSON events: `PGMEND_PROGRESS_INTERVAL`, or 5.
    static var interval: Double {
        guard let text = ProcessInfo.processInfo.environment["PGMEND_PROGRESS_INTERVAL"], let seconds = Double(text), seconds > 0 else {
            return defaultInterval
        }
        return seconds
    }

    /// What `--progress auto` gives, for code that no command's option reaches.
    static func automatic() -> any ProgressReporter {
        StderrProgress(style: StandardError.isTerminal ? .terminal : .lines, interval: interval)
    }

    /// The reporter this option asks for, writing to stderr.
    func reporter() -> any ProgressReporter {
        switch progress {
        case .none: return StderrProgress(style: .silent, interval: Self.interval)
        case .json: return StderrProgress(style: .json, interval: Self.interval)
        case .auto: return StderrProgress(style: StandardError.isTerminal ? .terminal : .lines, interval: Self.interval)
        }
    }
}

/// Progress on stderr in one of the styles `--progress` names. Reports come from any thread
/// (a backfill's workers, an index build's watcher): one lock orders them. In a pipe and in
/// JSON a ticker prints every `interval` what each running task has reached, so a task
/// that reports once and then runs long (one big count) is still heard from.
final class StderrProgress: ProgressReporter, @unchecked Sendable {
    enum Style { case terminal, lines, json, silent }

    let style: Style
    let interval: Double
    private let lock = NSLock()
    /// Running tasks by name, in the order they began.
    private var meters: [String: ProgressMeter] = [:]
    private var order: [String] = []
    /// The step (or dry-run step) the tasks belong to: "step 3/7".
    private var context: (task: String, number: Int, total: Int, kind: String)?
    /// Tasks that printed a periodic line (or event): they get a last one when they finish;
    /// the many short reads of a dry run print nothing at all.
    private var printed: Set<String> = []
    private var lastDraw = 0.0
    private var statusShown = false
    private var ticker: Thread?

    init(style: Style, interval: Double) {
        self.style = style
        self.interval = interval
    }

    var showsProgress: Bool { style != .silent }

    private static var clock: Double { ProcessInfo.processInfo.systemUptime }

    func progress(task: String, done: Int, total: Int, unit: String, detail: String) {
        guard style != .silent else { return }
        let now = Self.clock
        lock.withLock {
            if unit == "steps" {
                context = (task, done + 1, total, detail)
                contextPrinted = now
                contextStarted = now
                if style == .json {
                    emit(["event": "step", "task": task, "step": done + 1, "steps": total, "kind": detail])
                }
            } else if var meter = meters[task] {
                meter.record(done: done, total: total, unit: unit, detail: detail, at: now)
                meters[task] = meter
            } else {
                meters[task] = ProgressMeter(task: task, unit: unit, done: done, total: total, detail: detail, at: now)
                order.append(task)
            }
            switch style {
            case .terminal: drawStatus(now: now, force: unit == "steps")
            case .lines, .json: startTicker()
            case .silent: break
            }
        }
    }

    func finish(task: String) {
        guard style != .silent else { return }
        lock.withLock {
            if context?.task == task { context = nil }
            guard let meter = meters.removeValue(forKey: task) else {
                if style == .terminal { clearStatus() }
                return
            }
            order.removeAll { $0 == task }
            switch style {
            case .terminal: clearStatus()
            case .lines where printed.contains(task): StandardError.write("pgmend: \(meter.summary(step: stepText, width: 91))\n")
            case .json where printed.contains(task): emit(event("finish", meter, now: Self.clock))
            default: break
            }
            printed.remove(task)
        }
    }

    func note(_ message: String) {
        lock.withLock {
            switch style {
            case .json: emit(["event": "note", "message": message])
            case .terminal:
                clearStatus()
                StandardError.write("pgmend: \(message)\n")
            case .lines, .silent: StandardError.write("pgmend: \(message)\n")
            }
        }
    }

    /// "step 3/7", or "dry run step 3/7" while the run's dry run assesses it.
    private var stepText: String? {
        context.map { $0.task == "step" ? "step \($0.number)/\($0.total)" : "\($0.task) step \($0.number)/\($0.total)" }
    }

    // MARK: Terminal

    /// Redraws the status line in place, at most ten times a second.
    private func drawStatus(now: Double, force: Bool) {
        guard force || now - lastDraw >= 0.1 else { return }
        lastDraw = now
        let width = min(Self.terminalColumns - 1, 99)
        let line: String
        if let task = order.last, let meter = meters[task] {
            line = meter.line(step: stepText, width: width, at: now)
        } else if let context, let step = stepText {
            line = String("\(step) \(context.kind)".prefix(width))
        } else {
            return
        }
        StandardError.write("\r\u{1B}[K\(line)")
        statusShown = true
    }

    private func clearStatus() {
        guard statusShown else { return }
        StandardError.write("\r\u{1B}[K")
        statusShown = false
    }

    private static var terminalColumns: Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 else { return 80 }
        return Int(size.ws_col)
    }

    // MARK: Pipe and JSON

    /// Starts the ticker with the first task: a command that reports nothing starts no thread.
    private func startTicker() {
        guard ticker == nil else { return }
        // The reporter lives as long as the command: the thread needs no way to stop.
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: min(interval, 0.5))
                tick()
            }
        }
        thread.stackSize = 1 << 20
        ticker = thread
        thread.start()
    }

    /// Prints each task that has run for at least `interval` since it began or was last printed.
    private func tick() {
        let now = Self.clock
        lock.withLock {
            if order.isEmpty, style == .lines, let context, let step = stepText, now - contextPrinted >= interval {
                contextPrinted = now
                StandardError.write("pgmend: \(step) \(context.kind): running \(ProgressMeter.duration(now - contextStarted))\n")
            }
            for task in order {
                guard let meter = meters[task] else { continue }
                let since = printed.contains(task) ? lastPrinted[task] ?? meter.started : meter.started
                guard now - since >= interval else { continue }
                lastPrinted[task] = now
                printed.insert(task)
                if style == .json {
                    emit(event("progress", meter, now: now))
                } else {
                    StandardError.write("pgmend: \(meter.line(step: stepText, width: 91, at: now))\n")
                }
            }
        }
    }

    private var lastPrinted: [String: Double] = [:]
    /// When the step began or was last printed: a step that reports nothing of its own (a
    /// long statement) gets "running 12 s" lines.
    private var contextPrinted = 0.0
    private var contextStarted = 0.0

    private func event(_ name: String, _ meter: ProgressMeter, now: Double) -> [String: Any] {
        var object: [String: Any] = [
            "event": name, "task": meter.task, "done": meter.done, "unit": meter.unit,
            "elapsed_seconds": Self.rounded(now - meter.started),
        ]
        if meter.total > 0 { object["total"] = meter.total }
        if !meter.detail.isEmpty { object["detail"] = meter.detail }
        if let context {
            object["step"] = context.number
            object["steps"] = context.total
        }
        if let rate = meter.rate { object["rate"] = Self.rounded(rate) }
        if let eta = meter.etaSeconds { object["eta_seconds"] = Self.rounded(eta) }
        return object
    }

    private static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    private func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        StandardError.write(String(decoding: data, as: UTF8.self) + "\n")
    }
}

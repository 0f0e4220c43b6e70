import Foundation

/// How far one task got and how fast: units done of total, the rate since the task (or its
/// current phase) began, the time left, and the one line that says so. Pure: the caller gives
/// the clock, so the arithmetic is tested without a server or a wait.
public struct ProgressMeter: Sendable {
    public let task: String
    public private(set) var unit: String
    public private(set) var done: Int
    /// 0 or less: not known (an archive of a table the planner never counted).
    public private(set) var total: Int
    public private(set) var detail: String
    /// When the task was first reported, in the caller's seconds.
    public let started: Double
    /// The moment and count the rate is measured from: the first report of the current phase.
    private var baseline: (time: Double, done: Int)
    /// The latest report's moment.
    public private(set) var now: Double

    public init(task: String, unit: String, done: Int, total: Int, detail: String = "", at time: Double) {
        self.task = task
        self.unit = unit
        self.done = done
        self.total = total
        self.detail = detail
        started = time
        baseline = (time, done)
        now = time
    }

    /// A later report. A new phase (another unit or total, or a count that went back: an index
    /// build moving from scanning blocks to sorting tuples) measures its rate afresh.
    public mutating func record(done: Int, total: Int, unit: String, detail: String, at time: Double) {
        if unit != self.unit || total != self.total || done < self.done { baseline = (time, done) }
        self.done = done
        self.total = total
        self.unit = unit
        self.detail = detail
        now = max(time, now)
    }

    /// Seconds since the task was first reported.
    public var elapsed: Double { now - started }

    /// Units per second over the current phase; nil until two reports a moment apart.
    public var rate: Double? {
        let seconds = now - baseline.time
        guard seconds >= 0.05, done > baseline.done else { return nil }
        return Double(done - baseline.done) / seconds
    }

    /// Seconds left at the current rate; nil without a total or a rate.
    public var etaSeconds: Double? {
        guard total > 0, let rate, rate > 0 else { return nil }
        return Double(max(total - done, 0)) / rate
    }

    /// Whole percent done; nil without a total.
    public var percent: Int? {
        guard total > 0 else { return nil }
        return min(100, done * 100 / total)
    }

    /// "step 3/7 backfill users: 120,000/200,000 rows (60%), 41,200 rows/s, ETA 2 s, pass 2",
    /// at most `width` characters: the detail goes first, then the middle of the name. Before
    /// any unit is done (one long statement), how long it has run instead, as of `time`.
    public func line(step: String? = nil, width: Int = 99, at time: Double? = nil) -> String {
        var figures: [String] = []
        if done > 0 || total > 0 {
            var counts = total > 0 ? "\(Self.grouped(done))/\(Self.grouped(total)) \(unit)" : "\(Self.grouped(done)) \(unit)"
            if let percent { counts += " (\(percent)%)" }
            figures.append(counts)
        }
        if let rate {
            figures.append("\(Self.rateText(rate)) \(unit)/s")
        } else {
            figures.append("running \(Self.duration(max((time ?? now) - started, 0)))")
        }
        if let etaSeconds { figures.append("ETA \(Self.duration(etaSeconds))") }
        let head = [step, task].compactMap { $0 }.joined(separator: " ")
        let core = figures.joined(separator: ", ")
        return Self.fitted(head: head, core: core, detail: detail, width: width)
    }

    /// The last line of a task: "backfill users: 200,000 rows in 3.2 s (62,500 rows/s)".
    public func summary(step: String? = nil, width: Int = 99) -> String {
        var core = "\(Self.grouped(done)) \(unit) in \(Self.duration(elapsed))"
        if elapsed >= 0.05, done > 0 { core += " (\(Self.rateText(Double(done) / elapsed)) \(unit)/s)" }
        let head = [step, task].compactMap { $0 }.joined(separator: " ")
        return Self.fitted(head: head, core: core, detail: "", width: width)
    }

    static func fitted(head: String, core: String, detail: String, width: Int) -> String {
        let line = detail.isEmpty ? "\(head): \(core)" : "\(head): \(core), \(detail)"
        if line.count <= width { return line }
        let plain = "\(head): \(core)"
        if plain.count <= width { return plain }
        // A long table name: keep its start and end, which tell tables apart.
        let room = max(width - core.count - 5, 8)
        let cut = head.count > room ? String(head.prefix(room / 2)) + "..." + String(head.suffix(room - room / 2 - 3)) : head
        return String("\(cut): \(core)".prefix(width))
    }

    /// 1234567 → "1,234,567", whatever the locale: logs read the same everywhere.
    public static func grouped(_ number: Int) -> String {
        let digits = String(number.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return number < 0 ? "-" + out : out
    }

    /// A rate: one decimal below 10 ("2.5"), whole and grouped above ("41,200").
    static func rateText(_ rate: Double) -> String {
        rate < 10 ? String(format: "%.1f", rate) : grouped(Int(rate.rounded()))
    }

    /// "0.4 s", "45 s", "3 min 20 s", "2 h 5 min".
    public static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return whole % 60 == 0 ? "\(whole / 60) min" : "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}

/// How many keys a backfill's batches take: a fixed number, or as many as fit a target
/// duration (`settings: batch_target`), measured batch by batch.
public enum BatchSizing: Sendable, Equatable {
    /// Always this many keys (`batch_size` given without `batch_target`).
    case fixed(Int)
    /// As many keys as take about `targetMilliseconds`, never more than `maximum`.
    case adaptive(targetMilliseconds: Int, maximum: Int)

    /// The size of the first batch.
    public var first: Int {
        switch self {
        case .fixed(let size): size
        case .adaptive(_, let maximum): min(maximum, BatchSizer.firstAdaptive)
        }
    }

    /// For people: "5000 keys", "sized to 100 ms (1000 keys first, at most 100000)".
    public var description: String {
        switch self {
        case .fixed(let size): "of \(size) keys"
        case .adaptive(let target, let maximum): "sized to \(target) ms (\(first) keys first, at most \(maximum))"
        }
    }
}

/// The size of a pass's next batch. A batch that took longer than the target shrinks the next
/// one at once, in proportion; one well under it grows the next, at most doubling, so a table
/// whose rows are wide or contended settles on small batches and a narrow, quiet one on large
/// ones (as GitLab's batched background migrations do). It aims at 80% of the target: batch
/// times vary, and the target is a bound for the application's waits, not an average.
struct BatchSizer {
    /// The first batch of an adaptive pass: small, so a slow table is found out cheaply.
    static let firstAdaptive = 1000
    /// Never fewer keys than this (a batch also pays a round trip and a commit).
    static let smallest = 10

    let sizing: BatchSizing
    private(set) var size: Int

    init(_ sizing: BatchSizing) {
        self.sizing = sizing
        size = max(1, sizing.first)
    }

    /// A batch of `size` keys took `seconds`; `keys`: it took that many instead (a batch cut at
    /// a key read beforehand, `KeyMarks`).
    mutating func record(seconds: Double, keys: Int? = nil) {
        guard case .adaptive(let target, let maximum) = sizing, seconds > 0 else { return }
        if let keys { size = max(1, keys) }
        let targetSeconds = Double(target) / 1000
        let proposed = Int(Double(size) * targetSeconds * 0.8 / seconds)
        if seconds > targetSeconds {
            size = max(Self.smallest, min(size - 1, proposed))
        } else {
            size = min(maximum, min(size * 2, max(size, proposed)))
        }
    }
}

/// Every `spacing`-th key of a pass's range, read before its first batch in one scan of the
/// primary key's index, so a batch's upper bound is a key already known instead of a read of
/// its own.
///
/// A bound read per batch (`ORDER BY key OFFSET n LIMIT 1`) reads the index alone only where
/// the visibility map says the heap pages are all visible, and every batch's new row versions
/// clear it: on a table whose rows lie in another order than their keys (a UUID key), the new
/// versions land on pages holding keys still ahead of the cursor, and later bounds visit the
/// heap for them (20 ms a batch of 3,400 keys on 1,000,000 rows, against 2 ms for the first).
/// Read before any batch writes, the marks cost one index-only scan.
///
/// A batch takes whole spans of marks, as many as its size holds; a pass whose batches must
/// be smaller than one span (a slow table under `batch_target`) or that has used them all
/// (the last keys, and those inserted past the last mark since) reads its bounds one by one,
/// as before. Keys inserted or deleted between two marks since only make that batch larger or
/// smaller: the batch is still the range between two keys, and its rows are decided there.
struct KeyMarks {
    /// Keys from one mark to the next, when they were read.
    let spacing: Int
    private let keys: [[String]]
    private var used = 0

    /// The most marks read (about 10 MB): past them, bounds are read batch by batch.
    static let limit = 100_000

    init(spacing: Int, keys: [[String]]) {
        self.spacing = spacing
        self.keys = keys
    }

    /// The bound of a batch of `size` keys and the keys it spans; nil when `size` is less than
    /// one span or no mark is left (then none will be taken again in this pass).
    mutating func take(_ size: Int) -> (bound: [String], keys: Int)? {
        guard size >= spacing, used < keys.count else { return nil }
        let spans = min(size / spacing, keys.count - used)
        used += spans
        return (keys[used - 1], spans * spacing)
    }
}

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

    /// A batch of `size` keys took `seconds`.
    mutating func record(seconds: Double) {
        guard case .adaptive(let target, let maximum) = sizing, seconds > 0 else { return }
        let targetSeconds = Double(target) / 1000
        let proposed = Int(Double(size) * targetSeconds * 0.8 / seconds)
        if seconds > targetSeconds {
            size = max(Self.smallest, min(size - 1, proposed))
        } else {
            size = min(maximum, min(size * 2, max(size, proposed)))
        }
    }
}

import Foundation

/// Test hook: `after:N` kills the process with SIGKILL once the N-th effect of a run has
/// finished, `inside:N` in the middle of it (after its work, before its COMMIT; after the
/// first batch of a backfill; before an archive folder is renamed). The conformance suite
/// uses it (as `PGMEND_FAULT`, which only the command line reads) to prove that a run killed
/// anywhere is finished by the next one. `none` does nothing.
public struct FaultPoints: Sendable {
    public enum Point: String, Sendable { case inside, after }

    let point: Point?
    let effect: Int

    public init(point: Point?, effect: Int) {
        self.point = point
        self.effect = effect
    }

    /// No fault point: the run is not killed.
    public static let none = FaultPoints(point: nil, effect: 0)

    /// Parses `inside:N` or `after:N`; anything else is `none`.
    public init(parsing text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let point = Point(rawValue: String(parts[0])), let effect = Int(parts[1]) else {
            self = .none
            return
        }
        self.init(point: point, effect: effect)
    }

    func reach(_ reached: Point, effect number: Int) {
        guard reached == point, number == effect else { return }
        FileHandle.standardError.write(Data("pgmend: PGMEND_FAULT=\(reached.rawValue):\(number): killing the process\n".utf8))
        kill(getpid(), SIGKILL)
    }
}

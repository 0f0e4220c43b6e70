@testable import MendKit
import PostgresClient
import SchemaModel
import Testing

/// What the executor decides without a server: which errors are retried, what an effect's
/// failure means for the report, where a run kills itself.
@Suite("Executor policy: retries, effect failures, fault points")
struct ExecutorPolicyTests {
    @Test func onlyALockNotGrantedOrADeadlockIsRetried() {
        #expect(LockRetry.isRetryable(PostgresError(kind: .server, message: "x", sqlState: .lockNotAvailable)))
        #expect(LockRetry.isRetryable(PostgresError(kind: .server, message: "x", sqlState: .deadlockDetected)))
        #expect(!LockRetry.isRetryable(PostgresError(kind: .server, message: "x", sqlState: .invalidTextRepresentation)))
        #expect(!LockRetry.isRetryable(ChangedUnderLock(table: ObjectName(schema: "public", name: "t"), change: "x")))
        #expect((1...8).map(LockRetry.backoff) == [100, 200, 400, 800, 1600, 3200, 5000, 5000])
    }

    @Test func retryingGivesUpAfterItsRetries() throws {
        var calls = 0
        #expect(throws: PostgresError.self) {
            try LockRetry.retrying(1) {
                calls += 1
                throw PostgresError(kind: .server, message: "x", sqlState: .lockNotAvailable)
            }
        }
        #expect(calls == 2)
    }

    /// A backfill's proof that failed after batches committed: the report gets the proof's
    /// rows and the committed count, from one protocol.
    @Test func anEffectFailureSaysWhatTheReportNeeds() {
        let failed = AssertionFailed(summary: "every level is a number", count: 2, sample: ["(7,abc)", "(9,b)"])
        let partly: any EffectFailure = PartlyCommitted(rows: 5, longestTransaction: 0.25, error: failed)
        #expect(partly.runOutcome == .failed)
        #expect(partly.rowsCommitted == 5)
        #expect(partly.problem?.sample == ["(7,abc)", "(9,b)"])
        #expect(partly.cause is AssertionFailed)
        let changed: any EffectFailure = ChangedUnderLock(table: ObjectName(schema: "public", name: "t"), change: "it holds 1 row now")
        #expect(changed.runOutcome == .blocked)
        #expect(changed.problem?.message == changed.description)
    }

    @Test func faultPointsAreParsedFromTheCommandLinesText() {
        let inside = FaultPoints(parsing: "inside:3")
        #expect(inside.point == .inside && inside.effect == 3)
        let after = FaultPoints(parsing: "after:12")
        #expect(after.point == .after && after.effect == 12)
        for text in ["", "after", "during:1", "after:x"] {
            #expect(FaultPoints(parsing: text).point == nil, "\(text)")
        }
    }
}

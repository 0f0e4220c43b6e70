import MendTestSupport
import PostgresClient
import Testing

@Suite("Advisory locks")
struct AdvisoryLockTests {
    @Test func aLockHeldByOneSessionIsRefusedToAnotherWhoLearnsTheHolder() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let key = AdvisoryLockKey(name: "pgmend-test-\(database.name)")
            let first = try Connection(database.conninfo, applicationName: "first-operator")
            let second = try database.connect()
            #expect(try first.tryAdvisoryLock(key))
            #expect(try !second.tryAdvisoryLock(key))
            let holders = try second.advisoryLockHolders(key)
            #expect(holders.map(\.pid) == [first.backendPID])
            #expect(holders.first?.applicationName == "first-operator")
            #expect(holders.first?.description.contains("first-operator") == true)
            #expect(try first.advisoryUnlock(key))
            #expect(try second.tryAdvisoryLock(key))
            #expect(try second.advisoryLockHolders(key).map(\.pid) == [second.backendPID])
        }
    }

    @Test func keysFromNamesAreStable() {
        #expect(AdvisoryLockKey(name: "pgmend").value == AdvisoryLockKey(name: "pgmend").value)
        #expect(AdvisoryLockKey(name: "").value == Int64(bitPattern: 0xcbf2_9ce4_8422_2325))
        #expect(AdvisoryLockKey(name: "a").value != AdvisoryLockKey(name: "b").value)
    }

    @Test func negativeKeysWork() throws {
        try ThrowawayCluster.shared().withFreshDatabase { database in
            let key = AdvisoryLockKey(Int64.min + 7)
            let holder = try database.connect()
            #expect(try holder.tryAdvisoryLock(key))
            #expect(try database.connect().advisoryLockHolders(key).map(\.pid) == [holder.backendPID])
        }
    }
}

import MendKit
import Testing

/// The arithmetic and the wording of progress lines, on a clock the test gives.
@Suite("ProgressMeter: rate, ETA and the line")
struct ProgressMeterTests {
    @Test func rateAndETAAreMeasuredFromTheFirstReport() {
        var meter = ProgressMeter(task: "backfill users", unit: "rows", done: 2_000, total: 200_000, at: 100)
        #expect(meter.rate == nil && meter.etaSeconds == nil)
        meter.record(done: 42_000, total: 200_000, unit: "rows", detail: "", at: 102)
        #expect(meter.rate == 20_000)
        #expect(meter.etaSeconds == 7.9)
        #expect(meter.percent == 21)
        #expect(meter.elapsed == 2)
    }

    @Test func aNewPhaseMeasuresItsRateAfresh() {
        var meter = ProgressMeter(task: "index ix", unit: "blocks", done: 0, total: 1_000, at: 0)
        meter.record(done: 1_000, total: 1_000, unit: "blocks", detail: "building index: scanning table", at: 10)
        #expect(meter.rate == 100)
        meter.record(done: 0, total: 50_000, unit: "tuples", detail: "building index: loading tuples in tree", at: 11)
        #expect(meter.rate == nil)
        meter.record(done: 10_000, total: 50_000, unit: "tuples", detail: "building index: loading tuples in tree", at: 12)
        #expect(meter.rate == 10_000)
        #expect(meter.etaSeconds == 4)
        #expect(meter.elapsed == 12)
    }

    @Test func theLineSaysStepTaskCountsRateAndETA() {
        var meter = ProgressMeter(task: "backfill users", unit: "rows", done: 0, total: 200_000, at: 0)
        meter.record(done: 120_000, total: 200_000, unit: "rows", detail: "catch-up pass 2", at: 3)
        #expect(
            meter.line(step: "step 3/7")
                == "step 3/7 backfill users: 120,000/200,000 rows (60%), 40,000 rows/s, ETA 2.0 s, catch-up pass 2")
    }

    @Test func withoutATotalOrProgressTheLineSaysHowLongItRan() {
        let meter = ProgressMeter(task: "count users", unit: "rows", done: 0, total: 0, at: 10)
        #expect(meter.line(at: 75) == "count users: running 1 min 5 s")
        var archive = ProgressMeter(task: "archive public.t", unit: "rows", done: 0, total: 0, at: 0)
        archive.record(done: 5_000, total: 0, unit: "rows", detail: "", at: 2)
        #expect(archive.line() == "archive public.t: 5,000 rows, 2,500 rows/s")
    }

    @Test func aLongLineIsCutDetailFirstThenTheMiddleOfTheName() {
        var meter = ProgressMeter(task: "backfill public.\(String(repeating: "x", count: 80))_end", unit: "rows", done: 0, total: 10, at: 0)
        meter.record(done: 5, total: 10, unit: "rows", detail: "fill phone_number, sms_enabled", at: 1)
        let line = meter.line(step: "step 1/2", width: 99)
        #expect(line.count <= 99, "\(line)")
        #expect(line.hasPrefix("step 1/2 backfill public.x") && line.contains("..."), "\(line)")
        #expect(line.hasSuffix("_end: 5/10 rows (50%), 5.0 rows/s, ETA 1.0 s"), "\(line)")
        var short = ProgressMeter(task: "backfill t", unit: "rows", done: 0, total: 10, at: 0)
        short.record(done: 5, total: 10, unit: "rows", detail: String(repeating: "d", count: 90), at: 1)
        #expect(short.line(width: 60) == "backfill t: 5/10 rows (50%), 5.0 rows/s, ETA 1.0 s")
    }

    @Test func theSummarySaysHowManyInHowLong() {
        var meter = ProgressMeter(task: "backfill users", unit: "rows", done: 2_000, total: 200_000, at: 0)
        meter.record(done: 200_000, total: 200_000, unit: "rows", detail: "", at: 4)
        #expect(meter.summary(step: "step 1/1") == "step 1/1 backfill users: 200,000 rows in 4.0 s (50,000 rows/s)")
    }

    @Test(arguments: [(0, "0"), (999, "999"), (1_000, "1,000"), (1_234_567, "1,234,567"), (-12_345, "-12,345")])
    func numbersAreGroupedWhateverTheLocale(number: Int, text: String) {
        #expect(ProgressMeter.grouped(number) == text)
    }

    @Test(arguments: [(0.42, "0.4 s"), (45, "45 s"), (200, "3 min 20 s"), (120, "2 min"), (7_500, "2 h 5 min")])
    func durations(seconds: Double, text: String) {
        #expect(ProgressMeter.duration(seconds) == text)
    }

    /// Which of `pg_stat_progress_create_index`'s counters a phase is measured by.
    @Test(arguments: [
        ("waiting for writers before build", "transactions", 1, 2),
        ("building index: scanning table", "blocks", 40, 100),
        ("building index: loading tuples in tree", "tuples", 300, 1_000),
        ("index validation: scanning table", "blocks", 40, 100),
        ("initializing", "blocks", 0, 0),
    ])
    func anIndexBuildIsMeasuredByItsPhasesCounter(phase: String, unit: String, done: Int, total: Int) {
        let blocks = phase == "initializing" ? (0, 0) : (40, 100)
        let tuples = phase == "initializing" ? (0, 0) : (300, 1_000)
        let reading = IndexBuildProgress(
            phase: phase, blocksDone: blocks.0, blocksTotal: blocks.1, tuplesDone: tuples.0, tuplesTotal: tuples.1, lockersDone: 1, lockersTotal: 2)
        #expect(reading.measure.unit == unit && reading.measure.done == done && reading.measure.total == total)
    }
}

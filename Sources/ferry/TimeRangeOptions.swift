import ArgumentParser
import FerryWDT

/// `--since` and `--until`, in WDT time, for the commands that extract.
struct TimeRangeOptions: ParsableArguments {
    @Option(name: .long, help: "Start of the range (WDT time, 'yyyy-MM-dd HH:mm:ss', Asia/Shanghai).")
    var since: String?

    @Option(name: .long, help: "End of the range, included (WDT time); clamped to now minus source.lag_seconds.")
    var until: String?

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, WDTTime(value) == nil {
                throw ValidationError("\(name) '\(value)' is not a WDT time; write it as 'yyyy-MM-dd HH:mm:ss'")
            }
        }
        if let s = sinceTime, let u = untilTime, s > u {
            throw ValidationError("--since \(s) is after --until \(u)")
        }
    }

    /// `--since`, parsed.
    var sinceTime: WDTTime? { since.flatMap(WDTTime.init) }
    /// `--until`, parsed.
    var untilTime: WDTTime? { until.flatMap(WDTTime.init) }
}

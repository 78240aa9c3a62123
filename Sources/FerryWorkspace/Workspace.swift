import FerryCore
import FerrySchemes
import Foundation

/// A Ferry workspace: `ferry.yaml`, `templates/`, `lookups/`, `runs/` and the extract cursor `state.json`.
///
/// ```
/// ferry.yaml            settings; secrets come from the environment through ${NAME}
/// templates/<scheme>.xml
/// lookups/*.csv
/// state.json            the extract cursor (advanced only after a complete, durable window)
/// runs/<run-id>/        one directory per run; run ids are sortable UTC timestamps
///   .lock               held while a process works on the run
///   extract/            raw WDT pages + manifest.json
///   transform/          Kingdee payloads, rejects, receipts, errors + manifest.json
/// ```
public struct Workspace: Sendable {
    /// The workspace directory.
    public var root: String
    /// Its parsed `ferry.yaml`.
    public var config: WorkspaceConfig

    /// Opens the workspace at `root`.
    ///
    /// - Throws: a `Diagnostic` when `ferry.yaml` is missing or invalid.
    public init(root: String) throws(Diagnostic) {
        self.root = root
        let file = Self.configPath(root)
        guard FileSystem.exists(file) else {
            throw .error(
                "no ferry.yaml here; create a workspace with `ferry init \(root)` or pass --workspace DIR", file: file)
        }
        self.config = try WorkspaceConfig.load(file)
    }

    /// Path of `ferry.yaml` in a workspace directory.
    public static func configPath(_ root: String) -> String { join(root, "ferry.yaml") }

    /// The `runs/` directory.
    public var runsDirectory: String { Self.join(root, "runs") }
    /// The extract cursor file.
    public var statePath: String { Self.join(root, "state.json") }
    /// The lookups directory.
    public var lookupsDirectory: String { Self.join(root, "lookups") }

    /// The scheme template path from `scheme:` (relative to the workspace), or the default scheme's copy.
    public var templatePath: String {
        let written = config.entry("scheme")?.raw ?? "templates/\(BuiltInSchemes.defaultSchemeName).xml"
        return written.hasPrefix("/") ? written : Self.join(root, written)
    }

    /// A run's directory.
    public func runDirectory(_ id: String) -> String { Self.join(runsDirectory, id) }

    /// All run ids, oldest first.
    public func runIDs() -> [String] {
        FileSystem.list(runsDirectory).filter { RunID.isValid($0) && FileSystem.isDirectory(runDirectory($0)) }
            .sorted(by: RunID.isOlder)
    }

    /// Every run but `id`, newest first: id and directory.
    public func otherRuns(than id: String) -> [(id: String, directory: String)] {
        runIDs().filter { $0 != id }.reversed().map { ($0, runDirectory($0)) }
    }

    /// The newest run id, if any.
    public func latestRunID() -> String? { runIDs().last }

    /// Creates a new run: an id for `now` that no existing run uses, and its directory, locked by this
    /// process from the moment its name appears.
    ///
    /// The directory is made under a hidden name (`runs/.new-PID-N`, which no listing shows), its `.lock`
    /// taken there, and only then renamed to the run id: another command that defaults to the newest run
    /// (`ferry transform`, `ferry load`) finds it locked, never a run it could take before its creator
    /// locked it. The rename claims the id: it fails when a run of that name exists (every run directory
    /// made this way holds its `.lock` before it has its name, so it is never empty, and rename(2) replaces
    /// only an empty directory), and the next suffix is tried, so two processes starting in the same
    /// second never share a run. A process killed before the rename leaves its hidden directory behind,
    /// holding nothing but the lock file; the next run created removes it (`removeAbandonedNewRuns`).
    ///
    /// - Returns: the id and the run's lock, which the caller holds while it works on the run.
    /// - Throws: a `Diagnostic` when the directory cannot be created or renamed.
    public func createRun(now: Date = Date()) throws(Diagnostic) -> (id: String, lock: FileLock) {
        try FileSystem.createDirectory(runsDirectory)
        removeAbandonedNewRuns()
        var staging = ""
        var attempt = 0
        repeat {
            staging = Self.join(runsDirectory, ".new-\(getpid())-\(attempt)")
            attempt += 1
            if mkdir(staging, 0o755) == 0 { break }
            guard errno == EEXIST else {
                throw .error("cannot create directory: \(String(cString: strerror(errno)))", file: staging)
            }
        } while true
        let lock: FileLock
        do {
            lock = try FileLock(path: Self.join(staging, ".lock"), purpose: "the new run")
        } catch {
            rmdir(staging)
            throw error
        }
        let base = RunID.make(now)
        var id = base
        var suffix = 1
        while rename(staging, runDirectory(id)) != 0 {
            guard errno == EEXIST || errno == ENOTEMPTY || errno == ENOTDIR else {
                let reason = String(cString: strerror(errno))
                lock.release()
                try? FileSystem.remove(Self.join(staging, ".lock"))
                rmdir(staging)
                throw .error("cannot rename \(staging) to a run: \(reason)", file: runDirectory(id))
            }
            id = "\(base)-\(suffix)"
            suffix += 1
        }
        lock.moved(to: Self.join(runDirectory(id), ".lock"))
        FileSystem.syncDirectory(runsDirectory)
        return (id, lock)
    }

    /// Removes the hidden `runs/.new-*` directories of processes killed before they renamed them to a run:
    /// those older than a minute whose `.lock` no process holds (read from `/proc/locks`, without taking
    /// the lock; where the system does not list locks, nothing is removed). A directory that holds anything
    /// but its lock file is left alone.
    func removeAbandonedNewRuns(now: Date = Date()) {
        for name in FileSystem.list(runsDirectory) where name.hasPrefix(".new-") {
            let directory = Self.join(runsDirectory, name)
            let lockPath = Self.join(directory, ".lock")
            var info = stat()
            guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR,
                now.timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > 60,
                let holders = FileLock.holders(of: lockPath), holders.isEmpty,
                FileSystem.list(directory).allSatisfy({ $0 == ".lock" })
            else { continue }
            unlink(lockPath)
            rmdir(directory)
        }
    }

    /// The run to work on: `requested` (which must exist) or the newest.
    ///
    /// - Throws: a `Diagnostic` when the run does not exist or there is none.
    public func resolveRun(_ requested: String?) throws(Diagnostic) -> String {
        if let requested {
            guard RunID.isValid(requested), FileSystem.isDirectory(runDirectory(requested)) else {
                throw .error(
                    "no run '\(requested)' in this workspace; `ls \(runsDirectory)` lists the runs", file: runsDirectory)
            }
            return requested
        }
        guard let latest = latestRunID() else {
            throw .error("this workspace has no runs yet; start one with `ferry extract` or `ferry run`", file: runsDirectory)
        }
        return latest
    }

    /// Takes the run's lock, so that two processes never work on one run at the same time.
    ///
    /// - Throws: a `Diagnostic` when another process holds it.
    public func lockRun(_ id: String) throws(Diagnostic) -> FileLock {
        try FileLock(path: Self.join(runDirectory(id), ".lock"), purpose: "run \(id)")
    }

    /// Takes the workspace's load lock, so that two loads (of any runs) never send at the same time: the
    /// look-back puts the same bill into consecutive runs, and a load decides what to send from the
    /// receipts the other runs have when it starts.
    ///
    /// - Throws: a `Diagnostic` when another process holds it.
    public func lockLoading() throws(Diagnostic) -> FileLock {
        try FileLock(path: Self.join(root, ".load.lock"), purpose: "loading from this workspace")
    }

    /// Takes the workspace's extract lock, so that two extracts (of any runs) never send requests at the
    /// same time: each has its own token bucket, so together they would exceed `source.requests_per_second`,
    /// and both would write the cursor in `state.json`.
    ///
    /// - Throws: a `Diagnostic` when another process holds it.
    public func lockExtracting() throws(Diagnostic) -> FileLock {
        try FileLock(path: Self.join(root, ".extract.lock"), purpose: "extracting into this workspace")
    }

    /// Joins path components with `/`.
    public static func join(_ base: String, _ component: String) -> String {
        if base.isEmpty || base == "." { return component }
        return base.hasSuffix("/") ? base + component : base + "/" + component
    }
}

/// Run ids: sortable UTC timestamps such as `20261129T081530Z`, with `-N` added on a collision.
public enum RunID {
    /// The id for an instant.
    public static func make(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ n: Int?, _ width: Int) -> String {
            let s = String(n ?? 0)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2)
            + pad(c.second, 2) + "Z"
    }

    /// Whether run `a` was created before run `b`: by timestamp, then by collision suffix as a number
    /// (`…Z-2` before `…Z-10`, which sort the other way as text).
    public static func isOlder(_ a: String, _ b: String) -> Bool {
        func parts(_ id: String) -> (Substring, Int) {
            let split = id.split(separator: "-", maxSplits: 1)
            return (split[0], split.count == 2 ? Int(split[1]) ?? 0 : 0)
        }
        let (pa, pb) = (parts(a), parts(b))
        return pa.0 != pb.0 ? pa.0 < pb.0 : pa.1 < pb.1
    }

    /// Whether `text` has the shape of a run id.
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "-", maxSplits: 1)
        guard let stamp = parts.first, stamp.count == 16 else { return false }
        let chars = Array(stamp)
        for (i, ch) in chars.enumerated() {
            switch i {
            case 8: if ch != "T" { return false }
            case 15: if ch != "Z" { return false }
            default: if !ch.isASCII || !ch.isNumber { return false }
            }
        }
        if parts.count == 2 { return Int(parts[1]) != nil }
        return true
    }
}

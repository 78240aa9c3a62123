import FerryCore
import FerryKingdee
import FerryPipeline
import FerryTestSupport
import FerryWDT
import Foundation
import KingdeeSandbox
import Testing
import WDTSandbox

/// The secrets rule, swept: no secret, signature or session id reaches anything Ferry writes or prints.
///
/// Whole pipelines run as real `ferry` processes against both sandboxes over loopback, with distinctive
/// secrets, in every Kingdee authentication mode (signature, appsecret, password) and through the failures
/// that carry server text back: a wrong WDT secret on both gateways, wrong Kingdee secrets and passwords, a
/// 账套 id Kingdee does not know, data errors, duplicates, HTTP 500 with a body, a lost answer and the
/// in-doubt check, a refusal of the whole call after a commit, session loss, the call limit, credentials
/// revoked mid-load, WDT's frequency limit, 429 and 500, servers whose error pages repeat the request
/// (`echoRequests`), and proxies with a password that refuse connections or that Ferry cannot use. One
/// workspace has its secrets written into ferry.yaml instead of the environment; `ferry init`, `validate`
/// and `status` (text, `--json --documents`, `--html`) run too. Then every file under the workspaces
/// (run.json, report.html, journals, receipts, error files, pages, manifests, state, locks) and everything
/// printed is searched for each secret, for every session id the Kingdee sandbox issued and for every
/// signature the sandboxes received: as written, in base64 (standard and URL-safe, at each of the three
/// byte alignments), and in the text with every `%XX` decoded and with JSON's escapes undone.
@Suite(.serialized) struct SecretSweepTests {
    /// The secrets, each distinctive and with characters that percent-encoding, JSON and base64 change.
    enum Secret {
        static let wdt = "WDTSECRET-7f3a+q/w=z9"
        static let wdtWrong = "WDTWRONG-41c8+k/p=x2"
        static let kingdee = "KDSECRET-b52e+m/n=r7"
        static let kingdeeWrong = "KDWRONG-93d1+t/v=s4"
        static let password = "KDPASS-c07f+h/j=u6"
        static let passwordWrong = "KDPASSWRONG-1e9b+g/f=y3"
        static let proxyPassword = "PROXYPASS-5a2d+c/b=e8"
    }

    @Test func noSecretSignatureOrSessionIDReachesAFileOrTheOutput() async throws {
        let sweep = Sweep(root: TestSupport.makeTemporaryDirectory("ferry-secret-sweep"))

        // `ferry init` with every secret in the environment.
        var initEnvironment = ProcessInfo.processInfo.environment
        initEnvironment.merge(Sweep.secretEnvironment) { $1 }
        _ = try await sweep.ferry("init", ["init", sweep.root + "/init"], initEnvironment)
        _ = try await sweep.ferry("validate init", ["validate", "--workspace", sweep.root + "/init"], initEnvironment)

        // One pair whose first run meets every fault once; the later runs meet duplicates, session loss and
        // the call limit.
        var options = Sweep.options()
        options.wdtFaults = WDTSandboxFaults(
            frequencyLimit: .once(at: 2), serverError: .once(at: 3), duplicateRows: .every(3),
            tooManyRequests: .once(at: 4), banSeconds: 1)
        options.kingdeeFaults.http500At = [2]
        options.kingdeeFaults.dropAfterCommitAt = [3]
        options.kingdeeFaults.timeoutAfterCommitAt = [5]
        options.kingdeeFaults.sessionLossEvery = 6
        options.kingdeeFaults.callLimitEvery = 9
        options.kingdeeFaults.wholeCallErrorsAtDIndexZero = true
        let pair = try await sweep.start(options)

        var byAuth: [String: (dir: String, environment: [String: String])] = [:]
        for auth in ["signature", "appsecret", "password"] {
            let (dir, environment) = try sweep.workspace("run-\(auth)", pair: pair, auth: auth)
            byAuth[auth] = (dir, environment)
            _ = try await sweep.ferry("run \(auth)", ["run", "--workspace", dir] + sweep.period(pair) + Sweep.trace, environment)
            try await sweep.inspect(dir, label: auth, environment)
            _ = try await sweep.ferry(
                "load --retry-failed \(auth)", ["load", "--workspace", dir, "--retry-failed"] + Sweep.trace, environment)
        }
        #expect(pair.kingdee.store.faultsInjected.keys.sorted() == [
            "call_limit", "http500", "lost_response", "session_loss", "timeout_after_commit",
        ])
        #expect(pair.wdt.counters.faultsInjected >= 3)

        // Wrong Kingdee credentials and a 账套 id Kingdee does not know, on documents that failed.
        for (auth, variable, wrong) in [
            ("signature", "KINGDEE_APP_SECRET", Secret.kingdeeWrong), ("appsecret", "KINGDEE_APP_SECRET", Secret.kingdeeWrong),
            ("password", "KINGDEE_PASSWORD", Secret.passwordWrong), ("signature", "KINGDEE_ACCT_ID", "no-such-acct"),
        ] {
            let (dir, environment) = try #require(byAuth[auth])
            var changed = environment
            changed[variable] = wrong
            let load = try await sweep.ferry(
                "load \(auth) with a wrong \(variable)", ["load", "--workspace", dir, "--retry-failed"] + Sweep.trace, changed)
            #expect(load.status != 0, "\(load.stderr)")
        }

        // A wrong WDT secret, on both gateways (the open API's extract right first).
        let (signatureDir, signatureEnvironment) = try #require(byAuth["signature"])
        var wrongWDT = signatureEnvironment
        wrongWDT["WDT_APP_SECRET"] = Secret.wdtWrong
        let wrongQimen = try await sweep.ferry(
            "extract with a wrong WDT secret", ["extract", "--workspace", signatureDir] + sweep.period(pair) + Sweep.trace, wrongWDT)
        #expect(wrongQimen.status != 0 && wrongQimen.stderr.contains("source.app_secret"), "\(wrongQimen.stderr)")
        let (openAPIDir, openAPIEnvironment) = try sweep.workspace("openapi", pair: pair, auth: "password", transport: .openAPI)
        _ = try await sweep.ferry("run open API", ["run", "--workspace", openAPIDir] + sweep.period(pair) + Sweep.trace, openAPIEnvironment)
        wrongWDT = openAPIEnvironment
        wrongWDT["WDT_APP_SECRET"] = Secret.wdtWrong
        let wrongOpenAPI = try await sweep.ferry(
            "extract (open API) with a wrong WDT secret", ["extract", "--workspace", openAPIDir] + sweep.period(pair) + Sweep.trace,
            wrongWDT)
        #expect(wrongOpenAPI.status != 0, "\(wrongOpenAPI.stderr)")

        // Secrets written into ferry.yaml itself instead of read from the environment.
        let (literalDir, literalEnvironment) = try sweep.workspace("literal", pair: pair, auth: "password", literalSecrets: true)
        _ = try await sweep.ferry("run literal", ["run", "--workspace", literalDir] + sweep.period(pair) + Sweep.trace, literalEnvironment)
        try await sweep.inspect(literalDir, label: "literal", literalEnvironment)

        // Proxies with a password: one that refuses connections, and ones Ferry cannot use.
        let (proxyDir, proxyEnvironment) = try sweep.workspace(
            "proxy", pair: pair, auth: "password",
            edits: [("retry_delay_seconds: 0.2", "retry_delay_seconds: 0.05\n  max_retries: 1")])
        let prepared = try await sweep.ferry(
            "extract for the proxy", ["extract", "--workspace", proxyDir] + sweep.period(pair), proxyEnvironment)
        let proxyRun = String(prepared.stdout.prefix { $0 != "\n" })
        _ = try await sweep.ferry("transform for the proxy", ["transform", "--workspace", proxyDir, "--run", proxyRun], proxyEnvironment)
        let userInfo = "ferry:" + Sweep.percentEncoded(Secret.proxyPassword)
        for proxy in ["http://\(userInfo)@127.0.0.1:1", "socks5://\(userInfo)@127.0.0.1:1", "https://\(userInfo)@127.0.0.1:1"] {
            var environment = proxyEnvironment
            environment["http_proxy"] = proxy
            environment["no_proxy"] = nil
            environment["NO_PROXY"] = nil
            let extract = try await sweep.ferry(
                "extract through \(proxy.prefix(while: { $0 != ":" }))",
                ["extract", "--workspace", proxyDir] + sweep.period(pair) + Sweep.trace, environment)
            #expect(extract.status != 0, "\(extract.stderr)")
            let load = try await sweep.ferry(
                "load through \(proxy.prefix(while: { $0 != ":" }))", ["load", "--workspace", proxyDir, "--run", proxyRun] + Sweep.trace,
                environment)
            #expect(load.status != 0 && !load.stderr.contains("no transform/ directory"), "\(load.stderr)")
        }
        try await sweep.inspect(proxyDir, label: "proxy", proxyEnvironment)

        // Servers whose error pages repeat the request: the session, the signatures, the password or secret.
        var echoing = Sweep.options()
        echoing.wdtFaults.echoRequests = true
        echoing.kingdeeFaults.echoRequests = true
        echoing.kingdeeFaults.http500Every = 3
        let echo = try await sweep.start(echoing)
        for auth in ["signature", "password"] {
            let (dir, environment) = try sweep.workspace("echo-\(auth)", pair: echo, auth: auth)
            _ = try await sweep.ferry("run echo \(auth)", ["run", "--workspace", dir] + sweep.period(echo) + Sweep.trace, environment)
            try await sweep.inspect(dir, label: "echo \(auth)", environment)
        }
        for (auth, variable, wrong) in [
            ("password", "KINGDEE_PASSWORD", Secret.passwordWrong), ("appsecret", "KINGDEE_APP_SECRET", Secret.kingdeeWrong),
        ] {
            var (dir, environment) = try sweep.workspace("echo-wrong-\(auth)", pair: echo, auth: auth)
            environment[variable] = wrong
            _ = try await sweep.ferry(
                "run echo \(auth) with a wrong \(variable)", ["run", "--workspace", dir] + sweep.period(echo) + Sweep.trace, environment)
            environment["WDT_APP_SECRET"] = Secret.wdtWrong
            _ = try await sweep.ferry(
                "extract echo with a wrong WDT secret", ["extract", "--workspace", dir] + sweep.period(echo) + Sweep.trace, environment)
            try await sweep.inspect(dir, label: "echo wrong \(auth)", environment)
        }
        #expect(echo.kingdee.store.faultsInjected["http500"] ?? 0 >= 2 && echo.kingdee.store.faultsInjected["echoed_request"] == 2)
        #expect(echo.wdt.counters.signatureFailures >= 1)

        // Credentials revoked at the second save, in each mode: the load stops, then a later load is refused.
        for auth in ["signature", "appsecret", "password"] {
            var revoking = Sweep.options()
            revoking.kingdeeFaults.revokeCredentialsAtSave = 2
            let revoked = try await sweep.start(revoking)
            let (dir, environment) = try sweep.workspace("revoked-\(auth)", pair: revoked, auth: auth)
            _ = try await sweep.ferry("run revoked \(auth)", ["run", "--workspace", dir] + sweep.period(revoked) + Sweep.trace, environment)
            let again = try await sweep.ferry("load revoked \(auth)", ["load", "--workspace", dir] + Sweep.trace, environment)
            #expect(again.status != 0, "\(again.stderr)")
            #expect(revoked.kingdee.store.faultsInjected["credentials_revoked"] == 1)
            try await sweep.inspect(dir, label: "revoked \(auth)", environment)
        }

        // The sweep is not vacuous: sessions were issued, signatures and signs received.
        let sessions = sweep.pairs.flatMap { $0.kingdee.store.issuedSessionIDs }
        let signatures = sweep.pairs.flatMap { $0.kingdee.store.receivedSignatures }
        let signs = sweep.pairs.flatMap { $0.wdt.receivedSigns }
        #expect(sessions.count >= 3 && signatures.count >= 4 && signs.count >= 10)
        for pair in sweep.pairs { await pair.stop() }

        let findings = sweep.findings(sessionIDs: sessions, signatures: signatures + signs)
        let shown = findings.prefix(25).joined(separator: "\n") + (findings.count > 25 ? "\n…" : "")
        #expect(findings.count == 0, "\(findings.count) file(s) or output(s) with a secret (file:line: what: the line):\n\(shown)")
    }
}

/// The commands run, what they printed, the sandboxes they ran against, and the search for leaks.
final class Sweep: @unchecked Sendable {
    /// Where every workspace of the sweep lives (all of it is searched).
    let root: String
    /// Every command's output: a label and the text.
    private(set) var outputs: [(label: String, text: String)] = []
    /// Files that hold a secret on purpose (a ferry.yaml with secrets written into it).
    private(set) var excluded: Set<String> = []
    /// Every sandbox pair started.
    private(set) var pairs: [SandboxPair] = []

    init(root: String) { self.root = root }

    /// Pipeline commands log everything they can.
    static let trace = ["--log-level", "trace"]

    /// The variables ferry.yaml reads for its secrets, set to the sweep's secrets.
    static let secretEnvironment = [
        "WDT_APP_SECRET": SecretSweepTests.Secret.wdt, "KINGDEE_APP_SECRET": SecretSweepTests.Secret.kingdee,
        "KINGDEE_PASSWORD": SecretSweepTests.Secret.password,
    ]

    /// A small data set (a few batches), the sweep's secrets, a material Kingdee does not know (data errors).
    static func options() -> SandboxPair.Options {
        var options = SandboxPair.Options()
        options.orders = 40
        options.periodDays = 3
        options.wdtCredentials.appSecret = SecretSweepTests.Secret.wdt
        options.kingdeeAppSecret = SecretSweepTests.Secret.kingdee
        options.kingdeePassword = SecretSweepTests.Secret.password
        return options
    }

    /// Starts a sandbox pair and keeps it for the search.
    func start(_ options: SandboxPair.Options) async throws -> SandboxPair {
        let pair = try await SandboxPair.start(options: options)
        pairs.append(pair)
        return pair
    }

    /// `--since … --until …` over the pair's whole period.
    func period(_ pair: SandboxPair) -> [String] {
        ["--since", pair.period.start.description, "--until", pair.period.end.description]
    }

    /// A demo workspace at `<root>/<name>` pointed at `pair` with `auth`, four documents a batch, two batches
    /// in flight; with `literalSecrets`, the secrets are written into its ferry.yaml instead of read from
    /// the environment.
    func workspace(
        _ name: String, pair: SandboxPair, auth: String, transport: WDTTransport = .qimen, literalSecrets: Bool = false,
        edits: [(String, String)] = []
    ) throws -> (String, [String: String]) {
        let dir = root + "/" + name
        try Demo.prepareDirectory(dir)
        var config = try FileSystem.readText(dir + "/ferry.yaml")
        var environment = ProcessInfo.processInfo.environment
        environment.merge(pair.environment(transport: transport)) { $1 }
        var replacements = [
            ("auth: signature", "auth: \(auth)"), ("batch_size: 50", "batch_size: 4"), ("concurrency: 4", "concurrency: 2"),
        ] + edits
        if transport == .openAPI { replacements.append(("api: wdt-qimen", "api: wdt-openapi")) }
        if literalSecrets {
            for (variable, value) in Self.secretEnvironment {
                replacements.append(("${\(variable)}", value))
                environment[variable] = nil
            }
            excluded.insert(dir + "/ferry.yaml")
        }
        for (old, new) in replacements {
            precondition(config.contains(old), "ferry.yaml has no '\(old)'")
            config = config.replacingOccurrences(of: old, with: new)
        }
        try FileSystem.writeAtomically(config, to: dir + "/ferry.yaml")
        return (dir, environment)
    }

    /// Runs `ferry` and keeps what it printed.
    func ferry(_ label: String, _ arguments: [String], _ environment: [String: String]) async throws -> TestSupport.ProcessResult {
        let result = try await TestSupport.runFerryAsync(arguments, environment: environment)
        outputs.append(("ferry \(label) (stdout)", result.stdout))
        outputs.append(("ferry \(label) (stderr)", result.stderr))
        return result
    }

    /// Everything that reads a run: status as text, JSON with documents, the report again, validate.
    func inspect(_ dir: String, label: String, _ environment: [String: String]) async throws {
        _ = try await ferry("status \(label)", ["status", "--workspace", dir], environment)
        _ = try await ferry("status --json \(label)", ["status", "--workspace", dir, "--json", "--documents"], environment)
        _ = try await ferry("status --html \(label)", ["status", "--workspace", dir, "--html"], environment)
        _ = try await ferry("validate \(label)", ["validate", "--workspace", dir], environment)
    }

    // MARK: - The search

    /// One thing that must not appear, in one of its spellings.
    struct Needle {
        var label: String
        var bytes: [UInt8]
    }

    /// Every leak: `file:line: what (the line)` for the first offending line of each file and output.
    func findings(sessionIDs: [String], signatures: [String]) -> [String] {
        var needles: [Needle] = []
        let secrets = [
            ("the WDT app secret", SecretSweepTests.Secret.wdt), ("a wrong WDT app secret", SecretSweepTests.Secret.wdtWrong),
            ("the Kingdee app secret", SecretSweepTests.Secret.kingdee),
            ("a wrong Kingdee app secret", SecretSweepTests.Secret.kingdeeWrong),
            ("the Kingdee password", SecretSweepTests.Secret.password),
            ("a wrong Kingdee password", SecretSweepTests.Secret.passwordWrong),
            ("the proxy password", SecretSweepTests.Secret.proxyPassword),
            ("the signature key decoded from the app id", KingdeeSignature.splitAppID(KingdeeSandboxConfiguration().appID).clientSecret),
        ]
        for (label, value) in secrets { needles += Self.spellings(of: value, label: label) }
        for id in Set(sessionIDs) { needles += Self.spellings(of: id, label: "a Kingdee session id") }
        for signature in Set(signatures) { needles += Self.spellings(of: signature, label: "a signature the sandboxes received") }
        let index = NeedleIndex(needles)

        /// `line: what: the line as written` for the first hit in `bytes`: as written, with every `%XX` decoded
        /// (however an encoder chose what to escape), or JSON-unescaped (decoding keeps the line numbers).
        func firstHit(_ bytes: [UInt8]) -> String? {
            let views = [(bytes, ""), (Self.percentDecoded(bytes), ", percent-encoded"), (Self.jsonUnescaped(bytes), ", JSON-escaped")]
            for (view, how) in views {
                guard let (line, label) = index.firstHit(in: view) else { continue }
                let text = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropFirst(line - 1).first ?? []
                return "\(line): \(label)\(how): \(String(decoding: text, as: UTF8.self).prefix(240))"
            }
            return nil
        }
        var found: [String] = []
        for path in Self.files(under: root) where !excluded.contains(path) {
            guard let data = FileManager.default.contents(atPath: path), let hit = firstHit([UInt8](data)) else { continue }
            found.append(path + ":" + hit)
        }
        for (label, text) in outputs {
            if let hit = firstHit(Array(text.utf8)) { found.append(label + ":" + hit) }
        }
        return found
    }

    /// `value` as written and in base64, standard and URL-safe, at each of the three byte alignments (the
    /// part of the encoding that does not depend on the bytes around it). Percent-encoding and JSON escapes
    /// are undone in the text searched instead (`percentDecoded`, `jsonUnescaped`).
    static func spellings(of value: String, label: String) -> [Needle] {
        var forms: [(String, String)] = [(value, label)]
        let bytes = Array(value.utf8)
        for offset in 0..<3 {
            let padded = [UInt8](repeating: 0, count: offset) + bytes
            let encoded = Array(Data(padded).base64EncodedString().utf8)
            // Only whole groups of three bytes of the value itself: the rest depends on its neighbours.
            let end = padded.count / 3 * 4
            let start = offset == 0 ? 0 : 4
            guard end - start >= 8 else { continue }
            let base64 = String(decoding: encoded[start..<end], as: UTF8.self)
            forms.append((base64, label + ", in base64"))
            forms.append((base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"), label + ", in base64"))
        }
        var seen: Set<String> = []
        return forms.filter { seen.insert($0.0).inserted && $0.0.utf8.count >= 8 }.map { Needle(label: $0.1, bytes: Array($0.0.utf8)) }
    }

    /// `bytes` with every `%XX` (either case) replaced by the byte it stands for.
    static func percentDecoded(_ bytes: [UInt8]) -> [UInt8] {
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let high = hex(bytes[i + 1]), let low = hex(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// `bytes` with JSON's escapes of printable ASCII undone (`\/`, `\"`, `\\`, `\u002B`, …).
    static func jsonUnescaped(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                let next = bytes[i + 1]
                if next == UInt8(ascii: "/") || next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") {
                    out.append(next)
                    i += 2
                    continue
                }
                if next == UInt8(ascii: "u"), i + 5 < bytes.count,
                    let code = UInt32(String(decoding: bytes[(i + 2)...(i + 5)], as: UTF8.self), radix: 16), code >= 0x20, code < 0x7F
                {
                    out.append(UInt8(code))
                    i += 6
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return out
    }

    /// `text` percent-encoded as a URL's user information carries it (all but `A–Z a–z 0–9 - . _ ~`).
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "-._~".utf8.contains(byte)
            if unreserved { out.unicodeScalars.append(Unicode.Scalar(byte)) } else { out += String(format: "%%%02X", byte) }
        }
        return out
    }

    /// Every regular file under `directory`, hidden ones included.
    static func files(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { paths.append(path) }
        }
        return paths.sorted()
    }
}

/// Needles by their first four bytes, to search many at once in one pass over a file.
struct NeedleIndex {
    private var byPrefix: [UInt32: [Sweep.Needle]] = [:]

    init(_ needles: [Sweep.Needle]) {
        for needle in needles { byPrefix[Self.key(needle.bytes, 0), default: []].append(needle) }
    }

    static func key(_ bytes: [UInt8], _ i: Int) -> UInt32 {
        UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }

    /// The first needle found in `bytes`: its line (1-based) and what it is.
    func firstHit(in bytes: [UInt8]) -> (line: Int, label: String)? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) {
            guard let candidates = byPrefix[Self.key(bytes, i)] else { continue }
            for needle in candidates where i + needle.bytes.count <= bytes.count {
                guard bytes[i..<(i + needle.bytes.count)].elementsEqual(needle.bytes) else { continue }
                return (bytes[..<i].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }, needle.label)
            }
        }
        return nil
    }
}

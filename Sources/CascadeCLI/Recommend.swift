import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeRecall
import CascadeStore
import Foundation

struct Recommend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recommend items for one user, or for every user listed in a CSV file.",
        discussion: """
            With --users-from, the file's `user` column (or `user_id`) lists the users; every distinct \
            user gets up to --n items, written as `user,item,rank` (rank 1 = best) to --out or standard \
            output. A user the store has never seen gets the cold-start recommendations.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "One user id.")
    var user: String?

    @Option(name: .customLong("now"), help: "The request time: Unix seconds or an ISO 8601 date (default: the time of the store's newest event, so pages do not change with the day they are computed).")
    var nowOption: String?

    @Option(help: "A CSV file with a `user` column: recommend for each distinct user in it.")
    var usersFrom: String?

    @Option(help: "Items per user (1-1000).")
    var n: Int = 10

    @Option(help: "Where to write the CSV (default: standard output).")
    var out: String?

    @Option(help: "Recommend from this recall channel alone (e.g. itemcf, popular), to judge it on its own.")
    var channel: String?

    @Flag(help: "With --user: print each channel's candidate count and time.")
    var debug = false

    @OptionGroup var settings: SettingsOptions

    @Option(help: funnelHelp("rerank.mode"))
    var rerank: String?

    @Option(help: funnelHelp("rerank.theta"))
    var rerankTheta: Float?

    @Option(help: funnelHelp("rerank.lambda"))
    var rerankLambda: Float?

    @Option(help: funnelHelp("rerank.window"))
    var rerankWindow: Int?

    func validate() throws {
        guard (user == nil) != (usersFrom == nil) else { throw ValidationError("give exactly one of --user and --users-from") }
        guard (1...1000).contains(n) else { throw ValidationError("--n must be between 1 and 1000, got \(n)") }
        do { _ = try funnelConfig() } catch let e as CascadeError { throw ValidationError(e.description) }
    }

    /// The deployment's funnel (config file, CASCADE_* variables, --set), then the flags given.
    func funnelConfig() throws -> FunnelConfig {
        var c = try settings.apply(Deployment(), settings: Deployment.settings).funnel
        let s = FunnelConfig.settings
        try assign(&c, s, flag: "rerank", key: "rerank.mode", rerank)
        try assign(&c, s, flag: "rerank-theta", key: "rerank.theta", rerankTheta)
        try assign(&c, s, flag: "rerank-lambda", key: "rerank.lambda", rerankLambda)
        try assign(&c, s, flag: "rerank-window", key: "rerank.window", rerankWindow)
        return c
    }

    func run() throws {
        try runReporting {
            let s = try store.openForReading()
            var config = try funnelConfig()
            if let channel {
                let q = try config.restricted(to: [channel]).quotas[0]
                if try s.activeArtifact(name: FunnelConfig.artifactName(channel: channel)) == nil {
                    throw CascadeError.notFound("channel \(channel) is not trained in \(store.display): train it with `cascade train --channels ...,\(channel)`")
                }
                config.quotas = [ChannelQuota(channel: channel, quota: max(q.quota, n), weight: 1)]
            } else {
                // Channels trained only on request (BPR, two-tower) are served once they exist.
                config = try config.includingTrainedChannels(store: s)
            }
            let rec = try Recommender.load(store: s, config: config)
            // One "now" for both paths: --now, else the newest event's time.
            let now = try nowOption.map { try parseTime($0, option: "--now") } ?? Recommender.referenceTime(store: s)
            if let given = user {
                let user = Identifier.canonical(given)
                let result = try rec.run(user: user, n: n, store: s, now: now)
                let recs = result.recommendations
                if rec.users.index(of: user) == nil { note("user \(user) is unknown: cold-start recommendations") }
                if debug {
                    for t in result.channels { print("# channel \(t.channel): \(t.candidates) candidates in \(String(format: "%.0f", t.microseconds)) us") }
                    print("# merged \(result.merged) candidates")
                    for st in result.stages {
                        print("# stage \(st.stage): \(st.candidatesIn) -> \(st.candidatesOut) candidates in \(Int(st.microseconds)) us")
                    }
                    for d in result.degraded { print("# stage \(d) skipped (failed)") }
                }
                for (r, x) in recs.enumerated() {
                    print("\(r + 1)\t\(rec.items.external(x.item))\t\(String(format: "%.4f", x.score))\t\(x.channels.joined(separator: ","))")
                }
                return
            }
            if let out { try checkWritableFile(out) }
            let users = try readUserColumn(usersFrom!)
            let log = try s.loadEventLog()
            let bar = ProgressBar("recommend")
            bar.stage("\(users.count) users")
            let lists = rec.recommendAll(users, log: log, n: n, now: now)
            bar.finish()
            var text = "user,item,rank\n"
            for (u, list) in zip(users, lists) {
                for (r, x) in list.enumerated() { text += "\(csvField(u)),\(csvField(rec.items.external(x.item))),\(r + 1)\n" }
            }
            if let out {
                try checkWritableFile(out)
                do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                    throw CascadeError.invalid("cannot write \(out): \(String(cString: strerror(errno)))")
                }
                let cold = users.filter { rec.users.index(of: $0) == nil }.count
                note("wrote \(lists.map(\.count).reduce(0, +)) recommendations for \(users.count) users (\(cold) cold-start) to \(out)")
            } else {
                print(text, terminator: "")
            }
        }
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// Splits one CSV line into fields (RFC 4180 quoting, no embedded newlines).
func csvFields(_ line: Substring) -> [String] {
    var fields: [String] = []
    var cur = ""
    var quoted = false
    var it = line.makeIterator()
    while let c = it.next() {
        if quoted {
            if c == "\"" {
                if let n = it.next() {
                    if n == "\"" { cur.append("\"") } else { quoted = false; if n == "," { fields.append(cur); cur = "" } else { cur.append(n) } }
                } else { quoted = false }
            } else { cur.append(c) }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            fields.append(cur); cur = ""
        } else if c != "\r" {
            cur.append(c)
        }
    }
    fields.append(cur)
    return fields
}

/// The distinct values of the `user` (or `user_id`) column, in order of first appearance.
func readUserColumn(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CascadeError.badInput(file: path, line: 0, reason: "cannot read the file")
    }
    let text = String(decoding: data, as: UTF8.self)
    // "\r\n" is one Character in Swift, so split on any newline rather than on "\n".
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)[...]
    guard let header = lines.popFirst(), !header.trimmingCharacters(in: .whitespaces).isEmpty else {
        throw CascadeError.badInput(file: path, line: 1, reason: "empty file: expected a header with a `user` column")
    }
    let names = csvFields(header).map { $0.split(separator: ":").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "" }
    guard let col = names.firstIndex(of: "user") ?? names.firstIndex(of: "user_id") else {
        throw CascadeError.badInput(file: path, line: 1, reason: "no `user` column in header (\(names.joined(separator: ",")))")
    }
    var seen = Set<String>()
    var out: [String] = []
    for (n, line) in lines.enumerated() where !line.isEmpty && line != "\r" {
        let f = csvFields(line)
        guard col < f.count, !f[col].isEmpty else {
            throw CascadeError.badInput(file: path, line: n + 2, reason: "missing user value")
        }
        let id = Identifier.canonical(f[col])
        if seen.insert(id).inserted { out.append(id) }
    }
    return out
}

/// Refuses an output path that is a folder or sits in a missing folder, before any work is done.
func checkWritableFile(_ path: String) throws {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw CascadeError.invalid("cannot write \(path): it is a folder; give a file name, e.g. \((path as NSString).appendingPathComponent("recs.csv"))")
    }
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
        throw CascadeError.invalid("cannot write \(path): folder \(dir) does not exist")
    }
}

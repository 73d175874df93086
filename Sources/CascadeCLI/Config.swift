import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeServer
import Foundation

/// Everything a deployment configures: where the server listens, its limits, and the funnel it
/// serves and trains. `cascade serve --config` and `cascade train --config` read the same file.
struct Deployment {
    var host = "127.0.0.1"
    var port = 8080
    /// nil: one per core on SQLite, 4 per core on PostgreSQL.
    var workers: Int?
    var server = ServerConfig()
    var funnel: FunnelConfig {
        get { server.funnel }
        set { server.funnel = newValue }
    }

    /// The server's keys (`server.*`), then the funnel's (``FunnelConfig/settings``).
    static var settings: [Setting<Deployment>] {
        [
            .stringList("server.host", "Address to listen on (serve).", \.hostList, "an address") { $0.count == 1 },
            .int("server.port", "Port to listen on (serve).", \.port, 1...65_535),
            .optionalInt("server.workers", "Threads running the blocking part of requests (none: one per core on SQLite, 4 per core on PostgreSQL).",
                         \.workers, 1...1_024),
            .double("server.reloadInterval", "Seconds between checks for new model versions (0: never).", \.server.reloadInterval, ">= 0") { $0 >= 0 },
            .int("server.maxN", "Largest n a recommendation request may ask for.", \.server.maxN, 1...100_000),
            .int("server.maxBatch", "Most events in one feedback batch.", \.server.maxBatch, 1...1_000_000),
            .int("server.pageLogQueue", "Served pages queued for the page log (0: no page log; past it pages are dropped from the log, counted).",
                 \.server.pageLogQueue, 0...10_000_000),
            .int("server.maxBodyBytes", "Largest request body, bytes.", \.server.maxBodyBytes, 1_024...(1 << 30)),
        ] + FunnelConfig.settings.map { $0.scoped("", \.funnel) }
    }

    /// The server's defaults: recall channels in turn (a loaded server keeps both cores busy
    /// with requests), everything else as declared.
    static var served: Deployment {
        var d = Deployment()
        d.funnel.parallelRecall = false
        return d
    }

    var hostList: [String] {
        get { [host] }
        set { host = newValue.first ?? host }
    }
}

/// A serve flag's help: the doc of its declared deployment setting, the server's default, its key.
func deploymentHelp(_ key: String) -> ArgumentHelp {
    flagHelp(Deployment.settings, key, defaults: Deployment.served)
}

/// A train or eval flag's help: the doc of its declared funnel setting, its default, its key.
func funnelHelp(_ key: String) -> ArgumentHelp {
    flagHelp(FunnelConfig.settings, key, defaults: FunnelConfig())
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Write or check a config file (every setting of the server and the funnel).",
        discussion: """
            cascade config init > cascade.toml      every key with its doc, allowed values and default
            cascade serve --db my.sqlite --config cascade.toml
            Later sources override earlier ones: defaults, the file, CASCADE_<KEY> environment \
            variables (rank.epochs is CASCADE_RANK_EPOCHS), --set key=value, then a command's flags.
            """,
        subcommands: [Init.self, Check.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a config file with every key at its default, with its doc.")
        func run() throws {
            print(ConfigFile.render(Deployment.served, settings: Deployment.settings, header: """
                Cascade configuration. Every key is shown at its default; delete what you do not change.
                `cascade serve --config FILE` and `cascade train --config FILE` read it.
                """), terminator: "")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read a config file (and CASCADE_* variables, --set) and print every key that differs from the default.")
        @OptionGroup var settings: SettingsOptions
        func run() throws {
            try runReporting {
                let base = Deployment.served
                let d = try settings.apply(base, settings: Deployment.settings)
                for s in Deployment.settings where s.read(d) != s.read(base) {
                    print("\(s.key)=\(s.read(d))")
                }
            }
        }
    }
}

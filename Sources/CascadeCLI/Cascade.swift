import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeStore
import Foundation

@main
struct Cascade: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cascade",
        abstract: "A recommender engine: recall, ranking and serving over your users, items and events.",
        discussion: """
            Start with `cascade quickstart`. A typical flow on your own data:
              cascade import --db my.sqlite --format csv --events events.csv
              cascade train --db my.sqlite
              cascade recommend --db my.sqlite --user alice --n 10
              cascade eval --db my.sqlite --protocol temporal --test-frac 0.2 --k 10
            """,
        subcommands: [Quickstart.self, Simulate.self, Import.self, Train.self, Recommend.self, Eval.self,
                      Stats.self, Bench.self]
    )
}

/// Options every command that touches a store shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database file (created when missing).")
    var db: String

    @Flag(name: .long, help: "Use synchronous=NORMAL: faster writes that survive a crash of Cascade but not of the machine.")
    var relaxedDurability = false

    func open() throws -> SQLiteStore {
        try SQLiteStore(path: db, durability: relaxedDurability ? .normal : .full)
    }
}

/// Prints a message to standard error.
func note(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Turns any error into a one-line message and a non-zero exit, never a stack trace.
func runReporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as CascadeError {
        note("error: \(e.description)")
        throw ExitCode(2)
    }
}

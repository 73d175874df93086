import CascadeCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A fixed number of PostgreSQL connections, lent one at a time to synchronous callers.
///
/// A caller's thread waits for a free connection, then for its work, which runs as a task on
/// ``BlockingBridge``'s executor (never on the Swift concurrency pool the caller may be blocking).
/// A connection found closed (the database restarted, the network dropped) is replaced on the next
/// use, so servers recover without a restart of their own; a read that fails on a connection that
/// closed under it is retried once on a new one.
final class ConnectionPool: @unchecked Sendable {
    let location: PostgresLocation
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private let slots: DispatchSemaphore
    private var nextId = 0
    private var closed = false
    private let logger = Logger(label: "cascade.postgres.pool")
    private let configuration: PostgresConnection.Configuration

    init(location: PostgresLocation) {
        self.location = location
        slots = DispatchSemaphore(value: location.poolSize)
        var config = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                      password: location.password, database: location.database, tls: .disable)
        if location.requireTLS, let context = try? NIOSSLContext(configuration: .makeClientConfiguration()) {
            config.tls = .require(context)
        }
        config.options.connectTimeout = .seconds(10)
        if let schema = location.schema {
            // Unqualified names resolve in the deployment's schema.
            config.options.additionalStartupParameters = [("search_path", schema)]
        }
        configuration = config
    }

    /// Runs `body` with a connection, blocking the calling thread until it finishes.
    /// With `retry`, work that fails because its connection closed runs once more on a new one
    /// (for reads, which are safe to repeat).
    func withConnection<T: Sendable>(retry: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        let lent: PostgresConnection? = try lock.withLock {
            if closed { throw CascadeError.storage("the connection pool of \(location.display) is closed") }
            return idle.popLast()
        }
        let (result, connection) = BlockingBridge.run { [configuration, logger] () async -> (Result<T, any Error>, PostgresConnection?) in
            var conn = lent
            var attempt = 0
            while true {
                attempt += 1
                do {
                    if conn == nil || conn!.isClosed {
                        conn = try await Self.connect(configuration, logger: logger)
                    }
                    return (.success(try await body(conn!)), conn)
                } catch {
                    let broken = conn?.isClosed ?? true
                    if retry && broken && attempt == 1 { conn = nil; continue }
                    return (.failure(error), conn)
                }
            }
        }
        if let connection, !connection.isClosed {
            let keep = lock.withLock {
                if !closed { idle.append(connection) }
                return !closed
            }
            if !keep { Self.close([connection]) }
        }
        return try result.get()
    }

    private static func connect(_ configuration: PostgresConnection.Configuration, logger: Logger) async throws -> PostgresConnection {
        let id = Int.random(in: 0..<Int.max)
        return try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
                                                    id: id, logger: logger)
    }

    func shutdown() {
        let conns: [PostgresConnection] = lock.withLock {
            closed = true
            defer { idle.removeAll() }
            return idle
        }
        Self.close(conns)
    }

    /// Closes connections and waits for them (PostgresNIO requires a connection to be closed
    /// before it is released).
    private static func close(_ conns: [PostgresConnection]) {
        guard !conns.isEmpty else { return }
        BlockingBridge.run {
            for c in conns { try? await c.close() }
        }
    }
}

/// Runs async code to completion from synchronous code.
///
/// The work runs as a task preferring a private executor backed by a concurrent dispatch queue,
/// whose threads are not the Swift concurrency pool; the caller waits on a semaphore. Waiting on
/// a pool thread (a request handler calling the synchronous ``Store``) therefore cannot deadlock
/// the pool, which has only as many threads as cores.
enum BlockingBridge {
    static let executor = QueueExecutor()

    static func run<T>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: executor) {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    final class ResultBox<T>: @unchecked Sendable {
        var value: T?
    }

    final class QueueExecutor: TaskExecutor, @unchecked Sendable {
        let queue = DispatchQueue(label: "cascade.postgres", attributes: .concurrent)

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            let executor = asUnownedTaskExecutor()
            queue.async { job.runSynchronously(on: executor) }
        }
    }
}

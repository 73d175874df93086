import CascadeCore
import CascadeStore
import Foundation
import Logging

/// The served-page log, off the request path: `offer` queues a page (O(1) under a lock) and a
/// writer thread stores queued pages in batches (``Store/appendPages(_:)``) every 50 ms or as
/// soon as 512 wait. The queue is bounded: past `capacity` a page is dropped from the log and
/// counted, and the request that served it is unaffected. A failed write drops its batch
/// (counted) and the writer goes on.
///
/// Feedback joins to pages by request id: the length of the newest `recentCapacity` pages is kept
/// in memory (also for pages the queue dropped), so a label that arrives before its page is
/// written is still checked; older ids are looked up in the store.
final class PageLog: @unchecked Sendable {
    let store: any Store
    let capacity: Int
    let recentCapacity: Int
    private let lock = NSLock()
    private let wake = DispatchSemaphore(value: 0)
    private var queue: [ServedPage] = []
    private var recent: [String: Int] = [:]
    private var recentOrder: [String] = []
    private var recentNext = 0
    private var stopping = false
    private var writing = 0
    private(set) var written = 0
    private(set) var dropped = 0
    private let finished = DispatchSemaphore(value: 0)
    let logger = Logger(label: "cascade.pagelog")
    static let batch = 512

    init(store: any Store, capacity: Int, recentCapacity: Int = 200_000) {
        self.store = store
        self.capacity = capacity
        self.recentCapacity = max(1, recentCapacity)
        let thread = Thread { [weak self] in self?.run() }
        thread.name = "cascade.pagelog"
        thread.start()
    }

    /// Queues `page`; false when the queue was full and the page was dropped from the log.
    @discardableResult
    func offer(_ page: ServedPage) -> Bool {
        lock.lock()
        remember(page.request, length: page.items.count)
        guard queue.count < capacity else {
            dropped += 1
            lock.unlock()
            return false
        }
        queue.append(page)
        let full = queue.count >= Self.batch
        lock.unlock()
        if full { wake.signal() }
        return true
    }

    /// The length of the page served with `request` (memory, then the store); nil when unknown.
    func pageLength(request: String) throws -> Int? {
        if let n = lock.withLock({ recent[request] }) { return n }
        return try store.pages(requests: [request]).first?.items.count
    }

    /// Pages waiting to be written.
    var queued: Int { lock.withLock { queue.count + writing } }

    /// Counters for `/metrics`: written, dropped, queued.
    var counts: (written: Int, dropped: Int, queued: Int) { lock.withLock { (written, dropped, queue.count + writing) } }

    /// Writes everything queued now (blocking); for shutdown and tests.
    func flush() {
        while true {
            let batch: [ServedPage] = lock.withLock {
                let b = Array(queue.prefix(Self.batch))
                queue.removeFirst(b.count)
                writing += b.count
                return b
            }
            if batch.isEmpty { break }
            write(batch)
        }
        while queued > 0 { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// Stops the writer after a last flush.
    func stop() {
        lock.withLock { stopping = true }
        wake.signal()
        finished.wait()
    }

    private func remember(_ request: String, length: Int) {
        if recentOrder.count < recentCapacity {
            recentOrder.append(request)
        } else {
            recent[recentOrder[recentNext]] = nil
            recentOrder[recentNext] = request
            recentNext = (recentNext + 1) % recentCapacity
        }
        recent[request] = length
    }

    private func run() {
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(50))
            let (batch, stop): ([ServedPage], Bool) = lock.withLock {
                let b = Array(queue.prefix(Self.batch))
                queue.removeFirst(b.count)
                writing += b.count
                return (b, stopping)
            }
            if !batch.isEmpty { write(batch) }
            if stop && lock.withLock({ queue.isEmpty }) { break }
        }
        finished.signal()
    }

    private func write(_ batch: [ServedPage]) {
        do {
            try store.appendPages(batch)
            lock.withLock { written += batch.count; writing -= batch.count }
        } catch {
            lock.withLock { dropped += batch.count; writing -= batch.count }
            logger.warning("served pages dropped: the store refused the batch", metadata: ["pages": "\(batch.count)", "error": "\(error)"])
        }
    }
}

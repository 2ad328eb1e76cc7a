/// Keys ordered by a deadline, so that "what is due by now" costs the number of due items rather
/// than a scan or sort of everything pending. Entries are never updated in place: a caller that
/// moves or settles a key inserts a new entry or simply ignores the old one when it comes due,
/// and `dropFront` discards entries from the front once the caller says they are settled.
/// Deadlines mostly arrive in order (now + a fixed window), so inserting is usually an append.
public struct DeadlineQueue<Key: Hashable & Sendable>: Sendable, Equatable {
    public struct Item: Hashable, Sendable {
        public let deadline: Int64
        public let key: Key
    }

    private var items: [Item] = []
    private var head = 0

    public init() {}

    public var isEmpty: Bool { head == items.count }
    /// Entries still queued (settled ones not yet dropped included).
    public var count: Int { items.count - head }

    /// Queues `key` for `deadline`; the same key with the same deadline is queued once.
    public mutating func insert(_ key: Key, deadline: Int64) {
        var position = items.count
        while position > head && items[position - 1].deadline > deadline { position -= 1 }
        var same = position
        while same > head && items[same - 1].deadline == deadline {
            if items[same - 1].key == key { return }
            same -= 1
        }
        items.insert(Item(deadline: deadline, key: key), at: position)
    }

    /// The entries with deadline ≤ `now`, in deadline order (settled ones included; a key
    /// appears again only with a different deadline).
    public func due(by now: Int64) -> ArraySlice<Item> {
        var end = head
        while end < items.count && items[end].deadline <= now { end += 1 }
        return items[head..<end]
    }

    /// Drops entries from the front while `isSettled` says so.
    public mutating func dropFront(while isSettled: (Item) -> Bool) {
        while head < items.count && isSettled(items[head]) { head += 1 }
        if head > 1_024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}

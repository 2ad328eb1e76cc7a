/// An id as a table key: the id with a 64-bit digest computed once, when the key is made.
/// A probe compares digests first, so a lookup that passes other ids on its way never reads
/// their bytes (with `String` keys every probe compared strings, a cache miss each for ids
/// longer than 15 bytes), and the table's own hashing is one mix of the digest.
///
/// The digest is SipHash-1-3 (the standard library's own hash) under a key derived from the
/// standard library's per-process random seed: callers choose ids, and an unkeyed digest would
/// let them pick ids that share buckets and make every lookup a scan. (`SWIFT_DETERMINISTIC_HASHING`
/// makes that seed a constant, so `pahlawan serve` refuses to run with it.)
///
/// Ids are equal when their UTF-8 bytes are, not under Unicode equivalence as `String`s are:
/// the digest is over the bytes, so ids that are equivalent but different bytes differ in it
/// (but for a 2⁻⁶⁴ chance no caller can aim at without the key). Valid ids are ASCII, where
/// the two notions agree.
struct IDKey: Hashable, Sendable, CustomStringConvertible {
    let text: String
    let digest: UInt64

    /// The id itself (a failed `update` names it).
    var description: String { text }

    init(_ text: String) {
        self.text = text
        var bytes = text
        digest = bytes.withUTF8 { SipHash13.hash($0, key: Self.secret) }
    }

    /// A key with a chosen digest (tests make collisions with it).
    init(text: String, digest: UInt64) {
        self.text = text
        self.digest = digest
    }

    /// Digests first; then `String ==`, three times faster here than comparing the bytes
    /// through `withUTF8` (measured), and the same on ASCII.
    static func == (left: IDKey, right: IDKey) -> Bool { left.digest == right.digest && left.text == right.text }

    func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    /// The bucket hash: the digest mixed with the table's own seed (murmur3's finalizer), so
    /// tables of different sizes do not share clusters.
    func _rawHashValue(seed: Int) -> Int {
        var mixed = digest ^ UInt64(UInt(bitPattern: seed))
        mixed ^= mixed >> 33
        mixed &*= 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        mixed &*= 0xc4ce_b9fe_1a85_ec53
        mixed ^= mixed >> 33
        return Int(truncatingIfNeeded: mixed)
    }

    /// Secret per process, from the standard library's seed (and as deterministic as it is
    /// when `SWIFT_DETERMINISTIC_HASHING` is set): the engines draw no randomness of their own.
    static let secret: (UInt64, UInt64) = {
        var first = Hasher()
        first.combine(0x6964_2d6b_6579_2d30 as UInt64)
        var second = Hasher()
        second.combine(0x6964_2d6b_6579_2d31 as UInt64)
        return (UInt64(UInt(bitPattern: first.finalize())), UInt64(UInt(bitPattern: second.finalize())))
    }()
}

/// SipHash (Aumasson and Bernstein) over a whole byte buffer at once: SipHash-1-3 for table
/// digests, as the standard library's `Hasher` uses; the round counts are parameters so that
/// tests can hold the code to the reference SipHash-2-4 vectors.
enum SipHash13 {
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, key: (UInt64, UInt64)) -> UInt64 {
        hash(bytes, key: key, compressionRounds: 1, finalizationRounds: 3)
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, key: (UInt64, UInt64), compressionRounds: Int, finalizationRounds: Int) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ key.0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ key.1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ key.0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ key.1
        @inline(__always) func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 { value << bits | value >> (64 - bits) }
        @inline(__always) func rounds(_ count: Int) {
            for _ in 0..<count {
                v0 &+= v1; v1 = rotate(v1, 13); v1 ^= v0; v0 = rotate(v0, 32)
                v2 &+= v3; v3 = rotate(v3, 16); v3 ^= v2
                v0 &+= v3; v3 = rotate(v3, 21); v3 ^= v0
                v2 &+= v1; v1 = rotate(v1, 17); v1 ^= v2; v2 = rotate(v2, 32)
            }
        }
        let count = bytes.count
        let raw = UnsafeRawBufferPointer(bytes)
        var offset = 0
        while offset + 8 <= count {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            v3 ^= word
            rounds(compressionRounds)
            v0 ^= word
            offset += 8
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        var shift: UInt64 = 0
        while offset < count {
            last |= UInt64(raw[offset]) << shift
            shift += 8
            offset += 1
        }
        v3 ^= last
        rounds(compressionRounds)
        v0 ^= last
        v2 ^= 0xff
        rounds(finalizationRounds)
        return v0 ^ v1 ^ v2 ^ v3
    }
}

/// A dictionary keyed by ids, for the engines' large tables: `[String: Value]` in use (subscripts,
/// iteration as `(key, value)`, `keys`, `values`), with each lookup hashing the id once and
/// probing on digests (see `IDKey`).
public struct IDTable<Value> {
    var storage: [IDKey: Value]

    public init() { storage = [:] }

    public subscript(id: String) -> Value? {
        get { storage[IDKey(id)] }
        _modify { yield &storage[IDKey(id)] }
    }

    public subscript(id: String, default defaultValue: @autoclosure () -> Value) -> Value {
        get { storage[IDKey(id), default: defaultValue()] }
        _modify { yield &storage[IDKey(id), default: defaultValue()] }
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    /// The ids, in no particular order (a sequence: ask `contains(_:)` for one id, which hashes).
    public var keys: some Collection<String> { storage.keys.lazy.map(\.text) }
    /// The values, in no particular order.
    public var values: some Collection<Value> { storage.values }

    /// Whether `id` has an entry (hashing it once).
    public func contains(_ id: String) -> Bool { storage.index(forKey: IDKey(id)) != nil }

    @discardableResult
    public mutating func removeValue(forKey id: String) -> Value? { storage.removeValue(forKey: IDKey(id)) }

    /// Changes the value at `id` in place, hashing the id once; the id must be present.
    @discardableResult
    mutating func update<Result>(_ id: String, _ change: (inout Value) throws -> Result) rethrows -> Result {
        try storage.update(IDKey(id), change)
    }

    /// The same ids with their values transformed.
    public func mapValues<Other>(_ transform: (Value) throws -> Other) rethrows -> IDTable<Other> {
        IDTable<Other>(storage: try storage.mapValues(transform))
    }

    /// The entries that satisfy `isIncluded`, as a table.
    public func filter(_ isIncluded: ((key: String, value: Value)) throws -> Bool) rethrows -> IDTable<Value> {
        IDTable(storage: try storage.filter { try isIncluded(($0.key.text, $0.value)) })
    }

    /// As a `[String: Value]` (for callers outside the engines that want a plain dictionary).
    /// Ids that are different bytes but equal `String`s (never valid ids) keep one of their values.
    public var dictionary: [String: Value] { Dictionary(storage.lazy.map { ($0.key.text, $0.value) }, uniquingKeysWith: { first, _ in first }) }

    init(storage: [IDKey: Value]) { self.storage = storage }
}

extension IDTable: Sequence {
    public struct Iterator: IteratorProtocol {
        var base: Dictionary<IDKey, Value>.Iterator
        public mutating func next() -> (key: String, value: Value)? { base.next().map { ($0.key.text, $0.value) } }
    }

    public func makeIterator() -> Iterator { Iterator(base: storage.makeIterator()) }
    public var underestimatedCount: Int { storage.count }
}

extension IDTable: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, Value)...) {
        storage = Dictionary(uniqueKeysWithValues: elements.map { (IDKey($0.0), $0.1) })
    }
}

extension IDTable: Equatable where Value: Equatable {}
extension IDTable: Hashable where Value: Hashable {}
extension IDTable: Sendable where Value: Sendable {}
extension IDTable.Iterator: Sendable where Value: Sendable {}

extension IDTable: CustomStringConvertible {
    public var description: String { dictionary.description }
}

/// A set of ids, probing on digests like `IDTable`.
public struct IDSet: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    var storage: Set<IDKey>

    public init() { storage = [] }
    public init<Ids: Sequence<String>>(_ ids: Ids) { storage = Set(ids.lazy.map(IDKey.init)) }
    public init(arrayLiteral ids: String...) { self.init(ids) }

    public func contains(_ id: String) -> Bool { storage.contains(IDKey(id)) }
    @discardableResult
    public mutating func insert(_ id: String) -> (inserted: Bool, memberAfterInsert: String) {
        let (inserted, member) = storage.insert(IDKey(id))
        return (inserted, member.text)
    }
    @discardableResult
    public mutating func remove(_ id: String) -> String? { storage.remove(IDKey(id))?.text }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public var underestimatedCount: Int { storage.count }
    public struct Iterator: IteratorProtocol, Sendable {
        var base: Set<IDKey>.Iterator
        public mutating func next() -> String? { base.next()?.text }
    }

    public func makeIterator() -> Iterator { Iterator(base: storage.makeIterator()) }
    public var description: String { Set(self).description }
}

import Testing

@testable import Ledger

/// The chain rule as one cursor, driven as transcripts: each step either moves the cursor past an
/// entry or names the rule the entry broke, with its error code and the seq that was due.
struct ChainCursorTests {
    static let key = KeyID(value: 0x1795_9a96)
    static let otherKey = KeyID(value: 0x0bad_cafe)
    static let start: Int64 = 1_795_453_200_000_000

    /// A made-up leaf hash; the cursor never hashes, it only remembers.
    static func leaf(_ byte: UInt8) -> Hash { Hash(bytes: [UInt8](repeating: byte, count: Hash.byteCount))! }

    /// What one step did: accepted, or rejected with a code and the seq that was due.
    enum Step: Equatable {
        case accepted
        case rejected(LedgerError.Code, seq: UInt64?)
    }

    static func step(_ cursor: inout ChainCursor, seq: UInt64, prev: Hash, time: Int64, key: KeyID? = key, leaf: Hash) -> Step {
        do {
            try cursor.advance(over: ChainCursor.Link(seq: seq, prev: prev, time: time, key: key), leaf: leaf)
            return .accepted
        } catch {
            return .rejected(error.code, seq: error.seq)
        }
    }

    /// A cursor that has passed seq 0 (leaf 1, `start`) and seq 1 (leaf 2, `start + 10`).
    static func afterTwoEntries() -> ChainCursor {
        var cursor = ChainCursor(key: key)
        _ = step(&cursor, seq: 0, prev: .zero, time: start, leaf: leaf(1))
        _ = step(&cursor, seq: 1, prev: leaf(1), time: start + 10, leaf: leaf(2))
        return cursor
    }

    @Test func aGoodChainIsAcceptedAndTheCursorRemembersItsEnd() {
        var cursor = ChainCursor(key: Self.key)
        #expect(Self.step(&cursor, seq: 0, prev: .zero, time: Self.start, leaf: Self.leaf(1)) == .accepted)
        #expect(Self.step(&cursor, seq: 1, prev: Self.leaf(1), time: Self.start + 10, leaf: Self.leaf(2)) == .accepted)
        #expect(Self.step(&cursor, seq: 2, prev: Self.leaf(2), time: Self.start + 20, leaf: Self.leaf(3)) == .accepted)
        #expect(cursor == ChainCursor(nextSeq: 3, lastLeaf: Self.leaf(3), lastTime: Self.start + 20, key: Self.key))
    }

    @Test func seqZeroMustFollowSixtyFourZeros() {
        var cursor = ChainCursor(key: Self.key)
        #expect(Self.step(&cursor, seq: 0, prev: Self.leaf(9), time: Self.start, leaf: Self.leaf(1)) == .rejected(.wrongPrev, seq: 0))
        #expect(Self.step(&cursor, seq: 1, prev: .zero, time: Self.start, leaf: Self.leaf(1)) == .rejected(.wrongSeq, seq: 0))
        #expect(Self.step(&cursor, seq: 0, prev: .zero, time: Self.start, leaf: Self.leaf(1)) == .accepted)
    }

    @Test func aSkippedOrRepeatedSeqIsWrongSeq() {
        var cursor = Self.afterTwoEntries()
        #expect(Self.step(&cursor, seq: 3, prev: Self.leaf(2), time: Self.start + 20, leaf: Self.leaf(3)) == .rejected(.wrongSeq, seq: 2))
        #expect(Self.step(&cursor, seq: 1, prev: Self.leaf(2), time: Self.start + 20, leaf: Self.leaf(3)) == .rejected(.wrongSeq, seq: 2))
        #expect(cursor == Self.afterTwoEntries(), "a rejected entry leaves the cursor where it was")
    }

    @Test func aPrevOtherThanTheLastLeafIsWrongPrev() {
        var cursor = Self.afterTwoEntries()
        #expect(Self.step(&cursor, seq: 2, prev: Self.leaf(1), time: Self.start + 20, leaf: Self.leaf(3)) == .rejected(.wrongPrev, seq: 2))
        #expect(Self.step(&cursor, seq: 2, prev: .zero, time: Self.start + 20, leaf: Self.leaf(3)) == .rejected(.wrongPrev, seq: 2))
        #expect(cursor == Self.afterTwoEntries())
    }

    @Test func anEarlierTimeIsTimeGoesBackwards() {
        var cursor = Self.afterTwoEntries()
        #expect(Self.step(&cursor, seq: 2, prev: Self.leaf(2), time: Self.start + 9, leaf: Self.leaf(3)) == .rejected(.timeGoesBackwards, seq: 2))
        #expect(cursor == Self.afterTwoEntries())
    }

    @Test func anEqualTimeIsAllowed() {
        var cursor = Self.afterTwoEntries()
        #expect(Self.step(&cursor, seq: 2, prev: Self.leaf(2), time: Self.start + 10, leaf: Self.leaf(3)) == .accepted)
        #expect(cursor.lastTime == Self.start + 10)
    }

    @Test func anotherOrUnreadableKeyIsWrongKey() {
        var cursor = Self.afterTwoEntries()
        #expect(Self.step(&cursor, seq: 2, prev: Self.leaf(2), time: Self.start + 20, key: Self.otherKey, leaf: Self.leaf(3))
            == .rejected(.wrongKey, seq: 2))
        #expect(Self.step(&cursor, seq: 2, prev: Self.leaf(2), time: Self.start + 20, key: nil, leaf: Self.leaf(3))
            == .rejected(.wrongKey, seq: 2))
        #expect(cursor == Self.afterTwoEntries())
    }

    @Test func aCursorWithoutAKeyDoesNotCheckKeys() {
        var cursor = ChainCursor(key: nil)
        #expect(Self.step(&cursor, seq: 0, prev: .zero, time: Self.start, key: Self.otherKey, leaf: Self.leaf(1)) == .accepted)
        #expect(Self.step(&cursor, seq: 1, prev: Self.leaf(1), time: Self.start, key: nil, leaf: Self.leaf(2)) == .accepted)
        #expect(Self.step(&cursor, seq: 2, prev: Self.leaf(1), time: Self.start, key: nil, leaf: Self.leaf(3)) == .rejected(.wrongPrev, seq: 2))
    }

    @Test func theRulesAreCheckedInOrderSeqPrevTimeKey() {
        let cursor = Self.afterTwoEntries()
        func broken(seq: UInt64 = 2, prev: Hash = Self.leaf(2), time: Int64 = Self.start + 20, key: KeyID? = Self.key) -> ChainCursor.Rule? {
            cursor.brokenRule(ChainCursor.Link(seq: seq, prev: prev, time: time, key: key))
        }
        #expect(broken() == nil)
        #expect(broken(seq: 7, prev: .zero, time: 0, key: Self.otherKey) == .nextSeq)
        #expect(broken(prev: .zero, time: 0, key: Self.otherKey) == .previousLeaf)
        #expect(broken(time: 0, key: Self.otherKey) == .timeNotEarlier)
        #expect(broken(key: Self.otherKey) == .ledgerKey)
        #expect([ChainCursor.Rule.nextSeq, .previousLeaf, .timeNotEarlier, .ledgerKey].map(\.code)
            == [.wrongSeq, .wrongPrev, .timeGoesBackwards, .wrongKey])
    }

    @Test func aCursorResumedMidChainAcceptsOnlyTheExactSuccessor() {
        var cursor = ChainCursor(nextSeq: 1_000, lastLeaf: Self.leaf(7), lastTime: Self.start, key: Self.key)
        #expect(Self.step(&cursor, seq: 1_000, prev: .zero, time: Self.start, leaf: Self.leaf(8)) == .rejected(.wrongPrev, seq: 1_000))
        #expect(Self.step(&cursor, seq: 1_000, prev: Self.leaf(7), time: Self.start, leaf: Self.leaf(8)) == .accepted)
        #expect(cursor.nextSeq == 1_001 && cursor.lastLeaf == Self.leaf(8))
    }

    @Test func aRejectionNamesTheValuesThatBrokeTheRule() {
        let cursor = Self.afterTwoEntries()
        #expect(throws: LedgerError(.timeGoesBackwards, "time 5 is earlier than the previous entry's \(Self.start + 10)", seq: 2)) {
            try cursor.check(ChainCursor.Link(seq: 2, prev: Self.leaf(2), time: 5, key: Self.key))
        }
        #expect(throws: LedgerError(.wrongSeq, "the body says seq 9 but 2 comes next", seq: 2)) {
            try cursor.check(ChainCursor.Link(seq: 9, prev: Self.leaf(2), time: Self.start + 10, key: Self.key))
        }
    }
}

@testable import Ledger
import Testing

/// Tile paths come from any caller, unauthenticated: an index that does not fit in 64 bits
/// trapped (`index * 1000` overflowed) and killed the service.
@Suite struct TilePathOverflowTests {
    @Test func anIndexBeyond64BitsIsNoTilePathNotATrap() {
        for rest in ["0/x999/x999/x999/x999/x999/x999/999", "entries/x018/x446/x744/x073/x709/x551/616", "entries/x999/x999/x999/x999/x999/x999/x999/999.p/3"] {
            #expect(TilePath.parse(rest) == nil, "\(rest)")
        }
        // The largest index there is still parses.
        #expect(TilePath.parse("entries/x018/x446/x744/x073/x709/x551/615") == .init(level: nil, index: UInt64.max, width: 256))
    }

    /// Found by the tile-path fuzz test: a leading zero group (`x000/005`) named the same tile
    /// as its canonical path (`005`), so one tile had many addresses.
    @Test func aLeadingZeroGroupIsNotACanonicalPath() {
        for rest in ["0/x000/005", "63/x000/x000/000", "entries/x000/001.p/4"] { #expect(TilePath.parse(rest) == nil, "\(rest)") }
        #expect(TilePath.parse("0/x001/000")?.index == 1_000)
    }
}

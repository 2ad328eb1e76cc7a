import Testing
@testable import Ledger

@Suite struct TilePathTests {
    @Test func parsesExactlyWhatTheStoreWrites() {
        for (level, index, width) in [(0, UInt64(0), 256), (0, 1_234_067, 256), (2, 5, 17), (1, 999, 255), (3, 1_000, 1)] {
            let path = TileStore.path(level: level, index: index, width: width)
            #expect(TilePath.parse(String(path.dropFirst("tile/".count))) == .init(level: level, index: index, width: width), "\(path)")
        }
        #expect(TilePath.parse("entries/x001/234.p/9") == .init(level: nil, index: 1_234, width: 9))
        for bad in ["0", "0/1", "0/0001", "0/x1/000", "01/000", "0/000.p/256", "0/000.p/0", "0/000.p/07", "-1/000", "0/abc", "x/000"] {
            #expect(TilePath.parse(bad) == nil, "\(bad)")
        }
    }
}

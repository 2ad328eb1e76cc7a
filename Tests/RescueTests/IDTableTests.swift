import PropertyBased
import Testing
@testable import Rescue

@Suite struct IDTableTests {
    private func sipHash(_ text: [UInt8], key: (UInt64, UInt64), rounds: (Int, Int)) -> UInt64 {
        text.withUnsafeBufferPointer { SipHash13.hash($0, key: key, compressionRounds: rounds.0, finalizationRounds: rounds.1) }
    }

    /// The reference SipHash-2-4 vectors (key 00…0f, input 00, 01, … of each length), which the
    /// same code with other round counts must meet.
    @Test func sipHashMeetsTheReferenceVectors() {
        let vectors: [UInt64] = [
            0x726f_db47_dd0e_0e31, 0x74f8_39c5_93dc_67fd, 0x0d6c_8009_d9a9_4f5a, 0x8567_6696_d7fb_7e2d,
            0xcf27_94e0_2771_87b7, 0x1876_5564_cd99_a68d, 0xcbc9_466e_58fe_e3ce, 0xab02_00f5_8b01_d137,
            0x93f5_f579_9a93_2462, 0x9e00_82df_0ba9_e4b0, 0x7a5d_bbc5_94dd_b9f3, 0xf4b3_2f46_226b_ada7,
            0x751e_8fbc_860e_e5fb, 0x14ea_5627_c084_3d90, 0xf723_ca90_8e7a_f2ee, 0xa129_ca61_49be_45e5,
            0x3f2a_cc7f_57c2_9bdb,
        ]
        let key: (UInt64, UInt64) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908)
        for (length, expected) in vectors.enumerated() {
            #expect(sipHash((0..<UInt8(length)).map { $0 }, key: key, rounds: (2, 4)) == expected, "length \(length)")
        }
    }

    /// SipHash-1-3 under the zero key, against CPython 3.11's `hash(bytes)` with
    /// `PYTHONHASHSEED=0` (which is SipHash-1-3 under the zero key).
    @Test func sipHash13MeetsPythonsBytesHash() {
        let expected: [(String, UInt64)] = [
            ("a", 0x4074_48d2_b89b_1813), ("ngo-JK-12", 0xaf8c_8e19_780d_9dcb), ("é-ünïcode", 0x1dd8_e330_2ddf_483b),
            ("off-abcdef-12345", 0xbf03_9cea_2018_4bb9), ("clm-xyz-00000001-long-id", 0x9e41_b506_f3f3_8bc8),
        ]
        for (text, digest) in expected {
            #expect(sipHash(Array(text.utf8), key: (0, 0), rounds: (1, 3)) == digest, "\(text)")
        }
        // Every tail length and several blocks: bytes (7i + 3) mod 256 of each length.
        let byLength: [(Int, UInt64)] = [
            (2, 0x068a_8ca3_bf74_c2eb), (3, 0x711b_4756_1b9b_33e2), (5, 0x8613_66b2_43b6_f28e), (6, 0x23de_6a4b_a3d9_8ca0),
            (7, 0x8a71_5eaa_f555_49aa), (8, 0x36c1_86f0_aa4c_dbeb), (15, 0x19ed_3f1b_38f7_e4e2), (31, 0xf8d9_9212_9081_807b),
            (33, 0x71e3_dcba_331c_4dd7), (64, 0x6513_4a36_595a_21fb),
        ]
        for (length, digest) in byLength {
            #expect(sipHash((0..<length).map { UInt8(($0 * 7 + 3) % 256) }, key: (0, 0), rounds: (1, 3)) == digest, "length \(length)")
        }
    }

    /// Keys that share a digest are still told apart by their text (a collision costs a
    /// comparison, never a wrong answer).
    @Test func idsThatShareADigestStayDistinct() {
        var table = [IDKey: Int]()
        table[IDKey(text: "off-1", digest: 7)] = 1
        table[IDKey(text: "off-2", digest: 7)] = 2
        #expect(table.count == 2)
        #expect(table[IDKey(text: "off-1", digest: 7)] == 1)
        #expect(table[IDKey(text: "off-2", digest: 7)] == 2)
        #expect(IDKey("off-1") == IDKey("off-1"))
        #expect(IDKey("off-1") != IDKey("off-2"))
    }

    /// Ids are equal by their bytes (the digest is over them), not under Unicode equivalence:
    /// `é` precomposed and decomposed are two ids, and a plain dictionary of both keeps one.
    @Test func idsAreEqualByTheirBytes() {
        var table = IDTable<Int>()
        table["caf\u{e9}"] = 1
        table["cafe\u{301}"] = 2
        #expect(table.count == 2)
        #expect(table["caf\u{e9}"] == 1 && table["cafe\u{301}"] == 2)
        #expect(table.dictionary.count == 1)
        #expect(IDSet(["caf\u{e9}", "cafe\u{301}"]).count == 2)
    }

    /// The per-process key is not the zero key: ids a caller chose cannot be aimed at buckets.
    @Test func theDigestIsKeyed() {
        #expect(IDKey.secret != (0, 0))
        #expect(IDKey("a").digest != 0x4074_48d2_b89b_1813)
    }

    /// Short (inline) and long ids, and non-ASCII ones, which hash their UTF-8 bytes.
    private static func id(_ number: Int) -> String {
        ["off-\(number)", "clm-abcdefgh-\(number)-long", "é\(number)", ""][number % 4]
    }

    /// An `IDTable` answers exactly as `[String: Int]` does under any sequence of writes.
    @Test func aTableAnswersAsADictionaryDoes() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...40).array(of: 3).array(of: 0...80)) { draws in
            var table = IDTable<Int>()
            var model = [String: Int]()
            for draw in draws {
                let (id, value) = (Self.id(draw[1]), draw[2] - 20)
                switch draw[0] % 6 {
                case 0:
                    table[id] = value
                    model[id] = value
                case 1:
                    #expect(table.removeValue(forKey: id) == model.removeValue(forKey: id))
                case 2:
                    table[id, default: 0] += value
                    model[id, default: 0] += value
                case 3:
                    table[id]? += value
                    model[id]? += value
                case 4:
                    if model[id] != nil {
                        let before = table.update(id) { stored in
                            defer { stored *= 2 }
                            return stored
                        }
                        #expect(before == model[id])
                        model[id]! *= 2
                    }
                default:
                    #expect(table.contains(id) == (model[id] != nil))
                }
                #expect(table[id] == model[id])
            }
            #expect(table.count == model.count)
            #expect(table.isEmpty == model.isEmpty)
            #expect(table.dictionary == model)
            #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }) == model)
            #expect(Set(table.keys) == Set(model.keys))
            #expect(table.values.sorted() == model.values.sorted())
            #expect(table.filter { $0.value > 0 }.dictionary == model.filter { $0.value > 0 })
            #expect(table.mapValues { $0 * 3 }.dictionary == model.mapValues { $0 * 3 })
            var same = IDTable<Int>()
            for (key, value) in model { same[key] = value }
            #expect(same == table)
        }
    }

    /// An `IDSet` answers exactly as `Set<String>` does.
    @Test func aSetAnswersAsASetDoes() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...40).array(of: 2).array(of: 0...80)) { draws in
            var set = IDSet()
            var model = Set<String>()
            for draw in draws {
                let id = Self.id(draw[1])
                if draw[0] % 2 == 0 {
                    #expect(set.insert(id).inserted == model.insert(id).inserted)
                } else {
                    #expect(set.remove(id) == model.remove(id))
                }
                #expect(set.contains(id) == model.contains(id))
            }
            #expect(set.count == model.count)
            #expect(Set(set) == model)
            #expect(IDSet(model) == set)
        }
    }
}

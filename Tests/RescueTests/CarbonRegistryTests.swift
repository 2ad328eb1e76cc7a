import PropertyBased
import Testing
@testable import Rescue

@Suite struct CarbonRegistryTests {
    let policy = CarbonPolicy(tokenGrams: 10_000, bufferPercent: 10, basis: .downstream)

    /// Decides and applies, as the engine does; returns the event or the rejection.
    @discardableResult
    func run(_ registry: inout CarbonRegistry, _ command: CarbonCommand) -> Result<CarbonEvent, CarbonRejection> {
        let result = registry.decide(command, policy: policy)
        if case .success(let event) = result { registry.apply(event) }
        return result
    }

    func range(_ first: Int64, _ last: Int64, vintage: Int = 2026) -> SerialRange { SerialRange(vintage: vintage, first: first, last: last)! }

    @Test func aTranscriptOfMintsTransfersRetirementsAndRefusals() throws {
        var registry = CarbonRegistry()
        // 95 kg → 9 tokens: none to the buffer (10% of 9, rounded down, is 0), 5 kg carried.
        guard case .success(.minted(let first)) = run(&registry, .countRescue(company: "cmp-a", rescue: 10, gramsCO2e: 95_000, vintage: 2026)) else {
            Issue.record("the first count must mint")
            return
        }
        #expect(first.range == range(1, 9) && first.buffer == nil && first.carriedGrams == 5_000 && first.basedOn == [10])
        #expect(run(&registry, .countRescue(company: "cmp-a", rescue: 10, gramsCO2e: 1, vintage: 2026)) == .failure(.rescueAlreadyCounted))
        // 4 kg more: below a token, carried with its rescue.
        guard case .success(.minted(let small)) = run(&registry, .countRescue(company: "cmp-a", rescue: 11, gramsCO2e: 4_000, vintage: 2026)) else { return }
        #expect(small.range == nil && small.carriedGrams == 9_000 && small.basedOn.isEmpty)
        // 101 kg: 9 + 101 = 110 kg → 11 tokens. The buffer's share runs on the company's total:
        // 10% of 9 + 11 = 20 is 2, none taken so far, so 2; resting on the carried parts of
        // rescues 10 and 11 and on 12.
        guard case .success(.minted(let third)) = run(&registry, .countRescue(company: "cmp-a", rescue: 12, gramsCO2e: 101_000, vintage: 2026)) else { return }
        #expect(third.range == range(10, 18) && third.buffer == range(19, 20) && third.carriedGrams == 0)
        #expect(third.basedOn == [10, 11, 12])
        #expect(registry.balance(of: "cmp-a") == 18 && registry.balance(of: CarbonRegistry.bufferAccount) == 2)

        #expect(run(&registry, .transfer(from: "cmp-b", to: "cmp-a", range: range(3, 4))) == .failure(.rangeNotHeldByActor))
        #expect(run(&registry, .transfer(from: "cmp-a", to: "cmp-a", range: range(3, 4))) == .failure(.transferToSelf))
        #expect(run(&registry, .transfer(from: "cmp-a", to: "cmp-b", range: range(3, 4))) == .success(.transferred(from: "cmp-a", to: "cmp-b", range: range(3, 4))))
        // 2…5 now spans two holdings (a's 2, b's 3–4, a's 5): refused as a whole.
        #expect(run(&registry, .transfer(from: "cmp-a", to: "cmp-c", range: range(2, 5))) == .failure(.rangeNotIssuedAsOneHolding))
        #expect(run(&registry, .retire(owner: "cmp-b", range: range(4, 4), beneficiary: "", reason: "csrCommitment")) == .failure(.beneficiaryMissing))
        #expect(run(&registry, .retire(owner: "cmp-b", range: range(4, 4), beneficiary: "Budi Santoso", reason: "csrCommitment")) == .failure(.beneficiaryIsNotAnID))
        #expect(run(&registry, .retire(owner: "cmp-b", range: range(4, 4), beneficiary: "pt-contoh", reason: "birthday gift for Siti")) == .failure(.reasonIsNotACode))
        #expect(run(&registry, .retire(owner: "cmp-b", range: range(4, 4), beneficiary: "pt-contoh", reason: "csrCommitment")).isSuccess)
        #expect(run(&registry, .transfer(from: "cmp-b", to: "cmp-c", range: range(4, 4))) == .failure(.serialAlreadyRetired))
        #expect(run(&registry, .cancel(owner: CarbonRegistry.bufferAccount, range: range(20, 20), reason: "reversal")).isSuccess)
        #expect(run(&registry, .retire(owner: CarbonRegistry.bufferAccount, range: range(20, 20), beneficiary: "x", reason: "voluntaryOffset")) == .failure(.serialAlreadyCancelled))
        #expect(run(&registry, .transfer(from: "cmp-a", to: "cmp-b", range: range(21, 21))) == .failure(.rangeNotIssuedAsOneHolding))
        #expect(registry.balance(of: "cmp-b") == 1 && registry.accounts["cmp-b"]?.retired == 1)
        #expect(registry.invariantViolations().isEmpty)
    }

    /// Any sequence of commands, valid or not: rejected ones change nothing, the invariants hold
    /// after every step, and replaying the events rebuilds exactly the same state.
    @Test func invariantsHoldAndReplayEqualsLiveForAnyCommandSequence() async {
        let companies = ["cmp-a", "cmp-b", "cmp-c", CarbonRegistry.bufferAccount]
        let command = Gen.int(in: 0...99).array(of: 6)
        await propertyCheck(count: 200, input: command.array(of: 1...60)) { draws in
            var registry = CarbonRegistry()
            var events = [CarbonEvent]()
            for (step, draw) in draws.enumerated() {
                let company = companies[draw[0] % 4]
                let other = companies[draw[1] % 4]
                let issued = registry.issued[2026] ?? 0
                let first = Int64(1 + draw[2] % max(1, Int(issued) + 2))
                let span = SerialRange(vintage: 2026, first: first, last: first + Int64(draw[3] % 4))!
                let command: CarbonCommand = switch draw[4] % 4 {
                case 0: .countRescue(company: company, rescue: UInt64(draw[5] % 40), gramsCO2e: Int64(draw[5]) * 1_700, vintage: 2026)
                case 1: .transfer(from: company, to: other, range: span)
                case 2: .retire(owner: company, range: span, beneficiary: draw[5] % 9 == 0 ? "" : "ben-\(draw[5])", reason: "csrCommitment")
                default: .cancel(owner: company, range: span, reason: draw[5] % 11 == 0 ? "" : "reversal")
                }
                let before = registry
                switch registry.decide(command, policy: policy) {
                case .success(let event):
                    registry.apply(event)
                    events.append(event)
                case .failure:
                    #expect(registry == before, "a rejected command changes nothing")
                }
                let violations = registry.invariantViolations()
                #expect(violations.isEmpty, "step \(step): \(violations)")
            }
            var replayed = CarbonRegistry()
            for event in events { replayed.apply(event) }
            #expect(replayed == registry)
        }
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}

@Suite struct HoldingListTests {
    /// Thousands of holdings (several chunks, with chunk splits) against a plain sorted array.
    @Test func chunkedHoldingsBehaveLikeOneSortedArray() {
        var list = HoldingList()
        var model = [CarbonRegistry.Holding]()
        var random = SplitMix64(seed: 99)
        var next: Int64 = 1
        for _ in 0..<1_500 {
            let count = 1 + random.int(below: 6)
            let holding = CarbonRegistry.Holding(range: SerialRange(vintage: 2026, first: next, last: next + count - 1)!, status: .held(by: "c"))
            next += count
            list.insert(holding)
            model.append(holding)
        }
        for step in 0..<3_000 {
            let index = Int(random.next(below: UInt64(model.count)))
            let range = model[index].range
            let first = range.first + random.int(below: range.count)
            let piece = SerialRange(vintage: 2026, first: first, last: first)!
            guard let position = list.position(containing: piece) else {
                Issue.record("serial \(first) not found at step \(step)")
                return
            }
            #expect(list[position] == model[index])
            var pieces = [CarbonRegistry.Holding]()
            if first > range.first { pieces.append(.init(range: SerialRange(vintage: 2026, first: range.first, last: first - 1)!, status: model[index].status)) }
            pieces.append(.init(range: piece, status: .retired))
            if first < range.last { pieces.append(.init(range: SerialRange(vintage: 2026, first: first + 1, last: range.last)!, status: model[index].status)) }
            list.replace(position, with: pieces)
            model.replaceSubrange(index...index, with: pieces)
        }
        #expect(list.all == model)
        #expect(list.count == model.count)
        #expect(list.chunks.count > 2 && list.chunks.allSatisfy { $0.count <= 2 * HoldingList.chunkMax })
        #expect(list.position(containing: SerialRange(vintage: 2026, first: next, last: next)!) == nil)
        #expect(list.position(containing: SerialRange(vintage: 2025, first: 1, last: 1)!) == nil)
    }
}

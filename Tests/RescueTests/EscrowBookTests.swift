import PropertyBased
import Testing
@testable import Rescue

@Suite struct EscrowBookTests {
    @discardableResult
    func run(_ book: inout EscrowBook, _ command: EscrowCommand) -> Result<EscrowEvent, EscrowRejection> {
        let result = book.decide(command)
        if case .success(let event) = result { book.apply(event) }
        return result
    }

    @Test func aTranscriptOfHoldingPartialRefundAndRelease() {
        var book = EscrowBook()
        #expect(run(&book, .hold(id: "e-1", claim: "c-1", buyer: "buy-1", provider: "prv-1", rupiah: 50_000)).isSuccess)
        #expect(run(&book, .hold(id: "e-1", claim: "c-1", buyer: "buy-1", provider: "prv-1", rupiah: 50_000)) == .failure(.escrowAlreadyExists))
        #expect(run(&book, .refund(id: "e-1", rupiah: 20_000, rule: "")) == .failure(.refundNamesNoRule))
        #expect(run(&book, .refund(id: "e-1", rupiah: 20_000, rule: "operator.partial")).isSuccess)
        #expect(run(&book, .release(id: "e-1", rupiah: 30_001)) == .failure(.releaseExceedsHeld))
        #expect(run(&book, .refund(id: "e-1", rupiah: 30_001, rule: "operator.partial")) == .failure(.refundExceedsHeld))
        #expect(run(&book, .release(id: "e-1", rupiah: 30_000)).isSuccess)
        #expect(book.escrows["e-1"]?.isClosed == true)
        #expect(run(&book, .refund(id: "e-1", rupiah: 1, rule: "spoiled")) == .failure(.escrowAlreadyClosed))
        #expect(run(&book, .release(id: "e-2", rupiah: 1)) == .failure(.escrowNotFound))
    }

    /// Any sequence of holds, releases and refunds: released + refunded never exceeds held, a
    /// closed escrow never moves again, refusals change nothing, and replay equals live.
    @Test func moneyOutNeverExceedsMoneyHeld() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...99).array(of: 3).array(of: 1...60)) { draws in
            var book = EscrowBook()
            var events = [EscrowEvent]()
            for draw in draws {
                let id = "e-\(draw[1] % 4)"
                let rupiah = Int64(draw[2]) * 1_000 - 5_000
                let command: EscrowCommand = switch draw[0] % 3 {
                case 0: .hold(id: id, claim: "c", buyer: "buy", provider: "prv", rupiah: rupiah)
                case 1: .release(id: id, rupiah: rupiah / 3)
                default: .refund(id: id, rupiah: rupiah / 2, rule: "spoiled")
                }
                let before = book
                let wasClosed = book.escrows[id]?.isClosed == true
                switch book.decide(command) {
                case .success(let event):
                    #expect(!wasClosed || { if case .held = event { true } else { false } }(), "a closed escrow never moves")
                    book.apply(event)
                    events.append(event)
                case .failure:
                    #expect(book == before)
                }
                #expect(book.invariantViolations().isEmpty)
            }
            var replayed = EscrowBook()
            for event in events { replayed.apply(event) }
            #expect(replayed == book)
        }
    }
}

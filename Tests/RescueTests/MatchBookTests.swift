import Testing
@testable import Rescue

@Suite struct MatchBookTests {
    static let minute: Int64 = 60_000_000
    let window = 5 * minute
    let now: Int64 = 1_795_453_200_000_000

    @discardableResult
    func run(_ book: inout MatchBook, _ command: MatchCommand) -> Result<[MatchEvent], MatchRejection> {
        let result = book.decide(command, acceptWindowMicroseconds: window)
        if case .success(let events) = result { for event in events { book.apply(event) } }
        return result
    }

    @Test func offersEscalateOnDeclineAndOnTimeoutUntilAccepted() {
        var book = MatchBook()
        let ranked = ["rcp-a", "rcp-b", "rcp-c", "rcp-d"]
        #expect(run(&book, .start(offer: "off-1", candidates: [], now: now)) == .failure(.noCandidates))
        #expect(run(&book, .start(offer: "off-1", candidates: ranked, now: now)).isSuccess)
        #expect(book.matches["off-1"]?.offeredTo == "rcp-a")
        #expect(run(&book, .start(offer: "off-1", candidates: ranked, now: now)) == .failure(.matchingAlreadyStarted))
        // Before the window closes nothing moves; at 5 minutes it escalates.
        #expect(run(&book, .tick(now: now + window - 1)) == .success([]))
        #expect(run(&book, .tick(now: now + window)) == .success([
            .expired(offer: "off-1", recipient: "rcp-a"),
            .offered(offer: "off-1", recipient: "rcp-b", candidates: nil, expiresAt: now + 2 * window),
        ]))
        #expect(run(&book, .decline(offer: "off-1", recipient: "rcp-a", now: now + window + 1)) == .failure(.recipientWasNotOffered))
        #expect(run(&book, .decline(offer: "off-1", recipient: "rcp-b", now: now + window + 1)).isSuccess)
        #expect(book.matches["off-1"]?.offeredTo == "rcp-c")
        // c claims: the match is accepted and later ticks leave it alone.
        book.claimPlaced(offer: "off-1", claimant: "rcp-c")
        #expect(book.matches["off-1"]?.offeredTo == nil)
        #expect(run(&book, .tick(now: now + 10 * window)) == .success([]))
    }

    @Test func whenCandidatesRunOutTheOfferStaysOpen() {
        var book = MatchBook()
        run(&book, .start(offer: "off-2", candidates: ["rcp-a"], now: now))
        #expect(run(&book, .decline(offer: "off-2", recipient: "rcp-a", now: now + 1)) == .success([.declined(offer: "off-2", recipient: "rcp-a")]))
        #expect(book.matches["off-2"]?.offeredTo == nil)
        #expect(run(&book, .tick(now: now + 10 * window)) == .success([]))
    }

    @Test func replayingTheEventsGivesTheSameBook() {
        var live = MatchBook()
        var events = [MatchEvent]()
        for command in [
            MatchCommand.start(offer: "off-1", candidates: ["a", "b", "c"], now: now), .start(offer: "off-2", candidates: ["c", "a"], now: now + 1),
            .tick(now: now + window), .decline(offer: "off-2", recipient: "a", now: now + window + 2), .tick(now: now + 3 * window),
        ] {
            if case .success(let produced) = live.decide(command, acceptWindowMicroseconds: window) {
                for event in produced { live.apply(event) }
                events += produced
            }
        }
        var replayed = MatchBook()
        for event in events { replayed.apply(event) }
        #expect(replayed == live)
        // off-1: a expired, b expired, now c; off-2: a's decline was refused (c was offered), c expired, now a.
        #expect(live.matches["off-1"]?.offeredTo == "c" && live.matches["off-2"]?.offeredTo == "a")
    }
}

/// Offers going to candidates one at a time: the best candidate first; if it declines, or does
/// not accept within the policy's window (5 minutes), the next (auto-escalation, driven by the
/// `now` each command carries). A claim by the recipient being offered closes the match. When
/// the candidates run out the offer simply stays open for anyone to claim.
public struct MatchBook: Sendable, Equatable {
    public struct Match: Hashable, Sendable {
        public var offer: String
        /// Ranked recipients, best first (from `CandidateSearch`).
        public var candidates: [String]
        /// The candidate being offered, as a position in `candidates`; nil once closed or exhausted.
        public var position: Int?
        /// How many candidates have been offered it so far (the next one's position).
        public var offeredCount: Int
        public var expiresAt: Int64

        public var offeredTo: String? { position.map { candidates[$0] } }
    }

    public private(set) var matches: IDTable<Match> = [:]
    /// Offers currently offered to a candidate.
    public private(set) var active: IDSet = []
    /// Offers by when their current candidate's window ends, so time-outs touch only what is due.
    private var windows = DeadlineQueue<String>()

    public init() {}

    public func decide(_ command: MatchCommand, acceptWindowMicroseconds: Int64) -> Result<[MatchEvent], MatchRejection> {
        switch command {
        case .start(let offer, let candidates, let now):
            guard matches[offer] == nil else { return .failure(.matchingAlreadyStarted) }
            guard let first = candidates.first else { return .failure(.noCandidates) }
            return .success([.offered(offer: offer, recipient: first, candidates: candidates, expiresAt: now + acceptWindowMicroseconds)])
        case .decline(let offer, let recipient, let now):
            guard let match = matches[offer] else { return .failure(.matchNotFound) }
            guard match.offeredTo == recipient else { return .failure(.recipientWasNotOffered) }
            return .success([.declined(offer: offer, recipient: recipient)] + next(after: match, now: now, window: acceptWindowMicroseconds))
        case .tick(let now):
            var events = [MatchEvent]()
            for item in windows.due(by: now) {
                let match = matches[item.key]!
                guard let recipient = match.offeredTo, match.expiresAt == item.deadline else { continue }
                events.append(.expired(offer: match.offer, recipient: recipient))
                events += next(after: match, now: now, window: acceptWindowMicroseconds)
            }
            return .success(events)
        }
    }

    /// The next candidate's offer. It does not repeat the ranked list: the first offer named it.
    private func next(after match: Match, now: Int64, window: Int64) -> [MatchEvent] {
        let position = match.offeredCount
        guard position < match.candidates.count else { return [] }
        return [.offered(offer: match.offer, recipient: match.candidates[position], candidates: nil, expiresAt: now + window)]
    }

    public mutating func apply(_ event: MatchEvent) {
        switch event {
        case .offered(let offer, let recipient, let candidates, let expiresAt):
            if let candidates {
                let position = candidates.firstIndex(of: recipient)!
                matches[offer] = Match(offer: offer, candidates: candidates, position: position, offeredCount: position + 1, expiresAt: expiresAt)
            } else {
                matches.update(offer) { match in
                    let position = match.offeredCount
                    precondition(match.candidates[position] == recipient, "escalation to a recipient out of turn")
                    match.position = position
                    match.offeredCount = position + 1
                    match.expiresAt = expiresAt
                }
            }
            active.insert(offer)
            windows.insert(offer, deadline: expiresAt)
        case .declined(let offer, _), .expired(let offer, _):
            // Closed until (and unless) the next `offered` event reopens it at the next candidate.
            matches[offer]!.position = nil
            active.remove(offer)
            dropClosedWindows()
        }
    }

    private mutating func dropClosedWindows() {
        windows.dropFront { window in
            let match = matches[window.key]!
            return match.offeredTo == nil || match.expiresAt != window.deadline
        }
    }

    /// A claim placed on the offer by the recipient being offered accepts the match.
    public mutating func claimPlaced(offer: String, claimant: String) {
        if matches[offer]?.offeredTo == claimant {
            matches[offer]!.position = nil
            active.remove(offer)
            dropClosedWindows()
        }
    }
}

public enum MatchCommand: Hashable, Sendable {
    case start(offer: String, candidates: [String], now: Int64)
    case decline(offer: String, recipient: String, now: Int64)
    /// Time passes: every offer not accepted in time moves on to its next candidate.
    case tick(now: Int64)
}

public enum MatchEvent: Hashable, Sendable {
    /// `candidates` (the ranked list) on the first offer only; an escalation names the next one.
    case offered(offer: String, recipient: String, candidates: [String]?, expiresAt: Int64)
    case declined(offer: String, recipient: String)
    case expired(offer: String, recipient: String)

}

/// Why the match book refused a command; names read as sentences and never change meaning.
public enum MatchRejection: String, Error, Sendable {
    case matchingAlreadyStarted
    case noCandidates
    case matchNotFound
    case recipientWasNotOffered
}

extension MatchRejection: CaseIterable {
    /// The kind of this refusal (`RefusalKind`).
    public var kind: RefusalKind {
        switch self {
        case .matchNotFound: .notFound
        case .matchingAlreadyStarted: .conflict
        case .recipientWasNotOffered: .forbidden
        case .noCandidates: .invalid
        }
    }
}

import Ledger

/// The "Zero Waste" impact certificate: a company's all-time rescue figures and its tier
/// (`carbon.yaml` `certificateTiers`, by tokens the company retired itself, so an impact it sold
/// is never claimed twice), as a C2SP signed note under the ledger's key. Anyone holding the
/// verifier key can check the note; the seqs tie every figure to the signed tree.
public enum ImpactCertificate {
    /// The first line of every certificate note (never a log origin, so it can never be read as
    /// a checkpoint of the log).
    public static let header = "Pahlawan Trust impact certificate v1"
    public static let columns = [
        "company", "tier", "tokensRetired", "tokensMinted", "rescues", "gramsRescued", "meals", "lifecycleGramsCO2e", "downstreamGramsCO2e",
    ]

    /// The certificate of the company of `csr` (all time) and `carbon` (its statement), both at
    /// one checkpoint; `sign` turns the note text into a signed note.
    public static func make(
        csr: Report, carbon: Report, tiers: [(name: String, tokens: Int64)], sign: (String) throws -> String
    ) rethrows -> Report {
        precondition(csr.kind == "csr" && carbon.kind == "carbon" && csr.checkpointSize == carbon.checkpointSize)
        let company = csr.parameters["company"]?.stringValue ?? ""
        let retired = carbon.totals["retired"]?.integerValue ?? 0
        let tier = tiers.filter { retired >= $0.tokens }.max { $0.tokens < $1.tokens }?.name ?? "none"
        let figure = { (key: String) in csr.totals[key]?.integerValue ?? 0 }
        let line: [String: JSONValue] = [
            "company": .string(company), "tier": .string(tier), "tokensRetired": .integer(retired),
            "tokensMinted": .integer(carbon.totals["minted"]?.integerValue ?? 0), "rescues": .integer(figure("rescues")),
            "gramsRescued": .integer(figure("gramsRescued")), "meals": .integer(figure("meals")),
            "lifecycleGramsCO2e": .integer(figure("lifecycleGramsCO2e")), "downstreamGramsCO2e": .integer(figure("downstreamGramsCO2e")),
        ]
        var text = header + "\n"
        for column in columns { text += "\(column) \(Self.text(line[column]))\n" }
        text += "checkpoint \(csr.checkpointSize) \(csr.checkpointRoot)\n"
        let tierList: [JSONValue] = tiers.map { ["tier": .string($0.name), "tokensRetiredAtLeast": .integer($0.tokens)] }
        return Report(
            kind: "certificate", parameters: ["company": .string(company)], checkpointSize: csr.checkpointSize, checkpointRoot: csr.checkpointRoot,
            columns: columns, lines: [line], totals: line.filter { $0.value.integerValue != nil },
            sections: ["note": .string(try sign(text)), "tiers": .array(tierList)], seqs: csr.seqs + carbon.seqs)
    }

    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case .integer(let number): String(number)
        case .string(let text): text
        default: ""
        }
    }
}

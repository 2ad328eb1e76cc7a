import ArgumentParser
import Compliance
import Ledger

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate the policy files and print the policy hash that entries will carry.")

    @Option(help: "The folder holding carbon.yaml and disputes.yaml.") var policies = "policies"

    func run() throws {
        do {
            let set = try PolicySet.load(directory: policies)
            print("policy hash \(set.hash.hex)")
            print("carbon: 1 token = \(set.carbon.tokenGrams) g CO2e (\(set.carbon.basis.rawValue) basis), buffer \(set.carbon.bufferPercent)%, meal \(set.offers.mealGrams) g")
            for (category, factors) in set.offers.factors.sorted(by: { $0.key < $1.key }) {
                print("  \(category): lifecycle \(factors.lifecycle), downstream \(factors.downstream) g CO2e/kg")
            }
            print("disputes: window \(set.disputes.windowMicroseconds / 3_600_000_000) h, operator deadline \(set.disputes.decisionDeadlineMicroseconds / 3_600_000_000) h, freshness threshold \(set.disputes.freshnessThreshold)")
        } catch {
            printError("pahlawan: error: \(error)")
            throw ExitCode(1)
        }
    }
}

import PreflightCore

extension CheckOutcome {
    /// Whether one of the findings' sentences contains `phrase` (the findings are data: no sentence holds another).
    func says(_ phrase: String) -> Bool { findings.contains { $0.sentence.contains(phrase) } }

    /// Every finding's sentence, for a failure message.
    var sentences: [String] { findings.map(\.sentence) }
}

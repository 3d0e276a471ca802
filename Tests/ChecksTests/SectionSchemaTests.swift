import Testing
@testable import PreflightChecks
@testable import PreflightCore

/// Each section's schema names exactly the keys it reads (`keys`, which the loader enforces): one source.
@Suite struct SectionSchemaTests {
    @Test func schemaKeysAreTheSectionKeys() {
        for s in AllChecks.sections {
            guard case .object(let keys, let required) = s.schema else {
                #expect(s.keys.isEmpty, "\(s.key): a mapping section's schema must be an object")
                continue
            }
            #expect(keys.map(\.key) == s.keys, "\(s) describes \(keys.map(\.key)), reads \(s.keys)")
            #expect(Set(required).isSubset(of: Set(s.keys)))
        }
    }

    @Test func everySectionIsInTheSchema() {
        guard case .object(let root) = ConfigSchema.document(sections: AllChecks.sections),
              case .object(let properties)? = root["properties"] else { Issue.record("no properties"); return }
        let names = Set(properties.entries.map(\.key))
        #expect(names == Set(ConfigLoader.coreKeys + AllChecks.sections.map { $0.key }))
    }
}

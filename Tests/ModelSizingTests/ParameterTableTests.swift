import ModelSizing
import Testing

@Suite struct ParameterTableTests {
    /// The preset table: full = 4·d²·L, LoRA = 4·r·(d + d)·L for q, k, v, o at rank 8.
    @Test func seedTable() throws {
        let rows = try TransformerShape.seedModels.map { try LoRAParameterRow(model: $0, rank: 8) }
        #expect(rows.map(\.fullParameters) == [28_311_552, 100_663_296, 235_929_600, 2_147_483_648, 4_194_304_000])
        #expect(rows.map(\.loraParameters) == [589_824, 1_572_864, 2_949_120, 8_388_608, 13_107_200])
        for (row, model) in zip(rows, TransformerShape.seedModels) {
            #expect(row.fullParameters == 4 * model.dModel * model.dModel * model.layers)
            #expect(row.loraParameters == 4 * 8 * (model.dModel + model.dModel) * model.layers)
            #expect(row.ratio == Double(row.loraParameters) / Double(row.fullParameters))
        }
        #expect(abs(rows[0].ratio - 0.0208333333) <= 1e-9)
    }

    @Test func gpt3() throws {
        #expect(LoRAParameterRow.loraParameters(rows: 12288, columns: 12288, rank: 8) == 196_608)
        let one = try LoRAParameterRow(
            model: TransformerShape(name: "one matrix", dModel: 12288, layers: 1), rank: 8, targets: [.q])
        #expect(one.loraParameters == 196_608 && one.fullParameters == 150_994_944)
        let all = try LoRAParameterRow(model: .gpt3, rank: 8)
        #expect(all.loraParameters == 196_608 * 4 * 96)
        #expect(all.fullParameters == 4 * 12288 * 12288 * 96)
    }

    /// MLP targets: up and gate are ffn×d, down is d×ffn.
    @Test func mlpTargets() throws {
        let model = TransformerShape(name: "custom", dModel: 64, layers: 3, ffn: 256)
        let row = try LoRAParameterRow(model: model, rank: 4, targets: [.q, .v, .up, .down, .gate])
        #expect(row.fullParameters == 3 * (2 * 64 * 64 + 3 * 64 * 256))
        #expect(row.loraParameters == 3 * (2 * 4 * 128 + 3 * 4 * (64 + 256)))
    }

    @Test func badInputs() throws {
        let model = TransformerShape(name: "no mlp", dModel: 64, layers: 2)
        #expect(throws: ParameterTableError.notPositive(name: "rank", value: 0)) { try LoRAParameterRow(model: model, rank: 0) }
        #expect(throws: ParameterTableError.missingFFN(target: "down")) {
            try LoRAParameterRow(model: model, rank: 2, targets: [.q, .down])
        }
        #expect(throws: ParameterTableError.noTargets) { try LoRAParameterRow(model: model, rank: 2, targets: []) }
        #expect(throws: ParameterTableError.notPositive(name: "layers", value: -1)) {
            try LoRAParameterRow(model: TransformerShape(name: "x", dModel: 8, layers: -1), rank: 2)
        }
    }
}

@Test func parameterCountsThatOverflowThrow() {
    let huge = TransformerShape(id: "custom", name: "huge", dModel: 100_000_000, layers: 100_000_000, ffn: nil)
    #expect(throws: ParameterTableError.tooLarge(model: "huge")) {
        _ = try LoRAParameterRow(model: huge, rank: 8)
    }
    let wide = TransformerShape(id: "custom", name: "wide", dModel: 3_037_000_500, layers: 1, ffn: nil)
    #expect(throws: ParameterTableError.tooLarge(model: "wide")) {
        _ = try LoRAParameterRow(model: wide, rank: 8)
    }
}

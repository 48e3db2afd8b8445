import LinearAlgebra
import LoRA
import NN
import Testing

/// MultiLoRALinear against LoRALinear layers holding one adapter each: the same outputs per
/// active adapter, per row in a mixed batch, merged, and after removing another adapter.
@Suite("MultiLoRALinear: named adapters, mixed batches, merge")
struct MultiLoRALinearTests {
    /// `W: 40×48` with bias; "a": LoRA r = 16, s = 2 (the packed kernel in Float); "b": LoRA
    /// r = 4, s = 0.5; "d": DoRA r = 8, s = 1.5, `m = n·(1 + j/20)` so `f ≠ 1`.
    struct Fixture<T: MatrixScalar> {
        let base: Linear<T>
        let adapters: [(name: String, adapter: LoRAAdapter<T>, magnitude: Matrix<T>?)]

        init() {
            var generator = SeededGenerator(seed: 71)
            let (d, k) = (40, 48)
            base = Linear(weight: .randomNormal(rows: d, columns: k, using: &generator),
                          bias: .randomNormal(rows: 1, columns: d, using: &generator))
            func adapter(rank: Int, scale: T) -> LoRAAdapter<T> {
                LoRAAdapter(a: .randomNormal(rows: rank, columns: k, standardDeviation: 0.3, using: &generator),
                            b: .randomNormal(rows: d, columns: rank, standardDeviation: 0.3, using: &generator), scale: scale)
            }
            let dora = adapter(rank: 8, scale: 1.5)
            let norms = DoRA.rowNorms(of: LoRAWeights(base: base.weight.value, adapter: dora))
            adapters = [
                ("a", adapter(rank: 16, scale: 2), nil), ("b", adapter(rank: 4, scale: 0.5), nil),
                ("d", dora, Matrix(rows: 1, columns: d) { _, j in norms[j] * (1 + T(j) / 20) }),
            ]
        }

        func layer() -> MultiLoRALinear<T> {
            let layer = MultiLoRALinear(base: base)
            for (name, adapter, magnitude) in adapters { layer.addAdapter(named: name, adapter, magnitude: magnitude) }
            return layer
        }

        /// The adapter `name` alone in a LoRALinear on the same base and bias (evaluation mode).
        func single(_ name: String) -> LoRALinear<T> {
            let (_, adapter, magnitude) = adapters.first { $0.name == name }!
            let layer = LoRALinear(
                weights: LoRAWeights(base: base.weight.value, adapter: adapter), bias: Parameter(base.bias!.value),
                variant: magnitude.map { .dora(magnitude: $0) } ?? .standard)
            layer.isTraining = false
            return layer
        }
    }

    func input<T: MatrixScalar>(_: T.Type, rows: Int) -> Matrix<T> {
        var generator = SeededGenerator(seed: 72)
        return .randomNormal(rows: rows, columns: 48, using: &generator)
    }

    @Test("the active adapter gives its LoRALinear's output; none active or disabled gives the base")
    func active() {
        let fixture = Fixture<Float>()
        let layer = fixture.layer()
        let x = input(Float.self, rows: 12)
        #expect(layer.activeAdapter == nil && layer.forward(x) == fixture.base.forward(x))
        for name in ["a", "b", "d"] {
            layer.selectAdapter(name)
            #expect(GradientCheck.relativeError(layer.forward(x), fixture.single(name).forward(x)) < 1e-6, "\(name)")
            #expect(GradientCheck.relativeError(layer.forward(x[rows: 0..<1]), fixture.single(name).forward(x[rows: 0..<1])) < 1e-6)
        }
        layer.enableAdapters(false)
        #expect(layer.forward(x) == fixture.base.forward(x))
        layer.enableAdapters(true)
        layer.selectAdapter("not held here")
        #expect(layer.forward(x) == fixture.base.forward(x))
        let double = Fixture<Double>()
        let doubleLayer = double.layer()
        doubleLayer.selectAdapter("d")
        #expect(GradientCheck.relativeError(doubleLayer.forward(x.converted()), double.single("d").forward(x.converted())) < 1e-14)
    }

    @Test("a mixed batch equals each row run alone with its adapter, LoRA and DoRA, gathered and contiguous rows",
          arguments: [
              ["a", "a", "b", "__base__", "d", "a", "d", "d", "b", "a", "__base__", "a", "b", "b", "d", "a"],
              ["d", "d", "d", "d", "a", "a", "a", "a", "__base__", "__base__", "__base__", "__base__", "b", "b", "b", "b"],
          ])
    func mixedBatch(rowAdapters: [String]) {
        func check<T: MatrixScalar>(_: T.Type, tolerance: T) {
            let fixture = Fixture<T>()
            let layer = fixture.layer()
            layer.selectAdapter("b")  // the row assignment, not the active adapter, decides
            let x = input(T.self, rows: rowAdapters.count)
            layer.assignRows(AdapterRowAssignment(rowAdapters: rowAdapters))
            let mixed = layer.forward(x)
            for (row, name) in rowAdapters.enumerated() {
                let alone = x[rows: row..<(row + 1)]
                let expected = name == AdapterRowAssignment.baseName ? fixture.base.forward(alone) : fixture.single(name).forward(alone)
                #expect(GradientCheck.relativeError(mixed[rows: row..<(row + 1)], expected) < tolerance, "row \(row) (\(name))")
            }
            // The whole rows of one adapter, as one batch, give the same rows.
            let rows = rowAdapters.indices.filter { rowAdapters[$0] == "d" }
            #expect(GradientCheck.relativeError(mixed.gatheringRows(rows), fixture.single("d").forward(x.gatheringRows(rows))) < tolerance)
        }
        check(Float.self, tolerance: 1e-6)
        check(Double.self, tolerance: 1e-14)
    }

    @Test("row groups: contiguous rows are one range, others a list; base rows are left out")
    func groups() {
        let assignment = AdapterRowAssignment(rowAdapters: ["x", "x", "__base__", "y", "x", "y", "y"])
        #expect(assignment.adapterNames == ["x", "y"])
        #expect(assignment.groups.map(\.rows) == [.indices([0, 1, 4]), .indices([3, 5, 6])])
        let sequences = AdapterRowAssignment(sequenceAdapters: ["y", "__base__", "x"], sequenceLength: 3)
        #expect(sequences.groups.map(\.rows) == [.range(0..<3), .range(6..<9)])
        #expect(sequences.rowCount == 9)
    }

    @Test("merging the active adapter gives its unmerged output in one GEMM; unmerging is exact")
    func merge() {
        let fixture = Fixture<Float>()
        let layer = fixture.layer()
        let x = input(Float.self, rows: 10)
        for name in ["a", "d"] {
            layer.selectAdapter(name)
            let unmerged = layer.forward(x)
            layer.mergeActive()
            #expect(layer.mergedAdapter == name)
            #expect(GradientCheck.relativeError(layer.forward(x), unmerged) < 1e-6, "\(name)")
            layer.unmerge()
            #expect(layer.forward(x) == unmerged)
        }
        #expect(fixture.base.weight.value == Fixture<Float>().base.weight.value, "the base weight is never changed")
    }

    @Test("removing an adapter keeps the others' outputs; parameters are named as PEFT's")
    func remove() {
        let fixture = Fixture<Float>()
        let layer = fixture.layer()
        let x = input(Float.self, rows: 6)
        #expect(layer.namedParameters().map(\.path) == [
            "lora_A.a.weight", "lora_B.a.weight", "lora_A.b.weight", "lora_B.b.weight", "lora_A.d.weight", "lora_B.d.weight",
            "lora_magnitude_vector.d", "base_layer.weight", "base_layer.bias",
        ])
        #expect(layer.trainableParameterCount == 0)
        var before: [String: Matrix<Float>] = [:]
        for name in ["a", "d"] {
            layer.selectAdapter(name)
            before[name] = layer.forward(x)
        }
        layer.removeAdapter(named: "b")
        #expect(layer.adapterNames == ["a", "d"])
        for name in ["a", "d"] {
            layer.selectAdapter(name)
            #expect(layer.forward(x) == before[name]!)
        }
    }
}

import NN
import LinearAlgebra
import Optimizers
import Testing

@Suite("Adam and AdamW against hand-computed steps")
struct AdamTests {
    /// A parameter θ = [1, −2] with constant gradient [0.5, −0.25] under `optimizer`.
    func run<T: MatrixScalar>(
        _: T.Type, steps: Int, make: ([ParameterGroup<T>]) -> Adam<T>
    ) -> Matrix<T> {
        let parameter = Parameter(Matrix<T>([[1, -2]]))
        let optimizer = make([ParameterGroup(name: "p", parameters: [parameter], learningRate: 0.1)])
        for _ in 0..<steps {
            parameter.zeroGradient()
            parameter.modifyGradient { $0 += Matrix([[0.5, -0.25]]) }
            optimizer.step()
        }
        return parameter.value
    }

    func close<T: MatrixScalar>(_ x: Matrix<T>, _ expected: [Double], _ tolerance: Double) -> Bool {
        zip(x.elements, expected).allSatisfy { abs(Double($0) - $1) <= tolerance }
    }

    func checkAdam<T: MatrixScalar>(_: T.Type, tolerance: Double) {
        // ε = 0 so the hand values are exact. Bias-corrected with a constant gradient:
        // m̂ = g, v̂ = g², so each step moves by η·sign(g).
        #expect(close(run(T.self, steps: 1) { Adam(groups: $0, epsilon: 0) }, [0.9, -1.9], tolerance))
        #expect(close(run(T.self, steps: 2) { Adam(groups: $0, epsilon: 0) }, [0.8, -1.8], tolerance))
        // Without correction: m = 0.1g, v = 0.001g², a step of η·0.1/√0.001 = 0.316227766.
        #expect(close(run(T.self, steps: 1) { Adam(groups: $0, epsilon: 0, biasCorrection: false) },
                      [0.683772233983162, -1.683772233983162], tolerance))
        // Adam's L2 decay (λ = 0.1) uses g + λθ: [0.6, −0.45] then [0.59, −0.44]; by hand:
        // m = [0.113, −0.0845], v = [7.0774e-4, 3.958975e-4], θ₂ = θ₁ − η·m̂/√v̂.
        #expect(close(run(T.self, steps: 2) { Adam(groups: $0, epsilon: 0, weightDecay: 0.1) },
                      [0.8000473371426953, -1.8000648829649217], tolerance))
        // AdamW: θ·(1 − ηλ) first, then the Adam step: 1·0.99 − 0.1, −2·0.99 + 0.1.
        #expect(close(run(T.self, steps: 1) { .adamW(groups: $0, epsilon: 0, weightDecay: 0.1) }, [0.89, -1.88], tolerance))
    }

    @Test func handComputedSteps() {
        checkAdam(Float.self, tolerance: 5e-6)
        checkAdam(Double.self, tolerance: 1e-12)
    }

    @Test func groupsHaveTheirOwnRatesAndFrozenParametersGetNoState() {
        let a = Parameter(Matrix<Double>([[1, 1, 1]]))
        let b = Parameter(Matrix<Double>([[1, 1]]))
        let frozen = Parameter(Matrix<Double>([[5]]), trainable: false)
        let optimizer = Adam.adamW(groups: [
            ParameterGroup(name: "A", parameters: [a, frozen], learningRate: 0.01),
            ParameterGroup(name: "B", parameters: [b], learningRate: 0.16),  // LoRA+ ratio 16
        ], weightDecay: 0)
        #expect(optimizer.stateCount == 2 * 5)
        for p in [a, b] { p.modifyGradient { $0 = $0.map { _ in 1 } } }
        optimizer.step()
        #expect(abs(a.value[0, 0] - 0.99) < 1e-7 && abs(b.value[0, 0] - 0.84) < 1e-7)
        #expect(frozen.value[0, 0] == 5)
        // A group's own weight decay overrides the optimizer's: θ·(1 − ηλ) − η = 1·(1 − 0.1·0.5) − 0.1.
        let decayed = Parameter(Matrix<Double>([[1]]))
        let withDecay = Adam.adamW(
            groups: [ParameterGroup(name: "d", parameters: [decayed], learningRate: 0.1, weightDecay: 0.5)],
            epsilon: 0, weightDecay: 0)
        decayed.modifyGradient { $0 = Matrix([[1]]) }
        withDecay.step()
        #expect(abs(decayed.value[0, 0] - 0.85) < 1e-12)
    }

    @Test func clippingByGlobalNorm() {
        let a = Parameter(Matrix<Float>([[0, 0]]))
        let b = Parameter(Matrix<Float>([[0]]))
        a.modifyGradient { $0 = Matrix([[3, 0]]) }
        b.modifyGradient { $0 = Matrix([[4]]) }
        let optimizer = Adam(groups: [ParameterGroup(name: "all", parameters: [a, b], learningRate: 1)])
        #expect(optimizer.clipGradients(maxNorm: 10) == 5)
        #expect(a.gradient! == Matrix([[3, 0]]))
        #expect(optimizer.clipGradients(maxNorm: 1) == 5)
        #expect(abs(a.gradient![0, 0] - 0.6) < 1e-5 && abs(b.gradient![0, 0] - 0.8) < 1e-5)
    }

    @Test func scheduleScalesTheRate() {
        let schedule = LearningRateSchedule(warmupSteps: 2, totalSteps: 4, decay: .linear)
        let parameter = Parameter(Matrix<Double>([[0]]))
        let optimizer = Adam(groups: [ParameterGroup(name: "p", parameters: [parameter], learningRate: 0.1)], schedule: schedule)
        #expect(optimizer.learningRate(ofGroup: 0) == 0)
        parameter.modifyGradient { $0 = Matrix([[1]]) }
        optimizer.step()
        #expect(abs(optimizer.learningRate(ofGroup: 0) - 0.05) < 1e-12)
    }
}

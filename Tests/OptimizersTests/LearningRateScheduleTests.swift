import Optimizers
import Testing

@Suite("Learning-rate schedules")
struct LearningRateScheduleTests {
    @Test func warmupThenDecay() {
        let cosine = LearningRateSchedule(warmupSteps: 4, totalSteps: 12, decay: .cosine)
        #expect((0...4).map(cosine.factor(atStep:)) == [0, 0.25, 0.5, 0.75, 1])
        #expect(abs(cosine.factor(atStep: 8) - 0.5) < 1e-12)  // half way: ½(1 + cos π/2)
        #expect(abs(cosine.factor(atStep: 12)) < 1e-12 && cosine.factor(atStep: 20) == 0)
        let linear = LearningRateSchedule(warmupSteps: 4, totalSteps: 12, decay: .linear)
        #expect(linear.factor(atStep: 6) == 0.75 && linear.factor(atStep: 12) == 0)
        let constant = LearningRateSchedule(warmupSteps: 0, totalSteps: 12, decay: .constant)
        #expect(constant.factor(atStep: 0) == 1 && constant.factor(atStep: 50) == 1)
    }
}

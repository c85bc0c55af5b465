import Neural
import Testing

/// cube with a deliberately wrong backward (2x² instead of 3x²).
private func wrongCube(_ x: Tensor) -> Tensor {
    Tensor.differentiable("wrongCube", x,
        forward: { z in z[0] * z[0] * z[0] },
        backward: { v, z, _, _ in [2 * z[0] * z[0] * v] })
}

/// Identity whose backward drops the gradient of one element (index 3).
private func leaky(_ x: Tensor) -> Tensor {
    Tensor.differentiable("leaky", x, forward: { $0[0] * 1 }, backward: { v, _, _, _ in
        let mask = Tensor([1, 1, 1, 0, 1, 1] as [Double], shape: [2, 3], dtype: v.dtype)
        return [v * mask]
    })
}

@Suite("checkGradients itself")
struct GradientCheckTests {
    @Test func passesForACorrectGradientAndCountsEveryElement() {
        let report = checkGradients(of: { ($0[0] * $0[1]).tanh() },
                                    at: [seededUniform([2, 3], seed: 160), seededUniform([3], seed: 161)])
        #expect(report.passed, "\(report)")
        #expect(report.checked == 9)
        #expect(report.maxAbsoluteError < 1e-8)
        #expect(report.description.hasPrefix("gradient check passed: 9 elements"))
        #expect(report.absoluteTolerance == 1e-6 && report.relativeTolerance == 1e-5)
    }

    @Test func failsForAWrongBackwardAndNamesTheWorstElement() {
        let x = Tensor([0.5, -1, 2] as [Double], dtype: .float64)
        let report = checkGradients(of: { wrongCube($0[0]).sum() }, at: [x])
        #expect(!report.passed)
        #expect(report.description.contains("FAILED"))
        let worst = report.worst!
        #expect(worst.input == 0)
        #expect(worst.index == [2])   // |3x² − 2x²| = x² is largest at x = 2
        // J = r·Σx³ for a random r: numeric r·3x², analytic r·2x².
        #expect((worst.numeric / worst.analytic - 1.5).magnitude < 1e-6)
        #expect(worst.absoluteError == (worst.analytic - worst.numeric).magnitude)
    }

    @Test func findsAWrongGradientInASingleOutputElement() {
        // Non-scalar outputs are reduced with random weights, so one dropped element is caught.
        let report = checkGradients(of: { leaky($0[0]) }, at: [seededUniform([2, 3], seed: 162)])
        #expect(!report.passed)
        #expect(report.worst!.index == [1, 0])
        #expect(report.worst!.analytic == 0)
    }

    @Test func identifiesWhichInputIsWrong() {
        let report = checkGradients(of: { $0[0] + wrongCube($0[1]) },
                                    at: [seededUniform([2], seed: 163), seededUniform([2], seed: 164, low: 1, high: 2)])
        #expect(!report.passed)
        #expect(report.worst!.input == 1)
    }

    @Test func evaluatesInFloat64EvenForFloat32Inputs() {
        var sawDtype: DType?
        let report = checkGradients(of: { z in sawDtype = z[0].dtype; return z[0].exp() },
                                    at: [Tensor([0.1, 0.2] as [Double])])
        #expect(sawDtype == .float64)
        #expect(report.passed, "\(report)")
    }

    @Test func inputsTheOutputDoesNotDependOnHaveZeroGradient() {
        let report = checkGradients(of: { $0[0] * 2 }, at: [seededUniform([2], seed: 165), seededUniform([3], seed: 166)])
        #expect(report.passed)
        #expect(report.checked == 5)
    }

    @Test func customTolerancesAreApplied() {
        let report = checkGradients(of: { wrongCube($0[0]) }, at: [Tensor([0.01] as [Double], dtype: .float64)],
                                    absoluteTolerance: 1e-3, relativeTolerance: 0)
        #expect(report.passed)   // the error x² = 1e-4 is under the loose tolerance
        #expect(report.absoluteTolerance == 1e-3)
    }

    @Test func noInputsMeansNothingToCompare() {
        let report = checkGradients(of: { _ in Tensor(1, dtype: .float64) }, at: [])
        #expect(report.checked == 0)
        #expect(report.worst == nil)
        #expect(report.description == "gradient check: no elements to compare")
    }
}

/// A failure reported by, or detected before, a LAPACK routine.
public enum LAPACKError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `info < 0`: argument number `-info` of `routine` had an illegal value.
    case illegalArgument(routine: String, info: Int32)
    /// `info > 0`: `routine` did not converge (for SVD, `info` superdiagonals did not).
    case noConvergence(routine: String, info: Int32)
    /// LAPACKE could not allocate its workspace.
    case workspaceAllocationFailed(routine: String)
    /// The input held NaN or ±∞, so `routine` was not called.
    case nonFiniteInput(routine: String)

    /// Maps a LAPACKE return code; `nil` when it is success (0).
    init?(routine: String, info: Int32) {
        switch info {
        case 0: return nil
        case -1011, -1010: self = .workspaceAllocationFailed(routine: routine)
        case ..<0: self = .illegalArgument(routine: routine, info: info)
        default: self = .noConvergence(routine: routine, info: info)
        }
    }

    public var description: String {
        switch self {
        case let .illegalArgument(routine, info):
            "\(routine): argument \(-info) had an illegal value (info \(info))"
        case let .noConvergence(routine, info):
            "\(routine): did not converge (info \(info))"
        case let .workspaceAllocationFailed(routine):
            "\(routine): could not allocate workspace"
        case let .nonFiniteInput(routine):
            "\(routine): the input contains NaN or infinity"
        }
    }
}

import Collectives
import Testing

/// The communicator of a process that `mpirun` did not start (as under `swift test`): size 1,
/// MPI never initialised, every collective returns its input.
@Suite("Communicator without mpirun")
struct CommunicatorTests {
    @Test func aProcessAloneIsRankZeroOfOne() throws {
        let world = try Communicator.world()
        #expect(world.rank == 0 && world.size == 1 && !world.isLaunchedByMPI)
        #expect(try Communicator.world() === world)
    }

    @Test func collectivesReturnTheirInput() throws {
        let world = try Communicator.world()
        var floats: [Float] = [1, -2.5, 3]
        var doubles: [Double] = [0.25, 1e300]
        try floats.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in try world.allReduceSum(buffer) }
        try doubles.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in try world.allReduceSum(buffer) }
        try floats.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in try world.broadcast(buffer, from: 0) }
        try doubles.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in try world.broadcast(buffer, from: 0) }
        #expect(floats == [1, -2.5, 3] && doubles == [0.25, 1e300])
        #expect(try world.broadcast(bytes: Array("header".utf8), from: 0) == Array("header".utf8))
        try world.barrier()
    }

    @Test func errorsAreOneLineNamingTheCall() {
        let error = CollectiveError.failed(call: "MPI_Allreduce", code: 15, message: "MPI_ERR_TRUNCATE: message truncated")
        #expect(error.description == "MPI_Allreduce failed: MPI_ERR_TRUNCATE: message truncated (MPI error 15)")
        #expect(!CollectiveError.threadLevelTooLow(provided: 0).description.contains("\n"))
    }
}

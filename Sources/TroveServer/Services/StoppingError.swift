extension Error {
    /// Whether a background pass ended this way because the service is stopping: a graceful shutdown cancels
    /// its task, and the pass throws Swift's `CancellationError` — or whatever a store wrapped it in (on
    /// PostgreSQL a cancelled query's error), which a `catch is CancellationError` missed: the loop logged a
    /// failure, its retry's sleep threw, and `trove serve` ended on SIGTERM with "Error: CancellationError()".
    var isStopping: Bool { self is CancellationError || Task.isCancelled }
}

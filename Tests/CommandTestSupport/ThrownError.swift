import Testing

/// The `E` that `body` throws, recording an issue (and returning nil) when it throws another error
/// or none.
public func thrownError<E: Error, R>(_: E.Type, _ body: () throws -> R) -> E? {
    do {
        _ = try body()
        Issue.record("expected a \(E.self)")
    } catch let error as E {
        return error
    } catch {
        Issue.record("expected a \(E.self), got \(error)")
    }
    return nil
}

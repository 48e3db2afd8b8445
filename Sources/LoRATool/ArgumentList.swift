import ArgumentParser

/// The values of a list flag: comma-separated, and the flag may repeat, so `--ranks 4,8
/// --ranks 16` and `--ranks 4,8,16` are the same list. Declare the option as `[ArgumentList<T>]`
/// with `transform: ArgumentList.parse` (which names a bad item and the choices in one line) and
/// read it with ``Swift/Array/values()``.
struct ArgumentList<Element: ExpressibleByArgument>: CustomStringConvertible {
    var values: [Element]

    init(_ values: [Element]) { self.values = values }

    /// The items of one occurrence of the flag, e.g. `"4,8"`; an empty item is an error.
    static func parse(_ text: String) throws -> ArgumentList {
        var values: [Element] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard let value = Element(argument: trimmed) else { throw InvalidListItem<Element>(item: trimmed) }
            values.append(value)
        }
        return ArgumentList(values)
    }

    /// `help`, then how to give the list, which values there are (for a fixed set) and the
    /// default: an option with a transform has no default in help unless its text says it.
    static func help(_ help: String, default defaults: [Element] = []) -> ArgumentHelp {
        let choices = Element.allValueStrings
        let notes = (choices.isEmpty ? [] : ["values: " + choices.joined(separator: ", ")])
            + (defaults.isEmpty ? [] : ["default: " + ArgumentList(defaults).description])
        return ArgumentHelp(help + ", comma-separated or repeated" + (notes.isEmpty ? "." : " (\(notes.joined(separator: "; ")))."))
    }

    /// As help shows a default: `4,8,16`.
    var description: String { values.map(\.defaultValueDescription).joined(separator: ",") }
}

extension Array {
    /// Every value of every occurrence of a list flag, in order.
    func values<T>() -> [T] where Element == ArgumentList<T> { flatMap(\.values) }
}

/// An item of a list flag that is not a value of its type.
struct InvalidListItem<Element: ExpressibleByArgument>: Error, CustomStringConvertible {
    var item: String

    var description: String {
        let choices = Element.allValueStrings
        if item.isEmpty { return "an item is empty" }
        return choices.isEmpty ? "'\(item)' is not a valid item" : "'\(item)' is not one of \(choices.joined(separator: ", "))"
    }
}

import Foundation

/// An integer with thousands separators: `28311552` → `"28,311,552"`.
public func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (i, digit) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { result.append(",") }
        result.append(digit)
    }
    return value < 0 ? "-" + result : result
}

/// `x` as a percentage with `decimals` digits: `0.02083` → `"2.08%"`.
public func percent(_ x: Double, decimals: Int = 2) -> String {
    String(format: "%.\(decimals)f%%", x * 100)
}

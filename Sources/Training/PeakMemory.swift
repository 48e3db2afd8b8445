import Foundation

/// The process's peak resident set size (`VmHWM` in `/proc/self/status`), in bytes; nil where
/// there is no such file (not Linux) or it cannot be read.
public func peakResidentBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return nil }
    return kilobytes * 1024
}

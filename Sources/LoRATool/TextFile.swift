import Foundation
import LoRAKit

/// The non-empty UTF-8 text of the file at `path`, for the commands that read text (`finetune`,
/// `perplexity`, `tokenize`); a failure names the file and says why.
func readText(_ path: String) throws -> String {
    guard let text = String(data: try FileContents.bytes(of: URL(fileURLWithPath: path)), encoding: .utf8) else {
        throw CommandFailure(description: "\(path): not UTF-8 text")
    }
    guard !text.isEmpty else { throw CommandFailure(description: "\(path): the file is empty") }
    return text
}

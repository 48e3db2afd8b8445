/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// `"system"`, `"user"` or `"assistant"`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The ChatML chat format: each message as `<|im_start|>role\ncontent<|im_end|>\n`.
///
/// This renders what SmolLM2's Jinja template (and other ChatML templates) renders, without a
/// Jinja engine: an optional default system message when the first message is not a system one,
/// the messages, and `<|im_start|>assistant\n` as the generation prompt.
public struct ChatMLTemplate: Sendable, Equatable {
    /// The system message inserted when the conversation does not start with one, if any.
    public var defaultSystemPrompt: String?

    public init(defaultSystemPrompt: String? = nil) {
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    /// The ChatML format a GGUF `tokenizer.chat_template` describes.
    ///
    /// Recognizes a ChatML template by its `<|im_start|>`/`<|im_end|>` markers and reads its
    /// default system prompt: the text of a literal `<|im_start|>system` message written when
    /// `messages[0]['role'] != 'system'`. Throws `unsupportedChatTemplate` for other templates.
    public init(chatTemplate: String?) throws(TokenizerError) {
        guard let template = chatTemplate else { throw .unsupportedChatTemplate(reason: "the vocabulary has none") }
        guard template.contains("<|im_start|>"), template.contains("<|im_end|>") else {
            throw .unsupportedChatTemplate(reason: "no <|im_start|> and <|im_end|> markers")
        }
        let addsDefault = template.contains("!= 'system'") || template.contains("!= \"system\"")
        defaultSystemPrompt = addsDefault ? Self.literalSystemPrompt(in: template) : nil
        if addsDefault && defaultSystemPrompt == nil {
            throw .unsupportedChatTemplate(reason: "default system message is not a literal")
        }
    }

    /// The text between a literal `<|im_start|>system` + newline and the next `<|im_end|>`.
    private static func literalSystemPrompt(in template: String) -> String? {
        for opening in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            guard let start = template.firstRange(of: opening)?.upperBound,
                  let end = template[start...].firstRange(of: "<|im_end|>")?.lowerBound else { continue }
            let prompt = template[start..<end]
            // A prompt built from template expressions is not a literal.
            if prompt.contains("{{") || prompt.contains("{%") || prompt.contains("'") { continue }
            return String(prompt)
        }
        return nil
    }

    /// The prompt text for `messages`, ending with the generation prompt when asked.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var text = ""
        if let defaultSystemPrompt, let first = messages.first, first.role != "system" {
            text += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
        }
        for message in messages {
            text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }
}

extension BPETokenizer {
    /// The token ids of `messages` in the vocabulary's ChatML template.
    ///
    /// Adds no BOS or EOS beyond what the template writes, as `apply_chat_template` does.
    public func encodeChat(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws(TokenizerError) -> [Int] {
        let template = try ChatMLTemplate(chatTemplate: vocabulary.chatTemplate)
        return encode(template.render(messages, addGenerationPrompt: addGenerationPrompt), addSpecial: false)
    }
}

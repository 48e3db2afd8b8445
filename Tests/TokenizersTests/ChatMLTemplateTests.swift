import Testing
import Tokenizers

@Suite("ChatML template")
struct ChatMLTemplateTests {
    let messages = [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello")]

    @Test("messages, default system prompt and generation prompt")
    func render() {
        let plain = ChatMLTemplate()
        #expect(plain.render(messages, addGenerationPrompt: false)
            == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n")
        #expect(plain.render([]) == "<|im_start|>assistant\n")
        let withDefault = ChatMLTemplate(defaultSystemPrompt: "Be brief.")
        #expect(withDefault.render(messages).hasPrefix("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"))
        #expect(withDefault.render(messages).hasSuffix("Hello<|im_end|>\n<|im_start|>assistant\n"))
        let ownSystem = [ChatMessage(role: "system", content: "Own.")] + messages
        #expect(!withDefault.render(ownSystem).contains("Be brief."))
    }

    @Test("a ChatML Jinja template without a default system message has none")
    func noDefault() throws {
        let template = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        #expect(try ChatMLTemplate(chatTemplate: template).defaultSystemPrompt == nil)
    }

    @Test("templates that are not ChatML, or are missing, are typed errors")
    func unsupported() {
        #expect(throws: TokenizerError.unsupportedChatTemplate(reason: "the vocabulary has none")) {
            try ChatMLTemplate(chatTemplate: nil)
        }
        let llama3 = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}"
        let error = #expect(throws: TokenizerError.self) { try ChatMLTemplate(chatTemplate: llama3) }
        #expect(error?.description == "unsupported chat template: no <|im_start|> and <|im_end|> markers")
    }
}

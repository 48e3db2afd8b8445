import Models

/// The LLaMA decoder's `loss(tokens:targets:sequenceLength:accumulatingGradients:)` is the one a
/// ``FineTuning`` run needs.
extension LlamaForCausalLM: CausalLanguageModel {}

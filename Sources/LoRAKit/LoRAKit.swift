// `import LoRAKit` gives every LoRAKit module.
@_exported import LinearAlgebra

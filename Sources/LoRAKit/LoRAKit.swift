// `import LoRAKit` gives every LoRAKit module.
@_exported import LinearAlgebra
@_exported import Layers
@_exported import Optimizers
@_exported import LoRA

// `import LoRAKit` gives every LoRAKit module.
@_exported import LinearAlgebra
@_exported import LoRA
@_exported import Plotting
@_exported import LowRank
@_exported import Layers
@_exported import Optimizers
@_exported import TensorFormats

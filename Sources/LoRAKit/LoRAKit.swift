// `import LoRAKit` gives every library module of the package at once.
@_exported import FileSafety
@_exported import LinearAlgebra
@_exported import LoRA
@_exported import LowRank
@_exported import Models
@_exported import ModelSizing
@_exported import NN
@_exported import Optimizers
@_exported import PEFT
@_exported import Quantization
@_exported import Plotting
@_exported import Reporting
@_exported import TensorFormats
@_exported import Tokenizers
@_exported import Training

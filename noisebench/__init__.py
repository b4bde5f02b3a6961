"""noisebench: label-noise robustness of fine-tuned language models (CE vs CE+SCL)."""

__version__ = "0.1.0"

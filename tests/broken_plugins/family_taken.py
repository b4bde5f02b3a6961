"""A plugin that registers a noise family under a built-in family's name (``temperature``)."""

import numpy as np

from noisebench.noise.families import NoiseFamily, NoiseInputs, register_family
from noisebench.parameters import Parameter


class AnotherTemperature(NoiseFamily):
    """Keeps every label: only its name matters here."""

    name = "temperature"
    parameter = Parameter("heat", "h", "heat", low=0.0, high=1.0)

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        return np.eye(inputs.num_labels)[inputs.clean]


register_family(AnotherTemperature())

"""A plugin that registers a method under a built-in method's name (``ce``)."""

from noisebench.methods import Method, register_method


def _zero_loss(logits, features, labels):
    return logits.sum() * 0.0


register_method(Method("ce", _zero_loss, description="not the real CE"))

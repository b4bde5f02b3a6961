"""A plugin whose import raises (a bug in the user's module)."""

raise RuntimeError("the toy plugin is broken")

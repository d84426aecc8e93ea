"""Make schemathesis 3.x run on the Hypothesis the project installs.

schemathesis 3.39 generates JSON bodies with hypothesis-jsonschema 0.23.1 (its last release), which draws the
properties of an object with `many(...).more()`; Hypothesis 6.170 replaced that pull API by iterating over `many`
inside a `with` block. The shim below gives `many` its old `more()` back, built on the new internals, so the
schema fuzzer generates objects instead of failing on the first one. It goes when schemathesis 4 (which no longer
uses hypothesis-jsonschema) replaces 3.x, or when Hypothesis is pinned below the change.
"""

from hypothesis.internal.conjecture import utils


def _more(self) -> bool:
    """Close the element being drawn (if any) and decide whether to draw another, as many.more() used to."""
    if self._depth is None:
        self._depth = self.data.depth
    self._finish_element()
    if not self._decide():
        return False
    self.count += 1
    self._in_element = True
    self._rejected = False
    return True


if not hasattr(utils.many, "more"):
    utils.many.more = _more

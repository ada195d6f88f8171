"""Model files of our scikit-learn components, stored with skops rather than pickle.

skops rebuilds only the types it is told to trust: scikit-learn's and numpy's by itself, and the
few extra ones a component names. A file that asks for any other type is refused before anything
in it is loaded, so a tampered model in the model archive cannot run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable


class UntrustedModelFile(ValueError):
    """The file holds types beyond those trusted; nothing was loaded."""

    def __init__(self, unexpected: Iterable[str]) -> None:
        self.unexpected = sorted(unexpected)
        super().__init__(f"unexpected types in the model file: {', '.join(self.unexpected)}")


def dump_model(model: Any, path: Path) -> None:
    import skops.io

    skops.io.dump(model, path)


def load_model(path: Path, extra_trusted: Iterable[str] = ()) -> Any:
    """The model in `path`, if it is made only of trusted types (else `UntrustedModelFile`)."""
    import skops.io

    trusted = set(extra_trusted)
    unexpected = set(skops.io.get_untrusted_types(file=path)) - trusted
    if unexpected:
        raise UntrustedModelFile(unexpected)
    return skops.io.load(path, trusted=sorted(trusted))

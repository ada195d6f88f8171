"""Short references a debtor can read out or type: a prefix and six characters, e.g. `H-7K3QXM`.

Random (not a count), so a reference says nothing about how many others there are. The alphabet
leaves out I, L, O and U, which are misread for 1, 0 and V.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6  # 32**6 ≈ 10⁹ references: a collision is rare, and retried by the caller


def short_reference(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def handoff_reference() -> str:
    return short_reference("H")

"""The case system's rules and use cases: plain functions over plain data and the store's records.

Rule modules (claims, interest, fees, plans, deadlines, identifiers, rights) are pure; use-case
modules take the request's database session, apply the rules, write, audit and commit. Nothing
here knows about HTTP. The rules' data files live in `bot/case_system/data/` (`DATA_DIR`).
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

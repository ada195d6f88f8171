"""The verification lockout under parallel attempts, and per debtor (issue 16).

The rules these tests pin down (verification.py):
- however many attempts on one case number arrive at once, from however many conversations and
  replicas, at most `max_verification_failures` (3) of them have their factors compared per lock
  window; the rest are answered "locked" unchecked. So a correct answer hidden among 20 parallel
  guesses is found only if it is one of the first three compared;
- a success never lifts a lock that another attempt set meanwhile. A success that nobody raced
  starts a new window, as it does one attempt after another (test_verification.py,
  test_success_resets_the_failure_count): the database may serialise a burst so that the correct
  attempt runs first and alone, and then at most three more are compared after it;
- a debtor is locked as a whole: three wrong guesses spread over, or aimed at one of, a debtor's
  cases lock verification through all of them, for the same 30 minutes.

The parallel tests run through the HTTP API with a real database (SQLite and PostgreSQL), on two
app instances with their own engines sharing it, as two replicas would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.case_system.contract.fields import timestamp
from bot.case_system.domain import verification

URL = "/api/v1/verifications"
MAX_FAILURES = 3  # the default MAX_VERIFICATION_FAILURES
LOCK_MINUTES = 30  # the default VERIFICATION_LOCK_MINUTES
TRIALS = 10
BURST = 20
KARI = {"case_number": "100001", "birth_date": "1985-03-14"}
# Ola Nordmann has two open cases, 100002 and 100003.
OLA = {"birth_date": "1992-11-02", "national_id": "02919230056"}


def attempt(case_number: str, birth_date: str, conversation_id: str = "web:lockout") -> dict:
    return {"case_number": case_number, "birth_date": birth_date, "channel": "web", "conversation_id": conversation_id}


async def post(client, auth, body) -> tuple[int, dict]:
    response = await client.post(URL, json=body, headers=auth)
    return response.status, await response.json()


@pytest.fixture
def compared(monkeypatch) -> list[bool]:
    """Whether each attempt whose factors were compared with a debtor's matched, in the order
    compared."""
    calls: list[bool] = []
    original = verification.factors_match

    def counting(debtor, tried):
        matched = original(debtor, tried)
        calls.append(matched)
        return matched

    monkeypatch.setattr(verification, "factors_match", counting)
    return calls


def windows(compared: list[bool]) -> list[list[bool]]:
    """`compared` cut after each success: the attempts compared in each lock window."""
    cut: list[list[bool]] = [[]]
    for matched in compared:
        cut[-1].append(matched)
        if matched:
            cut.append([])
    return [window for window in cut if window]


# --- parallel attempts ---------------------------------------------------------------------------


async def test_a_burst_of_parallel_attempts_compares_at_most_the_limit_and_keeps_its_lock(
    client_factory, auth, clock, compared, probe_for
):
    async with client_factory(load_demo=True) as replica_a, client_factory() as replica_b:
        probe = probe_for(replica_a)
        for trial in range(TRIALS):
            compared.clear()
            right = (trial * 7) % BURST  # the one correct attempt, somewhere else in each burst
            bodies = [
                attempt("100001", KARI["birth_date"] if n == right else "1985-03-15", f"web:trial-{trial}-{n}")
                for n in range(BURST)
            ]
            answers = await asyncio.gather(
                *(post((replica_a, replica_b)[n % 2], auth, body) for n, body in enumerate(bodies))
            )

            # No "database is locked", no deadlock: every attempt got the ordinary answer.
            assert [status for status, _ in answers] == [200] * BURST, answers
            # At most three compared per window: the correct answer only among the first three.
            assert max(len(window) for window in windows(compared)) <= MAX_FAILURES, (trial, compared)
            assert len(compared) <= 2 * MAX_FAILURES and compared.count(True) <= 1, (trial, compared)
            outcomes = [body.get("outcome", "verified") for _, body in answers]
            assert outcomes.count("verified") == compared.count(True)
            assert outcomes.count("locked") >= BURST - len(compared)

            # The audit trail tells the same: one event per attempt, the compared ones marked.
            events = [
                event
                for event in await probe.audit_events()
                if (event.conversation_id or "").startswith(f"web:trial-{trial}-")
            ]
            assert len(events) == BURST
            audited = [event.outcome == "verified" for event in events if event.outcome in ("verified", "refused")]
            assert audited == compared

            # The lock the burst set is still there, even when the correct attempt was verified.
            lock = await probe.lock("100001")
            assert lock is not None and lock[1] == clock.now + timedelta(minutes=LOCK_MINUTES), (trial, lock)
            status, body = await post(replica_b, auth, attempt("100001", KARI["birth_date"], f"web:after-{trial}"))
            assert (status, body["outcome"]) == (200, "locked")

            clock.advance(minutes=LOCK_MINUTES)  # the lock expires: the next trial is a new window


async def test_parallel_right_answers_alone_all_verify(client, auth, compared):
    # Reserving a place is not a failure: a debtor answering in three tabs at once is not locked out.
    bodies = [attempt("100001", KARI["birth_date"], f"web:tab-{n}") for n in range(MAX_FAILURES)]
    answers = await asyncio.gather(*(post(client, auth, body) for body in bodies))
    assert [(status, body["verified"]) for status, body in answers] == [(200, True)] * MAX_FAILURES


# --- per debtor ----------------------------------------------------------------------------------


async def test_locking_one_case_locks_the_debtors_other_cases(client, auth, clock):
    for _ in range(MAX_FAILURES - 1):
        assert (await post(client, auth, attempt("100003", "1992-11-03")))[1]["outcome"] == "refused"
    status, body = await post(client, auth, attempt("100003", "1992-11-03"))
    locked_until = timestamp(clock.now + timedelta(minutes=LOCK_MINUTES))
    assert (status, body) == (200, {"verified": False, "outcome": "locked", "locked_until": locked_until})

    # The same debtor's other case, with the right birth date or identity number: locked too.
    status, body = await post(client, auth, attempt("100002", OLA["birth_date"]))
    assert (status, body) == (200, {"verified": False, "outcome": "locked", "locked_until": locked_until})
    by_id = {**attempt("100002", OLA["birth_date"]), "birth_date": None, "national_id": OLA["national_id"]}
    assert (await post(client, auth, by_id))[1]["outcome"] == "locked"

    # Another debtor is not affected.
    assert (await post(client, auth, attempt(**KARI)))[1]["verified"] is True


async def test_guesses_spread_over_a_debtors_cases_share_one_count(client, auth):
    assert (await post(client, auth, attempt("100002", "1992-11-03")))[1]["outcome"] == "refused"
    assert (await post(client, auth, attempt("100003", "1992-11-04")))[1]["outcome"] == "refused"
    assert (await post(client, auth, attempt("100002", "1992-11-05")))[1]["outcome"] == "locked"
    assert (await post(client, auth, attempt("100003", OLA["birth_date"])))[1]["outcome"] == "locked"


async def test_the_debtor_lock_expires_with_the_case_lock(client, auth, clock):
    for _ in range(MAX_FAILURES):
        await post(client, auth, attempt("100003", "1992-11-03"))
    clock.advance(minutes=LOCK_MINUTES - 1)
    assert (await post(client, auth, attempt("100002", OLA["birth_date"])))[1]["outcome"] == "locked"
    clock.advance(minutes=1)
    status, body = await post(client, auth, attempt("100002", OLA["birth_date"]))
    assert (status, body["verified"], body["case_numbers"]) == (200, True, ["100002", "100003"])


async def test_a_success_on_one_case_resets_the_debtors_count(client, auth):
    await post(client, auth, attempt("100002", "1992-11-03"))
    await post(client, auth, attempt("100003", "1992-11-03"))
    assert (await post(client, auth, attempt("100002", OLA["birth_date"])))[1]["verified"] is True
    # Counted again from nothing for the debtor; 100003's own count still holds its one failure.
    assert (await post(client, auth, attempt("100002", "1992-11-03")))[1]["outcome"] == "refused"
    assert (await post(client, auth, attempt("100003", "1992-11-03")))[1]["outcome"] == "refused"

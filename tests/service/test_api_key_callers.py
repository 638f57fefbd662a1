"""Who a request's key and ``Seatledger-Actor`` stand for (``api_keys.authenticate``): the key and
the acting person come from one read, and every way a key can be wrong gives the same answer it
gave when they were two."""

from __future__ import annotations

import re

import pytest

from seatledger.bootstrap import Runtime
from seatledger.clock import ManualClock
from seatledger.domain.errors import InvalidInput, NotPermitted
from seatledger.service import api_keys
from seatledger.service.access import Caller

OWNER = "Owner@Acme.test"
MATE = "mate@acme.test"


@pytest.fixture
def keys(runtime: Runtime) -> dict[str, str]:
    signed = api_keys.sign_up(runtime, name="Acme", owner_email=OWNER)
    owner = api_keys.authenticate(runtime, token=signed.issued.token, actor=None)
    assert owner is not None
    with runtime.uow() as uow:
        uow.persons.ensure(owner.account_id, MATE, at=runtime.clock.now())
        uow.commit()
    mate = api_keys.create_api_key(runtime, caller=owner, email=MATE)
    wide = api_keys.create_api_key(runtime, caller=owner)
    return {"owner": signed.issued.token, "mate": mate.token, "wide": wide.token}


def caller(runtime: Runtime, token: str, actor: str | None) -> Caller | None:
    return api_keys.authenticate(runtime, token=token, actor=actor)


def test_a_bound_key_acts_as_its_person_with_or_without_the_header(
    runtime: Runtime, keys: dict[str, str]
) -> None:
    alone = caller(runtime, keys["mate"], None)
    named = caller(runtime, keys["mate"], "  MATE@acme.test ")
    assert alone is not None and alone == named
    assert alone.email == MATE
    with pytest.raises(NotPermitted, match=re.escape("Only mate@acme.test may act with this key")):
        caller(runtime, keys["mate"], OWNER)
    with pytest.raises(InvalidInput) as refused:
        caller(runtime, keys["mate"], "not an e-mail")
    assert refused.value.field == api_keys.ACTOR_FIELD


def test_an_account_wide_key_acts_as_the_person_named(
    runtime: Runtime, keys: dict[str, str]
) -> None:
    owner = caller(runtime, keys["wide"], OWNER.upper())
    mate = caller(runtime, keys["wide"], MATE)
    assert owner is not None and mate is not None
    assert (owner.email, mate.email) == ("owner@acme.test", MATE)
    bound = caller(runtime, keys["owner"], None)
    assert bound is not None
    assert owner.key_id == mate.key_id != bound.key_id
    with pytest.raises(NotPermitted, match="act for this account"):
        caller(runtime, keys["wide"], "stranger@else.test")
    for missing in (None, "   "):
        with pytest.raises(InvalidInput, match="must name the person acting"):
            caller(runtime, keys["wide"], missing)
    with pytest.raises(InvalidInput, match="must be an e-mail address"):
        caller(runtime, keys["wide"], "not an e-mail")


def test_unknown_wrong_and_revoked_keys_stand_for_nobody_whatever_the_header(
    runtime: Runtime, keys: dict[str, str], clock: ManualClock
) -> None:
    prefix, account, key, _secret = keys["wide"].split(".")
    for token in (
        f"{prefix}.{account}.{key}.wrong",
        f"{prefix}.{account}.key_000000000000000000000000.secret",
        f"{prefix}.acc_nobody.{key}.secret",
        "slk.only.three",
    ):
        for actor in (None, MATE, "not an e-mail"):
            assert caller(runtime, token, actor) is None
    owner = caller(runtime, keys["owner"], None)
    assert owner is not None
    api_keys.revoke_api_key(runtime, caller=owner, key_id=key)
    assert caller(runtime, keys["wide"], MATE) is None


def test_a_key_bound_to_an_erased_person_stands_for_nobody(
    runtime: Runtime, keys: dict[str, str]
) -> None:
    mate = caller(runtime, keys["mate"], None)
    assert mate is not None
    with runtime.uow() as uow:
        uow.persons.erase(mate.account_id, mate.person_id, at=runtime.clock.now())
        uow.commit()
    assert caller(runtime, keys["mate"], None) is None
    # Nor can an account-wide key act as them: the e-mail is gone with the person.
    with pytest.raises(NotPermitted):
        caller(runtime, keys["wide"], MATE)

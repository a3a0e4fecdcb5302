import itertools

import pytest

from edc.patients import pseudonym


def test_iso7064_mod_37_36_reference_vector():
    # Reference vector of ISO 7064 MOD 37,36 (as in python-stdnum's documentation).
    assert pseudonym.check_character("A12425GABC1234002") == "M"
    assert pseudonym.is_valid_check("A12425GABC1234002M")


def test_format():
    pid = pseudonym.make("ES01", 7)
    assert pid.startswith("ES01-0007-") and len(pid) == 11
    assert pseudonym.parse(pid) == ("ES01", 7)


def test_lower_case_and_arabic_digits_accepted():
    pid = pseudonym.make("LB01", 42)
    arabic = pid.lower().translate({ord(str(i)): chr(0x0660 + i) for i in range(10)})
    assert pseudonym.parse(arabic) == ("LB01", 42)


@pytest.mark.parametrize("seq", [1, 7, 99, 1234, 9999])
def test_every_single_substitution_is_detected(seq):
    pid = pseudonym.make("IT01", seq)
    body = pid.replace("-", "")
    for i, ch in enumerate(body):
        for other in pseudonym.ALPHABET:
            if other == ch:
                continue
            typo = body[:i] + other + body[i + 1:]
            assert not pseudonym.is_valid_check(typo), typo


def test_every_adjacent_transposition_is_detected():
    for seq in (12, 345, 6789):
        body = pseudonym.make("JO01", seq).replace("-", "")
        for i in range(len(body) - 1):
            if body[i] == body[i + 1]:
                continue
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2:]
            assert not pseudonym.is_valid_check(swapped)


@pytest.mark.parametrize("bad", ["", "ES01", "ES01-7-K", "ES01-0007", "ES010007K",
                                 "E501-0007-K", "ES01-0007-KK"])
def test_malformed_rejected(bad):
    assert pseudonym.parse(bad) is None


def test_wrong_check_character_rejected():
    pid = pseudonym.make("ES01", 7)
    wrong = next(c for c in pseudonym.ALPHABET if c != pid[-1])
    assert pseudonym.parse(pid[:-1] + wrong) is None


def test_sequence_bounds():
    with pytest.raises(ValueError):
        pseudonym.make("ES01", 0)
    with pytest.raises(ValueError):
        pseudonym.make("ES01", 10000)


def test_ids_distinct_across_sites_and_numbers():
    ids = {pseudonym.make(s, n) for s, n in itertools.product(["ES01", "IT01"], range(1, 500))}
    assert len(ids) == 998

from __future__ import annotations

import pytest

from llm_gateway.backends.stops import StopMatcher


def run(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    matcher = StopMatcher(stops)
    out = []
    for piece in pieces:
        text, hit = matcher.feed(piece)
        out.append(text)
        if hit:
            return "".join(out), True
    out.append(matcher.flush())
    return "".join(out), False


@pytest.mark.parametrize(
    ("stops", "pieces", "expected"),
    [
        ([], ["a", "b"], ("ab", False)),
        (["END"], ["hello ", "world"], ("hello world", False)),
        (["END"], ["hello E", "N", "D more"], ("hello ", True)),
        (["END"], ["ENDING"], ("", True)),
        (["xy", "b"], ["aab", "xy"], ("aa", True)),
        (["\n\n"], ["line\n", "\nnext"], ("line", True)),
        (["abc"], ["ab", "ab", "x"], ("ababx", False)),
        (["abc"], ["ab"], ("ab", False)),
    ],
)
def test_stop_sequences_are_cut_even_across_pieces(
    stops: list[str], pieces: list[str], expected: tuple[str, bool]
) -> None:
    assert run(stops, pieces) == expected


def test_text_that_cannot_start_a_stop_is_not_held_back() -> None:
    matcher = StopMatcher(["STOP"])
    assert matcher.feed("hello") == ("hello", False)
    assert matcher.feed(" ST") == (" ", False)
    assert matcher.feed("ART") == ("START", False)


def test_the_stop_that_ended_the_text_is_named() -> None:
    matcher = StopMatcher(["END", "\n\n"])
    assert matcher.matched is None
    assert matcher.feed("one\n") == ("one", False)
    assert matcher.feed("\ntwo END") == ("", True)
    assert matcher.matched == "\n\n"


def test_the_earliest_of_two_stops_wins_and_is_named() -> None:
    matcher = StopMatcher(["later", "soon"])
    assert matcher.feed("it is soon, not later") == ("it is ", True)
    assert matcher.matched == "soon"

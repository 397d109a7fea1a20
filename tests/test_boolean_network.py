"""The .bnet parser: rules are parsed (never eval-ed), malformed rules name their line and token."""
import pytest

from sim.boolean.network import load_bnet, parse_bnet
from sim.errors import RuleSyntaxError, UnknownNameError


def test_parse_evaluate_and_round_trip():
    import numpy as np

    net = parse_bnet("targets, factors\nA, A  # input\nB, !A & (C | 0)\nC, A | !B & C\n", "t.bnet")
    assert net.nodes == ["A", "B", "C"] and net.inputs == ["A"]
    assert net.regulators("C") == {"A", "B", "C"} and net.source["B"] == "t.bnet:3"
    states = np.array([[0, 0, 1], [1, 1, 0]], dtype=bool)
    assert net.evaluate("B", states).tolist() == [True, False]  # !A & C: (1, 1) and (0, ...)
    assert net.evaluate("C", states).tolist() == [True, True]  # & binds tighter than |
    again = parse_bnet(net.to_bnet())
    assert again.rules == net.rules


@pytest.mark.parametrize("text, message", [
    ("A, B &\nB, B\n", r"t.bnet:1: expected a node name, a constant or '\(', found the end of the rule"),
    ("A, (B | A\nB, B\n", r"t.bnet:1: expected '\)', found the end of the rule"),
    ("B, B\nA, B $ A\n", r"t.bnet:2: unexpected character '\$'"),
    ("A, B) \nB, B\n", r"t.bnet:1: expected '&', '\|' or the end of the rule, found '\)' at column 2"),
    ("A B\n", r"t.bnet:1: expected 'target, function', found 'A B'"),
    ("A, A\nA, !A\n", r"t.bnet:2: node 'A' is defined twice \(first at t.bnet:1\)"),
    ("A,\n", r"t.bnet:1: the rule is empty"),
    ("A, __import__('os').system('x')\n", r"t.bnet:1: unexpected character \"'\""),
    ("# nothing\n", r"no rules found"),
])
def test_malformed_rules_name_line_and_token(text, message):
    with pytest.raises(RuleSyntaxError, match=message):
        parse_bnet(text, "t.bnet")


def test_unknown_regulator_and_fixing():
    with pytest.raises(UnknownNameError, match=r"Unknown node 'Bb' in t.bnet:1 \(rule of 'A'\). Did you mean 'B'"):
        parse_bnet("A, Bb\nB, B\n", "t.bnet")
    net = parse_bnet("A, A\nB, !A\n")
    assert net.fixed({"B": 1}).rule_text("B") == "1"
    with pytest.raises(UnknownNameError, match="Did you mean 'B'"):
        net.fixed({"b": 0})
    with pytest.raises(RuleSyntaxError, match="Boolean network file not found"):
        load_bnet("/nonexistent.bnet")


def test_every_published_network_and_the_cafev_model_parse():
    from pathlib import Path

    from sim.boolean.conditions import network_path

    files = sorted((Path(__file__).parent / "data" / "bnet").glob("*.bnet"))
    assert len(files) == 7
    for path in files + [network_path()]:
        assert load_bnet(path).nodes


def test_names_the_engines_reject_are_refused_at_parse_time():
    # biodivine-aeon and MaBoSS accept letters, digits and '_' only (a '.' in a name crashed aeon before)
    with pytest.raises(RuleSyntaxError, match=r"'A.b' is not a node name"):
        parse_bnet("A.b, A.b\n")
    with pytest.raises(RuleSyntaxError, match=r"unexpected character ':'"):
        parse_bnet("A, B:x\nB, B\n")

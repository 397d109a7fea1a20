"""Fuzzing the spec loader and the .bnet rule parser (hypothesis): whatever the input, the answer is a parsed object
or one of the package's own errors (CafevError) naming where the problem is; never a TypeError, KeyError,
RecursionError, UnicodeDecodeError or a leaked pydantic ValidationError, and never a hang.

The property tests are derandomised (the same examples on every run, so CI is reproducible); the plain tests at the
end pin each bug the fuzzing found, with the concrete input.
"""
import copy
import json
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.boolean.network import BooleanNetwork, load_bnet, parse_bnet
from sim.errors import CafevError, RuleSyntaxError, SpecError
from sim.spec import ExperimentSpec, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(derandomize=True, database=None, deadline=2000,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# --- specs -----------------------------------------------------------------------------------------------------------

CONDITIONS = [{"name": "control"},
              {"name": "CAF-EV", "ev_mode": "coculture", "caf_ratio": 3.0},
              {"name": "CAF-EV + X", "ev_mode": "addition", "ev_dose_ug": 20, "ev_source": "NF", "hypoxia": True,
               "chemo_loading": False, "assay_time_h": 48,
               "interventions": {"GW4869": 5, "antagomir": {"dose": 1, "mirna": "miR-21"}},
               "knockouts": ["PTEN"], "knockdowns": {"STAT3": 0.5}, "overexpression": {"AKT1": 2.0},
               "parameters": {"k_endocytosis": 0.1}}]
BASES = [
    {"experiment": {"name": "t", "scenario": "pdac_gem", "analysis": "timecourse", "seed": 1, "description": "d"},
     "timecourse": {"end_time_h": 24, "points": 5, "readouts": ["PTEN"], "pretreatment_h": 12},
     "conditions": CONDITIONS},
    {"experiment": {"name": "d", "scenario": "pdac_gem", "analysis": "dose_response"},
     "dose_response": {"doses": [0.01, 0.1, 1.0], "assay_time_h": 72, "pretreatment_h": 48, "control": "control",
                       "references": {"CAF-EV + X": "CAF-EV"}, "species": ["PTEN"], "min_dose": 0.001,
                       "max_dose": 10.0},
     "conditions": CONDITIONS},
    {"experiment": {"name": "b", "scenario": "pdac_gem", "analysis": "boolean"},
     "boolean": {"assay_time_h": 72, "dose": 0.05, "samples": 200, "knockouts": ["PTEN", "nSMase2"]},
     "conditions": CONDITIONS},
    {"experiment": {"name": "s", "scenario": "pdac_gem", "analysis": "sweep"},
     "sweep": {"design": "grid", "n": 8, "condition": "CAF-EV", "reference": "control", "readout": "species",
               "statistic": "at", "time_h": 24, "factors": [{"name": "caf_ratio", "low": 1, "high": 3},
                                                             {"name": "k", "low": 0.1, "high": 10, "scale": "log",
                                                              "points": 3, "unit": "1/h"}]},
     "conditions": CONDITIONS[:2]},
    {"experiment": {"name": "k", "scenario": "pdac_gem", "analysis": "screen"},
     "screen": {"genes": ["PTEN", "AKT"], "pairwise": True, "condition": "CAF-EV", "reference": "control",
                "perturbations": [{"kind": "knockout"}, {"kind": "knockdown", "level": 0.2},
                                  {"kind": "overexpression", "level": 5}], "dose": 0.05, "toxicity_threshold": 0.3},
     "conditions": CONDITIONS[:2]},
] + [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "experiments").glob("*.toml"))]
for _base in BASES:  # every base is valid (and the catalogue is loaded before any deadline is timed)
    parse_spec(_base, "base")

SPEC_KEYS = ["experiment", "name", "description", "scenario", "analysis", "seed", "timecourse", "end_time_h", "points",
             "readouts", "conditions", "dose_response", "doses", "n_doses", "min_dose", "max_dose", "references",
             "control", "sweep", "factors", "low", "high", "scale", "design", "readout", "screen", "genes",
             "perturbations", "kind", "level", "boolean", "knockouts", "samples", "dose", "ev_mode", "interventions",
             "knockdowns", "overexpression", "parameters", "mirna", "assay_time_h", "pretreatment_h"]
KEYS = st.sampled_from(SPEC_KEYS) | st.text(max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-2 ** 70, 2 ** 70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
           | st.sampled_from(["pdac_gem", "control", "CAF-EV", "coculture", "sweep", "screen", "boolean", "timecourse",
                              "dose_response", "PTEN", "knockdown", "log", "..", "a/b", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=12)
# a dict given to parse_spec from Python (not from TOML) may have keys that are not strings
PY_KEYS = KEYS | st.integers(0, 3) | st.none() | st.tuples(st.integers(0, 1))
PY_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(PY_KEYS, inner, max_size=4), max_leaves=12)


def _paths(node, prefix=()):
    """Every (path, value) in a nested dict/list, the root included."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated_specs(draw, keys=KEYS, values=VALUES):
    """A valid base spec with one to three mutations: a key or item dropped, a value replaced, a key added."""
    spec = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(spec))
        path, node = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        if not path:  # the root
            if action == "replace":
                return draw(values)
            if action == "add":
                spec[draw(keys)] = draw(values)
            continue
        parent = spec
        for p in path[:-1]:
            parent = parent[p]
        if action == "drop":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(values)
        elif isinstance(node, dict):
            node[draw(keys)] = draw(values)
        elif isinstance(node, list):
            node.append(draw(values))
        else:
            parent[path[-1]] = draw(values)
    return spec


def _json_equal(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def check_parse_spec(data):
    try:
        spec = parse_spec(data, "fuzz.toml")
    except CafevError as exc:
        assert isinstance(exc, SpecError), f"{type(exc).__name__}: {exc}"
        assert str(exc).startswith("fuzz.toml: "), str(exc)
        return
    assert isinstance(spec, ExperimentSpec)
    dumped = spec.model_dump(mode="json")
    again = parse_spec(dumped, "round-trip")  # what a valid spec writes, a spec reads back unchanged
    assert _json_equal(again.model_dump(mode="json"), dumped)


@pytest.mark.slow
@settings(FUZZ, max_examples=600)
@given(mutated_specs(PY_KEYS, PY_VALUES))
def test_parse_spec_on_mutated_specs_returns_a_spec_or_a_spec_error(data):
    check_parse_spec(data)


def _nested(value, depth: int):
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.slow
@settings(FUZZ, max_examples=300)
@given(PY_VALUES | st.dictionaries(PY_KEYS, PY_VALUES, max_size=6))
def test_parse_spec_on_arbitrary_values_returns_a_spec_or_a_spec_error(data):
    check_parse_spec(data)


def _toml_value(value) -> str:
    """A TOML literal of a JSON-like value (None is not TOML: written as garbage, which the loader must reject)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # TOML basic strings share JSON's escapes, except lone surrogates
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    items = (f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(items) + "}"


def _toml_text(spec: dict) -> str:
    """TOML text of a spec: scalars of the top level first, then one [table] or [[array]] per key."""
    if not isinstance(spec, dict):  # a mutation replaced the whole spec
        return f"experiment = {_toml_value(spec)}\n"
    scalars, tables = [], []
    for key, value in spec.items():
        k = json.dumps(str(key), ensure_ascii=False)
        if isinstance(value, dict):
            tables.append(f"[{k}]\n" + "".join(f"{json.dumps(str(kk), ensure_ascii=False)} = {_toml_value(v)}\n"
                                                for kk, v in value.items()))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables += [f"[[{k}]]\n" + "".join(f"{json.dumps(str(kk), ensure_ascii=False)} = {_toml_value(v)}\n"
                                              for kk, v in item.items()) for item in value]
        else:
            scalars.append(f"{k} = {_toml_value(value)}\n")
    return "".join(scalars) + "\n".join(tables)


GARBAGE_LINES = st.sampled_from([
    "[experiment", "[[conditions]", "name = ", "= 1", "x = [[[[", "x = {a = {b = {", "seed = 1979-05-27T07:32:00Z",
    "seed = 07:32:00", "when = 1979-05-27", "[experiment.name]", "experiment = 1", "conditions = []",
    "conditions = [1, 2]", "[conditions]", "name = '''multi\nline'''", "x = \"\\ud800\"", "x = 1_000_000",
    "x = 0xff", "x = -inf", "x = nan", "\ufeffname = 'bom'", "name = \"\x00\"", "x = 1e400", "[a.b.c.d.e]",
    "dose = 1e-400", "'quoted key' = 1", "a.b.c = 2", "x = " + "[" * 3000 + "]" * 3000,
    "x = " + "{a = " * 2000 + "1" + "}" * 2000])


@st.composite
def toml_texts(draw):
    """TOML text: a mutated valid spec written out, with garbage lines or characters spliced in."""
    lines = _toml_text(draw(mutated_specs()) if draw(st.booleans()) else draw(st.sampled_from(BASES))).splitlines()
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(lines)))
        lines.insert(where, draw(GARBAGE_LINES | st.text(max_size=30)))
    if lines and draw(st.booleans()):  # cut the text short somewhere
        text = "\n".join(lines)
        return text[:draw(st.integers(0, len(text)))]
    return "\n".join(lines)


def _load(tmp_path, content: bytes):
    path = tmp_path / "fuzz.toml"
    path.write_bytes(content)
    try:
        spec = load_spec(path)
    except CafevError as exc:
        assert isinstance(exc, SpecError), f"{type(exc).__name__}: {exc}"
        assert str(path) in str(exc), str(exc)  # the message names the file
        return None
    assert isinstance(spec, ExperimentSpec)
    return spec


@pytest.mark.slow
@settings(FUZZ, max_examples=300)
@given(text=st.text(max_size=200) | toml_texts(),
       encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1", "surrogatepass"]))
@example(text="[experiment]\nname = \"caf\u00e9\"\n", encoding="latin-1")
@example(text="x = " + "[" * 5000 + "]" * 5000, encoding="utf-8")
@example(text="x = \"\ud800\"", encoding="surrogatepass")
def test_load_spec_on_arbitrary_text_returns_a_spec_or_a_spec_error(tmp_path, text, encoding):
    if encoding == "surrogatepass":  # lone surrogates (st.text draws them) as the invalid UTF-8 they encode to
        content = text.encode("utf-8", "surrogatepass")
    else:
        content = text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")
    _load(tmp_path, content)


@pytest.mark.slow
@settings(FUZZ, max_examples=150)
@given(content=st.binary(max_size=300))
@example(content=b"\xff\xfe[experiment]\n")
@example(content=b"[experiment]\nname = \"\xe9\"\n")
def test_load_spec_on_arbitrary_bytes_returns_a_spec_or_a_spec_error(tmp_path, content):
    _load(tmp_path, content)


# --- .bnet rules -----------------------------------------------------------------------------------------------------

BNET_TOKENS = st.sampled_from(["A", "B", "c_1", "A1", "0", "1", "true", "false", "True", "&", "|", "!", "(", ")", ",",
                               " ", "  ", "\t", "\n", "\r\n", "#", "# comment\n", "targets, factors\n", "A, ", "B, ",
                               "\u00e9", "\u2028", "\x0c", "$", ".", "-", "'", "\u00a0", "\x00", "((((", "!!!!"])


def _rules(depth: int):
    names = st.sampled_from(["A", "B", "C", "0", "1"])
    if depth == 0:
        return names
    sub = _rules(depth - 1)
    return st.one_of(names, sub.map(lambda r: f"!{r}"), sub.map(lambda r: f"({r})"),
                     st.tuples(sub, st.sampled_from([" & ", " | ", "&", "|"]), sub).map("".join))


@st.composite
def bnet_texts(draw):
    """A network of well-formed rules over A, B, C, with tokens of the grammar spliced into some lines."""
    lines = ["targets, factors"] if draw(st.booleans()) else []
    lines += [f"{n}, {draw(_rules(3))}" for n in ("A", "B", "C")]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        cut = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:cut] + "".join(draw(st.lists(BNET_TOKENS, max_size=6))) + lines[i][cut:]
    return "\n".join(lines)


def check_bnet(text: str):
    try:
        net = parse_bnet(text, "t.bnet")
    except CafevError as exc:
        assert isinstance(exc, RuleSyntaxError) or type(exc).__name__ == "UnknownNameError", repr(exc)
        assert "t.bnet" in str(exc), str(exc)
        return None
    assert isinstance(net, BooleanNetwork) and net.nodes
    assert parse_bnet(net.to_bnet(), "again.bnet").rules == net.rules  # what it writes, it reads back
    return net




@pytest.mark.slow
@settings(FUZZ, max_examples=600)
@given(st.lists(BNET_TOKENS, max_size=60).map("".join) | bnet_texts() | st.text(max_size=100))
@example("A, " + "(" * 5000)
@example("A, " + "(" * 5000 + "A" + ")" * 5000)
@example("A, " + "!" * 5000 + "A")
@example("A, " + "!(" * 3000 + "A" + ")" * 3000)
@example("A, " + "A & " * 20000 + "A")
def test_parse_bnet_on_arbitrary_text_returns_a_network_or_a_rule_syntax_error(text):
    check_bnet(text)


@pytest.mark.slow
@settings(FUZZ, max_examples=100)
@given(content=st.binary(max_size=200))
@example(content=b"A, A\nB, \xff\n")
def test_load_bnet_on_arbitrary_bytes_returns_a_network_or_a_rule_syntax_error(tmp_path, content):
    path = tmp_path / "fuzz.bnet"
    path.write_bytes(content)
    try:
        assert load_bnet(path).nodes
    except CafevError as exc:
        assert str(path) in str(exc), str(exc)


# --- the bugs the fuzzing found, one concrete input each --------------------------------------------------------------

SPEC = {"experiment": {"name": "t", "scenario": "pdac_gem", "analysis": "timecourse"}, "conditions": [{"name": "c"}]}


def test_a_spec_that_is_not_utf8_is_a_spec_error_naming_the_file(tmp_path):
    # was UnicodeDecodeError from Path.read_text
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[experiment]\nname = "caf\xe9"\n')
    with pytest.raises(SpecError, match=r"latin1.toml: not valid TOML: not UTF-8 text \(byte 0xe9 at offset 24\)"):
        load_spec(path)


def test_a_spec_nested_too_deeply_for_tomllib_is_a_spec_error(tmp_path):
    # was RecursionError from tomllib (it parses nested arrays and inline tables recursively)
    path = tmp_path / "deep.toml"
    for text in ("x = " + "[" * 5000 + "]" * 5000, "x = " + "{a = " * 3000 + "1" + "}" * 3000):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SpecError, match=r"deep.toml: not valid TOML: arrays or inline tables nested too deeply"):
            load_spec(path)


def test_a_condition_key_that_is_not_a_string_is_a_spec_error():
    # was TypeError "keywords must be strings" (a Condition is built through its own __init__(**data))
    with pytest.raises(SpecError, match=r"s.toml: the experiment spec is not valid:\n  conditions: Keys should be "
                                        r"strings. Got 1 in conditions\[0\]."):
        parse_spec({**SPEC, "conditions": [{"name": "c", 1: 2}]}, "s.toml")


def test_a_deeply_nested_value_is_shown_shortened():
    # was RecursionError from repr() of the value found, while writing the SpecError
    deep = _nested("PTEN", 5000)
    with pytest.raises(SpecError, match=r"timecourse.readouts\[0\]: Input should be a valid string "
                                        r"\(found \[+\.\.\.\]+\)"):
        parse_spec({**SPEC, "timecourse": {"readouts": deep}}, "s.toml")
    # (not as hypothesis examples: hypothesis cannot print them)
    for data in ({**SPEC, "conditions": [{"name": "c", "parameters": {"k": _nested(1.0, 5000)}}]},
                 {**SPEC, "experiment": _nested({}, 5000)}, _nested({}, 5000)):
        check_parse_spec(data)


@pytest.mark.parametrize("opening", ["(", "!", "!("])
def test_rules_nested_deeper_than_the_limit_are_a_rule_syntax_error(opening):
    # was RecursionError from the recursive-descent parser (5000 '(' or '!')
    from sim.boolean.network import MAX_NESTING

    closing = ")" * opening.count("(")
    at_limit = opening * (MAX_NESTING // len(opening))
    net = parse_bnet(f"A, A\nB, {at_limit}A{closing * (MAX_NESTING // len(opening))}\n", "t.bnet")
    assert net.regulators("B") == {"A"}
    too_deep = opening * 5000
    with pytest.raises(RuleSyntaxError, match=rf"t.bnet:2: nesting deeper than {MAX_NESTING} \('\(' and '!' inside "
                                              rf"one another\) at column {MAX_NESTING + 1}; split the rule"):
        parse_bnet(f"A, A\nB, {too_deep}A{closing * 5000}\n", "t.bnet")


def test_a_bnet_file_that_is_not_utf8_is_a_rule_syntax_error_naming_the_file(tmp_path):
    # was UnicodeDecodeError from Path.read_text
    path = tmp_path / "latin1.bnet"
    path.write_bytes(b"A, A\nB, A & \xe9\n")
    with pytest.raises(RuleSyntaxError, match=r"latin1.bnet: not UTF-8 text \(byte 0xe9 at offset 12\)"):
        load_bnet(path)


@pytest.mark.slow
def test_a_long_rule_is_tokenised_in_linear_time():
    # the tokeniser copied the rest of the rule at every token (quadratic: 100,000 terms took 3 s, 1,000,000 would
    # take minutes); now one pass
    import time

    start = time.perf_counter()
    net = parse_bnet("A, " + "A & " * 200_000 + "!A\n", "t.bnet")
    assert time.perf_counter() - start < 5
    assert len(net.rules["A"][1]) == 200_001

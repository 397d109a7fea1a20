"""Attractors on published networks: biodivine-aeon (async) against cafev's own exhaustive enumeration, MaBoSS as a
second tool where enumeration is out of reach, and the synchronous engine on hand-checkable networks.

Expected counts and how they were obtained (published networks in tests/data/bnet, README there):
- toggle switch and oscillator: by hand (below).
- Fauré 2006 cell cycle (10 nodes): async 1 fixed point (CycD=0) + 1 complex attractor of 112 states (CycD=1);
  exhaustive enumeration of all 1024 states gives the same; PyBoolNet's note agrees (steady state 0000001011,
  trap space ---1--0--0).
- Tournier 2009 apoptosis (12 nodes): async 2 fixed points + 1 complex attractor of 56 states; enumeration of 4096
  states agrees; PyBoolNet: 2 steady states, trap space -110-00----1.
- Calzone 2010 cell fate (28 nodes, 2^28 states: no enumeration): aeon finds 27 fixed points and no other
  attractor; MaBoSS trajectories from uniformly random states end, all of them, in exactly those 27 fixed points.
- raf, n12c5, randomnet_n15k3, davidich_yeast: enumeration (both semantics) = aeon (async).
"""
import math
from pathlib import Path

import pandas as pd
import pytest

from sim.boolean.exhaustive import attractor_states, sync_cycle_order
from sim.boolean.network import load_bnet, parse_bnet
from sim.cli import main
from sim.engines.boolean import (attractors, fixed_points, load_network, minimal_trap_spaces, save_network,
                                 summary_line)
from sim.errors import InvalidValueError

BNET = Path(__file__).parent / "data" / "bnet"


def net(name):
    return load_bnet(BNET / f"{name}.bnet")


def test_hand_checked_toggle_and_oscillator():
    toggle = parse_bnet("A, !B\nB, !A\n")
    a = attractors(toggle, "async", method="exhaustive")
    assert a[["A", "B"]].values.tolist() == [["0", "1"], ["1", "0"]] and set(a["kind"]) == {"fixed"}
    s = attractors(toggle, "sync")  # synchronous: the two fixed points plus the 2-cycle 00 <-> 11
    assert summary_line(s) == "3 attractors: 2 fixed, 1 cyclic/complex"
    assert s.loc[s["kind"] == "cyclic", ["size", "A", "B"]].values.tolist() == [[2, "*", "*"]]
    osc = parse_bnet("A, !B\nB, A\n")  # negative loop: one 4-state cycle in both semantics
    for update, kind in (("sync", "cyclic"), ("async", "complex")):
        t = attractors(osc, update, method="exhaustive")
        assert t[["kind", "size"]].values.tolist() == [[kind, 4]]
    cycle = sync_cycle_order(osc, attractor_states(osc, "sync")[0])
    assert [tuple(map(int, s)) for s in cycle] == [(0, 0), (1, 0), (1, 1), (0, 1)]


@pytest.mark.parametrize("name, expected", [
    ("faure_cellcycle", [("fixed", 1), ("complex", 112)]),
    ("tournier_apoptosis", [("fixed", 1), ("fixed", 1), ("complex", 56)]),
    ("raf", [("fixed", 1), ("complex", 2)]),
    ("n12c5", [("fixed", 1), ("complex", 2), ("complex", 2), ("complex", 4), ("complex", 4)]),
    ("randomnet_n15k3", [("fixed", 1)] * 3),
    ("davidich_yeast", [("fixed", 1)] * 12),
])
def test_aeon_matches_exhaustive_enumeration(name, expected):
    network = net(name)
    symbolic = attractors(network, "async")
    enumerated = attractors(network, "async", method="exhaustive")
    assert symbolic.equals(enumerated)
    assert list(zip(symbolic["kind"], symbolic["size"])) == expected


def test_faure_details_and_knockout():
    network = net("faure_cellcycle")
    table = attractors(network)
    assert "".join(table.loc[0, network.nodes]) == "0000001011"  # PyBoolNet steady state (file order of nodes)
    assert fixed_points(network).values.tolist() == [[0, 0, 0, 0, 0, 0, 1, 0, 1, 1]]
    assert len(minimal_trap_spaces(network)) == 2
    ko = attractors(network, fixed={"cdh1": 0})  # cdh1 knockout: both attractors become complex (32 and 128 states)
    assert sorted(ko["size"]) == [32, 128] and (ko["cdh1"] == "0").all()
    assert ko.equals(attractors(network, fixed={"cdh1": 0}, method="exhaustive"))


def test_synchronous_engine_matches_pyboolnet_note_on_faure():
    # PyBoolNet (faure_cellcycle_attractors.md): synchronous STG complete, the steady state + one cyclic attractor
    table = attractors(net("faure_cellcycle"), "sync")
    assert summary_line(table) == "2 attractors: 1 fixed, 1 cyclic/complex"
    assert table.loc[1, "kind"] == "cyclic" and table.loc[1, "size"] == 7


@pytest.mark.slow
def test_calzone_fixed_points_confirmed_by_maboss():
    from sim.engines.maboss import simulate

    network = net("calzone_cellfate")
    table = attractors(network)
    assert len(table) == 27 and set(table["kind"]) == {"fixed"}
    result = simulate(network, {n: 0.5 for n in network.nodes}, max_time=200, time_tick=10, samples=20000, seed=1)
    assert result.fixed_points["probability"].sum() == pytest.approx(1.0)  # every trajectory ended in a fixed point
    found = {frozenset() if s == "<nil>" else frozenset(s.split(" -- ")) for s in result.fixed_points["state"]}
    aeon = {frozenset(n for n in network.nodes if row[n] == "1") for _, row in table.iterrows()}
    assert found == aeon


def test_sbml_qual_round_trip(tmp_path):
    network = net("tournier_apoptosis")
    path = save_network(network, tmp_path / "t.sbml")
    again = load_network(path)
    assert sorted(again.nodes) == sorted(network.nodes)
    cols = sorted(network.nodes)
    assert attractors(again)[cols].equals(attractors(network)[cols])


def test_exhaustive_refuses_large_networks():
    with pytest.raises(InvalidValueError, match="limited to 22 free nodes"):
        attractors(net("calzone_cellfate"), "sync")


def test_cli_attractors_file_and_summary(tmp_path, capsys):
    assert main(["attractors", str(BNET / "faure_cellcycle.bnet"), "-o", str(tmp_path)]) == 0
    assert "2 attractors: 1 fixed, 1 cyclic/complex" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "attractors.csv", dtype=str)
    assert list(table.columns[:3]) == ["attractor", "kind", "size"] and table.loc[1, "size"] == "112"
    assert main(["attractors", str(BNET / "faure_cellcycle.bnet"), "--update", "sync", "--fix", "cdh1=0",
                 "-o", str(tmp_path / "s")]) == 0
    assert "0 fixed" in capsys.readouterr().out
    assert main(["attractors", str(BNET / "faure_cellcycle.bnet"), "--fix", "cdh=0"]) == 2
    err = capsys.readouterr().err
    assert "Unknown node 'cdh'" in err and "Did you mean 'cdh1'" in err
    assert main(["attractors", str(BNET / "faure_cellcycle.bnet"), "--fix", "cdh1"]) == 2
    assert "--fix takes NODE=0 or NODE=1" in capsys.readouterr().err


def test_maboss_matches_the_analytic_switch_on_and_is_seeded():
    # one node switched on at rate k from 0: P(on at t) = 1 - exp(-k t) (Stoll et al. 2012, continuous-time Markov)
    from sim.engines.maboss import simulate

    network = parse_bnet("S, S\nA, S\n")
    result = simulate(network, {"S": 1}, rates={"A": (0.2, 1.0)}, max_time=5, time_tick=0.5, samples=20000, seed=7)
    expected = 1 - math.exp(-0.2 * 5)
    assert result.final["A"] == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / 20000))
    assert result.final_states.sum() == pytest.approx(1.0) and set(result.final_states.index) == {"S", "S -- A"}
    again = simulate(network, {"S": 1}, rates={"A": (0.2, 1.0)}, max_time=5, time_tick=0.5, samples=20000, seed=7)
    assert again.final.equals(result.final) and again.trajectories.equals(result.trajectories)
    with pytest.raises(InvalidValueError, match="must be finite and >= 0"):
        simulate(network, {"S": 1}, rates={"A": (-1.0, 1.0)})


def test_many_free_inputs_are_refused_before_any_work(capsys):
    from sim.boolean.conditions import network_path

    assert main(["attractors", str(network_path())]) == 2
    err = capsys.readouterr().err
    assert "has 25 unfixed inputs" in err and "--fix NODE=0/1" in err

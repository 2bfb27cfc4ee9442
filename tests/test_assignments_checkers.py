"""The exercise checkers (tcplab.exercises) and the socket-table parser (tcplab.procnet).

Every checker gets a right, a wrong and malformed answers; a malformed answer must give a
helpful message (naming what is accepted), never an exception.
"""

from __future__ import annotations

import re

import pytest

from tcplab import TcpState as S
from tcplab import exercises as ex
from tcplab.exercises import (BUGS, CLOSING_EVENTS, CLOSING_STATES, DUMPS, EXERCISES,
                              EXTENDED_EVENTS, SCHEDULES, SUSPECTS, TARGETS, Feedback, check,
                              closing_transitions, reference_next_state, suspect_network,
                              waits_for)
from tcplab.procnet import SocketRow, parse_dump, parse_line, split_address
from tcplab.scenarios import run_script
from tcplab.transitions import TRANSITIONS

# ------------------------------------------------------------------------ reference answers

STEER = {
    "both-closing": ["deliver client FIN,ACK", "deliver server FIN,ACK"],
    "half-open": ["deliver client SYN", "deliver server SYN,ACK", "drop client ACK"],
    "fin-wait-2": ["deliver client FIN,ACK", "deliver server ACK"],
    "time-wait-last-ack": ["drop server ACK", "deliver server FIN,ACK"],
    "both-syn-received": ["deliver client SYN", "deliver server SYN"],
}
BUG_ANSWERS = {
    "acme": ("E", ["server listen", "client connect", "settle", "client close",
                   "deliver client FIN,ACK", "server close", "drop server ACK",
                   "deliver server FIN,ACK"]),
    "boreal": ("C", ["server listen", "client connect", "settle", "client close", "settle",
                     "server close", "deliver server FIN,ACK", "drop client ACK", "run"]),
    "cobalt": ("B", ["server listen", "client connect", "settle", "client abort",
                     "server abort", "settle"]),
    "dune": ("G", ["server listen", "client connect", "settle", "client close", "settle",
                   "server close", "settle"]),
}


@pytest.fixture(autouse=True)
def instructor_key(monkeypatch):
    """Grade find-the-bug choices as the instructor's grader does: the key is not in the
    package, so these tests pass it (BUG_ANSWERS) the way an autograder may."""
    monkeypatch.setenv(ex.KEY_VARIABLE, ",".join(f"{k}={c}" for k, (c, _) in BUG_ANSWERS.items()))


def pairs(name):
    return [(d["client"].rfc, d["server"].rfc) for d in SCHEDULES[name].expected()]


def right_answer(ex_id):
    """(args, kwargs) of a right answer for every exercise in the registry."""
    kind, name = ex_id.split("/")
    if kind == "predict":
        return (pairs(name),), {}
    if kind == "decode":
        states = DUMPS[name].expected()
        return ([s.rfc for s in states],), {"waiting_for": [waits_for(s) for s in states]}
    if kind == "steer":
        return (STEER[name],), {}
    if kind == "implement":
        return (reference_next_state,), {}
    if kind == "find-bug":
        choice, scenario = BUG_ANSWERS[name]
        return (), {"choice": choice, "scenario": scenario}
    raise AssertionError(ex_id)


def wrong_answer(ex_id):
    kind, name = ex_id.split("/")
    if kind == "predict":
        p = pairs(name)
        p[-1] = ("LISTEN", "LISTEN")
        return (p,), {}
    if kind == "decode":
        return (["LISTEN"] * len(DUMPS[name].expected()),), {}
    if kind == "steer":
        return (["drop client SYN"] if name in ("half-open", "both-syn-received")
                else ["drop server FIN,ACK"] if name != "fin-wait-2"
                else ["drop client FIN,ACK"],), {}
    if kind == "implement":
        return (lambda state, event: state,), {}
    if kind == "find-bug":
        choice, _ = BUG_ANSWERS[name]
        other = "A" if choice != "A" else "D"
        return (), {"choice": other, "scenario": ["server listen", "client connect", "settle"]}
    raise AssertionError(ex_id)


def test_every_kind_is_registered():
    kinds = {e.kind for e in EXERCISES.values()}
    assert kinds == {"predict", "decode", "steer", "implement", "find-bug"}
    assert len(EXERCISES) >= 15


@pytest.mark.parametrize("ex_id", sorted(EXERCISES))
def test_right_answer_is_right(ex_id):
    args, kwargs = right_answer(ex_id)
    fb = check(ex_id, *args, **kwargs)
    assert isinstance(fb, Feedback)
    assert fb.ok and fb.score == 1 and not fb.malformed, fb.text()
    fb.require()                     # what an otter test does: silent when right
    fb.require_readable()
    assert "✓" in fb.text() and "✓" in fb.html()


@pytest.mark.parametrize("ex_id", sorted(EXERCISES))
def test_wrong_answer_is_wrong_with_feedback(ex_id):
    args, kwargs = wrong_answer(ex_id)
    fb = check(ex_id, *args, **kwargs)
    assert not fb.ok and not fb.malformed and fb.score < 1, fb.text()
    fb.require_readable()            # readable, so the format check passes ...
    with pytest.raises(AssertionError) as err:
        fb.require()                 # ... but the grading check fails, showing the feedback
    assert fb.message in str(err.value)
    assert "✗" in fb.text()


MALFORMED = [None, "", ..., 42, 3.5, True, {"x": 1}, object(), b"bytes", [], [None], ["FOO"]]


@pytest.mark.parametrize("ex_id", sorted(EXERCISES))
@pytest.mark.parametrize("bad", MALFORMED, ids=lambda b: type(b).__name__ + ":" + repr(b)[:12])
def test_malformed_answer_gets_a_message_not_an_exception(ex_id, bad):
    fb = check(ex_id, bad) if not ex_id.startswith("find-bug") else \
        check(ex_id, choice=bad, scenario=bad)
    assert isinstance(fb, Feedback)
    assert not fb.ok
    assert fb.malformed, fb.text()
    assert len(fb.message) > 20 and "Traceback" not in fb.message
    with pytest.raises(AssertionError):
        fb.require_readable()
    fb.html()                        # renders
    # the message names what is accepted
    assert any(w in fb.message for w in ("e.g.", "state name", "letter", "list", "function",
                                        "give", "keys", "commands")), fb.message


def test_unknown_exercise_lists_the_exercises():
    with pytest.raises(KeyError, match="predict/open-and-close"):
        check("no/such-exercise", [])


# --------------------------------------------------------------------------- predictions --

def test_prediction_spellings_and_forms_are_accepted():
    p = pairs("simultaneous-close")
    spelled = [(c.replace("-", "_"), {"SYN-RECEIVED": "SYN-RECV"}.get(s, s)) for c, s in p]
    assert check("predict/simultaneous-close", spelled).ok
    as_dicts = [{"client": c, "server": s} for c, s in p]
    assert check("predict/simultaneous-close", as_dicts).ok
    as_text = "\n".join(f"{c}, {s}" for c, s in p)
    assert check("predict/simultaneous-close", as_text).ok
    as_enum = [(S.parse(c), S.parse(s)) for c, s in p]
    assert check("predict/simultaneous-close", as_enum).ok


def test_prediction_feedback_hides_or_reveals_the_answer():
    p = pairs("lost-final-ack")
    p[6] = ("TIME-WAIT", "CLOSED")              # the server retransmits; it is not closed yet
    hidden = check("predict/lost-final-ack", p)
    assert hidden.score == pytest.approx(19 / 20)
    assert "event 7" in hidden.message and "server" in hidden.message
    assert "LAST-ACK" not in " ".join(" ".join(r) for r in hidden.rows[6:7])
    shown = check("predict/lost-final-ack", p, reveal=True)
    assert shown.rows[6][-1] == "LAST-ACK"      # the expected server state
    assert "retransmit" in shown.detail          # check_prediction's explanation


def test_prediction_messages_for_bad_items():
    n = len(SCHEDULES["open-and-close"].events)
    msgs = {
        "count": check("predict/open-and-close", [("CLOSED", "LISTEN")]).message,
        "state": check("predict/open-and-close", [("CLOSED", "LISTENS")] * n).message,
        "pair": check("predict/open-and-close", ["CLOSED"] * n).message,
        "keys": check("predict/open-and-close", [{"a": 1}] * n).message,
        "number": check("predict/open-and-close", [(1, 10)] * n).message,
    }
    assert f"there are {n} rows" in msgs["count"]
    assert "TIME-WAIT" in msgs["state"] and "LISTENS" in msgs["state"]
    assert "(client state, server state)" in msgs["pair"] or "two states" in msgs["pair"]
    assert "'client' and 'server'" in msgs["keys"]
    assert "from_linux" in msgs["number"]


# ------------------------------------------------------------------------------- decoding --

def test_decode_states_only_and_with_waiting_for():
    states = DUMPS["web-server"].expected()
    names = [s.rfc for s in states]
    assert check("decode/web-server", names).ok
    waits = [waits_for(s) for s in states]
    waits[3] = "peer-fin"                       # CLOSE-WAIT waits for *our* application
    fb = check("decode/web-server", names, waiting_for=waits)
    assert not fb.ok and fb.score == pytest.approx(17 / 18) and "line 4" in fb.message
    assert check("decode/web-server", list(zip(names, [waits_for(s) for s in states]))).ok
    assert "is not one of the keys" in check("decode/web-server", names,
                                             waiting_for=["x"] * len(names)).message


def test_decode_hint_points_at_the_hex_state_codes():
    names = [s.rfc for s in DUMPS["web-server"].expected()]
    names[0] = "ESTABLISHED"
    fb = check("decode/web-server", names)
    assert "from_linux" in fb.message and "0A" in fb.message


def test_every_dump_decodes_to_a_state_per_line():
    for d in DUMPS.values():
        rows = d.rows()
        assert rows and all(r.state is not None for r in rows)
    assert {r.state for d in DUMPS.values() for r in d.rows()} >= set(S) - {S.CLOSED}


# ------------------------------------------------------------------------- steering ------

def test_steer_reports_what_happened_and_the_trace():
    fb = check("steer/both-closing", ["deliver client FIN,ACK", "deliver server ACK"])
    assert not fb.ok and fb.score == 0.5
    assert "FIN-WAIT-2" in fb.message and "CLOSING" in fb.message
    assert "<SEQ=" in fb.detail                 # the RFC-style trace of the run


@pytest.mark.parametrize("lines, fragment", [
    (["client abort"], "only the wire may act"),
    (["deliver client SYN"], "no packet in flight"),
    (["drop"], "needs SIDE and FLAGS"),
    (["deliver client FIN,ACK"] * 4, "at most 3"),
    ("   \n  # only a comment", "no commands"),
    ([3], "must be a string"),
])
def test_steer_malformed_commands(lines, fragment):
    fb = check("steer/both-closing", lines)
    assert fb.malformed and fragment in fb.message, fb.message


def test_every_target_is_reachable_and_not_already_reached():
    for name, t in TARGETS.items():
        net = t.network()
        assert (net.state("client"), net.state("server")) != t.target, name
        assert check(f"steer/{name}", STEER[name]).ok


# ------------------------------------------------------------------------ closing states ---

def test_closing_events_come_from_the_transition_table():
    assert CLOSING_EVENTS == ("CLOSE", "rcv FIN", "rcv ACK of FIN", "rcv FIN + ACK of FIN",
                              "timeout=2MSL")
    assert set(EXTENDED_EVENTS) - set(CLOSING_EVENTS) == {"rcv RST", "ABORT"}
    assert {t.source for t in closing_transitions()} == set(CLOSING_STATES)


def test_reference_endpoint_agrees_with_every_closing_edge_of_the_table():
    edges = [t for t in TRANSITIONS if t.source in CLOSING_STATES and t.event in EXTENDED_EVENTS]
    assert len(edges) >= 11 + 7 + 7
    for t in edges:
        assert reference_next_state(t.source, t.event) is t.target, str(t)


def test_closing_diff_table_text_and_html():
    def naive(state, event):                     # the figure's edges only
        for t in closing_transitions():
            if t.source is state and t.event == event:
                return t.target
        return None
    fb = check("implement/closing-states", naive)
    assert not fb.ok and fb.score == pytest.approx(33 / 35)
    text = fb.text()
    assert "expected" in text and "got" in text
    assert {r[:4] for r in fb.rows} == {
        ("ESTABLISHED", "rcv FIN + ACK of FIN", "CLOSE-WAIT", "ESTABLISHED"),
        ("FIN-WAIT-2", "rcv FIN + ACK of FIN", "TIME-WAIT", "FIN-WAIT-2")}
    grid = fb.html()
    assert grid.count("<tr>") == 1 + len(CLOSING_STATES)
    assert "expected TIME-WAIT" in grid and "✗ got FIN-WAIT-2" in grid


def test_closing_checker_survives_bad_implementations():
    def bad(state, event):
        if event == "CLOSE":
            raise NotImplementedError("not yet")
        if event == "rcv FIN":
            return "NOPE"
        return 7
    fb = check("implement/closing-states", bad)
    assert not fb.ok and not fb.malformed and fb.score == 0
    cells = {r[3] for r in fb.rows}
    assert "(raised NotImplementedError: not yet)" in cells
    assert "(returned 'NOPE': not a state name)" in cells
    assert "must return a TcpState" in fb.message
    # a class with next_state, and a dict, are accepted too
    class Impl:
        def next_state(self, state, event):
            return reference_next_state(state, event).rfc
    assert check("implement/closing-states", Impl()).ok
    table = {(s, e): reference_next_state(s, e) for s in CLOSING_STATES for e in CLOSING_EVENTS}
    assert check("implement/closing-states", table).ok
    # the result of a call instead of the function
    fb = check("implement/closing-states", S.FIN_WAIT_1)
    assert fb.malformed and "function itself" in fb.message


# ------------------------------------------------------------------------------ the bugs ---

def test_each_suspect_has_one_bug_and_the_key_matches():
    real = {b[1] for b in BUGS if b[0] in {c for c, _ in BUG_ANSWERS.values()}}
    assert len(real) == len(SUSPECTS) == 4
    for key, (letter, _) in BUG_ANSWERS.items():
        for other, _, _ in BUGS:
            assert check(f"find-bug/{key}", choice=other).ok is (other == letter)


def test_the_package_cannot_grade_a_choice_without_the_instructors_key(monkeypatch):
    """Course integrity: no letter is graded right from the package alone (else a student
    tries the eight letters), and the feedback says why; the scenario is still graded."""
    monkeypatch.delenv(ex.KEY_VARIABLE)
    for key, (letter, scenario) in BUG_ANSWERS.items():
        for other, _, _ in BUGS:
            fb = check(f"find-bug/{key}", choice=other)
            assert not fb.ok and not fb.malformed and fb.score == 0, fb.text()
            assert "answer key is not part of the tcplab package" in fb.message
            fb.require_readable()                  # the public test still passes
        assert check(f"find-bug/{key}", scenario=scenario).ok
        both = check(f"find-bug/{key}", choice=letter, scenario=scenario)
        assert both.score == 0.5 and not both.ok
        # the instructor's hidden test passes the key
        assert check(f"find-bug/{key}", choice=letter, key=letter).ok
        assert check(f"find-bug/{key}", choice=letter, scenario=scenario, key=letter).ok
        wrong = "A" if letter != "A" else "D"
        assert not check(f"find-bug/{key}", choice=wrong, key=letter).ok


def test_no_module_of_the_installed_package_holds_the_key():
    import importlib
    import pkgutil

    import tcplab
    real = {key: next(k for lt, k, _ in BUGS if lt == letter)
            for key, (letter, _) in BUG_ANSWERS.items()}
    for info in pkgutil.walk_packages(tcplab.__path__, "tcplab."):
        if info.name.startswith(("tcplab.live", "tcplab.ui", "tcplab.__main__")):
            continue
        mod = importlib.import_module(info.name)
        for name, value in vars(mod).items():
            if isinstance(value, dict) and set(value) >= set(real):
                picked = {k: value[k] for k in real}
                assert picked != real and not any(
                    str(v) in (real[k], BUG_ANSWERS[k][0]) for k, v in picked.items()
                ), f"{info.name}.{name} maps the suspects to their bugs"
    # ... nor does any text of it, not even an example in a docstring
    from pathlib import Path
    for path in Path(tcplab.__file__).parent.rglob("*"):
        if path.suffix not in (".py", ".css", ".txt", ".json", ".md"):
            continue
        text = path.read_text(encoding="utf-8")
        for key, (letter, _) in BUG_ANSWERS.items():
            pattern = (rf"{key}(?:TCP)?\b[^\n]{{0,40}}?(?:=|choice=|key=)\s*['\"]?"
                       rf"(?:{letter}|{real[key]})\b")
            assert not re.search(pattern, text, re.I), (path.name, key)


def test_a_malformed_key_is_the_instructors_error(monkeypatch):
    with pytest.raises(ValueError, match="key="):
        check("find-bug/acme", choice="E", key="Z")
    monkeypatch.setenv(ex.KEY_VARIABLE, "acme")
    with pytest.raises(ValueError, match=ex.KEY_VARIABLE):
        check("find-bug/acme", choice="E")
    monkeypatch.setenv(ex.KEY_VARIABLE, "nobody=E")
    with pytest.raises(ValueError, match="no suspect 'nobody'"):
        check("find-bug/acme", choice="E")
    monkeypatch.setenv(ex.KEY_VARIABLE, "boreal=C")        # names another suspect only
    assert "answer key" in check("find-bug/acme", choice="E").message


def test_the_master_notebooks_hidden_tests_carry_the_key():
    import json
    from pathlib import Path
    master = Path(__file__).resolve().parents[1] / "assignments" / "a3-find-the-bug" / \
        "a3-find-the-bug.ipynb"
    hidden = [''.join(c["source"]) for c in json.loads(master.read_text())["cells"]
              if c["cell_type"] == "code" and ''.join(c["source"]).startswith("# HIDDEN")]
    for key, (letter, _) in BUG_ANSWERS.items():
        assert any(f"'find-bug/{key}', choice=" in h and f"key='{letter}'" in h
                   for h in hidden), key


def test_suspects_behave_normally_outside_their_bug():
    from tcplab import scenarios
    for key in SUSPECTS:
        for name in ("handshake", "syn-lost", "abort", "connection-refused"):
            script = list(scenarios.get(name).script)
            assert check(f"find-bug/{key}", scenario=script).score == 0, (key, name)


def test_exposing_scenario_shows_the_first_difference():
    fb = check("find-bug/boreal", scenario=BUG_ANSWERS["boreal"][1])
    assert fb.ok
    ref, bad = fb.rows
    assert ref[0] == "reference Endpoint" and bad[0] == "BorealTCP"
    assert "time-wait timer at 241.6 s" in ref[1] and "time-wait timer at 240.6 s" in bad[1]


def test_rst_storm_is_cut_short():
    import time
    t0 = time.perf_counter()
    fb = check("find-bug/cobalt", scenario=BUG_ANSWERS["cobalt"][1][:-1] + ["run"])
    assert fb.ok and time.perf_counter() - t0 < 5


def test_find_bug_malformed_and_partial():
    assert check("find-bug/acme").malformed
    assert "at most 3" in check("find-bug/acme", scenario=BUG_ANSWERS["acme"][1],
                                max_lines=3).message
    fb = check("find-bug/acme", scenario=["client connect", "deliver server SYN"])
    assert fb.malformed and "does not run with the reference" in fb.message
    half = check("find-bug/acme", choice="E", scenario=["server listen"])
    assert half.score == 0.5 and not half.ok


def test_suspect_network_runs_the_suspect_on_both_hosts():
    net = suspect_network("dune")
    assert {type(e).__name__ for e in net.endpoints.values()} == {"DuneTCP"}
    run_script(net, BUG_ANSWERS["dune"][1])
    assert net.state("client") is S.CLOSED       # no TIME-WAIT
    assert type(suspect_network(None)["client"]).__name__ == "Endpoint"


# ----------------------------------------------------------------------------- feedback ---

def test_feedback_renders_and_escapes():
    fb = Feedback("x/y", False, 0.5, "a <b> `code`", ("a", "b"), (("<1>", "2"),), (False,),
                  "detail <pre>")
    h = fb.html()
    assert "&lt;b&gt;" in h and "<code>code</code>" in h and "&lt;1&gt;" in h
    assert fb._repr_html_() == h
    assert repr(fb) == str(fb) == fb.text()
    assert "Partly right (50%)" in fb.text()
    fb.require(at_least=0.5)
    with pytest.raises(AssertionError):
        fb.require()
    assert not fb and Feedback("x", True, 1.0, "ok")


def test_practice_widget_uses_the_same_checker():
    ui = ex.practice("predict/simultaneous-close")
    ui.answer.value = "\n".join(f"{c}, {s}" for c, s in pairs("simultaneous-close"))
    ui.check()
    assert "✓" in ui.feedback.value
    ui.answer.value = "CLOSED, CLOSED"
    ui.check()
    assert "Cannot check" in ui.feedback.value
    bug = ex.practice("find-bug/dune")
    bug.answer.value = "\n".join(["G", *BUG_ANSWERS["dune"][1]])
    bug.check()
    assert "✓ Right" in bug.feedback.value
    dec = ex.practice("decode/after-load-test")
    states = DUMPS["after-load-test"].expected()
    dec.answer.value = "\n".join(f"{s.rfc}, {waits_for(s)}" for s in states)
    dec.check()
    assert "✓ Right" in dec.feedback.value
    steer = ex.practice("steer/half-open")
    steer.answer.value = "\n".join(STEER["half-open"])
    steer.check()
    assert "✓ Right" in steer.feedback.value
    with pytest.raises(ValueError, match="check"):
        ex.practice("implement/closing-states")


def test_exercise_prompts_render():
    for e in EXERCISES.values():
        md = e._repr_markdown_()
        assert e.title in md and e.answer_help and len(e.prompt) > 40, e.id


# ------------------------------------------------------------------------------ procnet ----

PROC4 = ("   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000"
         "        0 40377 1 0000000000000000 20 4 30 10 -1")
PROC4_TW = ("   5: 0100007F:C352 0100007F:1F90 06 00000000:00000000 03:00001283 00000000     0"
            "        0 0 3 0000000000000000")
PROC6 = ("   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
         "00000000:00000000 00:00000000 00000000  1000        0 5555 1 0000000000000000 100 0 0 "
         "10 0")
PROC6_MAPPED = ("   1: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000100007F:"
                "D431 01 00000000:00000000 00:00000000 00000000  1000        0 5556 1 "
                "0000000000000000 20 4 30 10 -1")


def test_proc_lines():
    r = parse_line(PROC4)
    assert (r.local, r.remote, r.state, r.kind, r.inode) == (
        ("127.0.0.1", 8080), ("127.0.0.1", 50000), S.ESTABLISHED, "full", 40377)
    tw = parse_line(PROC4_TW)
    assert tw.state is S.TIME_WAIT and tw.kind == "timewait" and tw.timer == 3
    assert tw.expires == pytest.approx(0x1283 / 100, rel=0.01) or tw.expires > 0
    v6 = parse_line(PROC6)
    assert v6.state is S.LISTEN and v6.local == ("::1", 8080)
    mapped = parse_line(PROC6_MAPPED)
    assert mapped.local == ("127.0.0.1", 80) and mapped.state is S.ESTABLISHED


def test_ss_and_netstat_lines():
    dump = """Netid State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Process
tcp   ESTAB      0      36     [::ffff:10.0.0.5]:22 [::ffff:10.0.0.9]:50000 users:(("sshd",pid=1,fd=4))
tcp   LISTEN     0      128    [::]:22             [::]:*
tcp   SYN-RECV   0      0      127.0.0.53%lo:53    127.0.0.1:40000
tcp   UNCONN     0      0      *:5353              *:*
"""
    rows = parse_dump(dump)
    assert [r.state for r in rows] == [S.ESTABLISHED, S.LISTEN, S.SYN_RECEIVED, S.CLOSED]
    assert rows[0].local == ("10.0.0.5", 22) and rows[0].tx_queue == 36
    assert rows[1].remote == ("::", 0) and rows[2].local == ("127.0.0.53", 53)
    assert rows[2].kind == "request" and rows[0].inode is None
    net = parse_dump("Active Internet connections (servers and established)\n"
                     "Proto Recv-Q Send-Q Local Address           Foreign Address         State\n"
                     "tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN\n"
                     "tcp6       0      0 ::1:631                 :::*                    LISTEN\n"
                     "tcp        0      0 10.0.0.5:22             10.0.0.9:50000          TIME_WAIT\n")
    assert [(r.source, r.state) for r in net] == [("netstat", S.LISTEN), ("netstat", S.LISTEN),
                                                  ("netstat", S.TIME_WAIT)]
    assert net[1].local == ("::1", 631)


def test_mixed_dump_and_blank_lines():
    rows = parse_dump("\n".join(["  sl  local_address rem_address   st", PROC4, "", PROC4_TW,
                                 "LISTEN 0 128 0.0.0.0:80 0.0.0.0:*"]))
    assert [r.source for r in rows] == ["/proc/net/tcp", "/proc/net/tcp", "ss"]
    assert isinstance(rows[0], SocketRow) and str(rows[0]).endswith("ESTABLISHED")


@pytest.mark.parametrize("line, fragment", [
    ("   1: 0100007F:1F90 0100007F:C350", "cannot read /proc/net/tcp"),
    ("ESTABLISHED 0 0 1.2.3.4", "not an ss line"),
    ("WAITING 0 0 1.2.3.4:5 6.7.8.9:10", "not a TCP state name"),
    ("ESTAB x y 1.2.3.4:5 6.7.8.9:10", "must be numbers"),
    ("ESTAB 0 0 1.2.3.4:99999 6.7.8.9:10", "port must be"),
    ("ESTAB 0 0 1.2.3.4 6.7.8.9:10", "ADDRESS:PORT"),
])
def test_malformed_dump_lines(line, fragment):
    with pytest.raises(ValueError, match="line 2") as err:
        parse_dump("State Recv-Q Send-Q Local Peer\n" + line)
    assert fragment in str(err.value)


def test_parser_type_errors():
    with pytest.raises(TypeError):
        parse_dump(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_line(5)  # type: ignore[arg-type]
    assert split_address("[fe80::1]:443") == ("fe80::1", 443)


def test_this_machines_table_parses_when_there_is_one():
    try:
        text = open("/proc/net/tcp").read()
    except OSError:
        pytest.skip("no /proc/net/tcp here")
    rows = parse_dump(text)
    assert all(isinstance(r.state, S) or r.code == 12 for r in rows)


def test_escape_in_html_of_every_exercise_feedback():
    fb = check("decode/web-server", ["<script>"] * 9)
    assert "<script>" not in fb.html() and "&lt;script&gt;" in fb.html()


# ------------------------------------------------------------------------------- wording ---

BAD_COUNTS = re.compile(r"\b1 (entries|commands|lines|rows|segments|items|socket lines)\b"
                        r"|\b(0|[2-9]|\d\d+) (entry|command|line|row|segment|item)\b(?![-\w])")


@pytest.mark.parametrize("ex_id", sorted(EXERCISES))
@pytest.mark.parametrize("bad", MALFORMED, ids=lambda b: type(b).__name__ + ":" + repr(b)[:12])
def test_messages_show_the_learners_value_in_words(ex_id, bad):
    fb = check(ex_id, bad) if not ex_id.startswith("find-bug") else \
        check(ex_id, choice=bad, scenario=bad)
    assert "Ellipsis" not in fb.message and "<object object" not in fb.message, fb.message
    assert not re.search(r"\bthe (states|commands) (has|is)\b", fb.message), fb.message
    assert not BAD_COUNTS.search(fb.message), fb.message
    if bad is ...:
        assert "still the placeholder `...`" in fb.message, fb.message


def test_counts_and_verbs_agree():
    n = len(DUMPS["after-load-test"].expected())
    msg = check("decode/after-load-test", ["LISTEN"] * (n - 1)).message
    assert msg.startswith(f"the list `states` has {n - 1} entries, but there are {n} socket "
                          "lines"), msg
    msg = check("decode/after-load-test", ["LISTEN"]).message
    assert "has 1 entry, but" in msg, msg
    assert "the choice is still the placeholder `...`; write one letter from the bug list" in \
        check("find-bug/acme", choice=...).message
    assert "the choice is the number 3" in check("find-bug/acme", choice=3).message
    msg = check("find-bug/acme", scenario=["server listen", "client connect"],
                max_lines=1).message
    assert "the scenario has 2 lines; at most 1 is allowed" in msg, msg
    assert "4 commands; this exercise allows at most 3" in check(
        "steer/both-closing", ["deliver client FIN,ACK"] * 4).message
    one = check("steer/fin-wait-2", ["deliver client FIN,ACK"]).message
    assert one.startswith("after your command the client"), one
    assert "the answer is still the placeholder `...`" in check(
        "implement/closing-states", ...).message


def test_describe_value():
    from tcplab.exercises.answers import describe_value, plural
    assert [describe_value(v) for v in (None, ..., "", " x ", True, 2, [], [1], {}, b"x")] == [
        "None", "still the placeholder `...`", "an empty string", "the text ' x '",
        "the boolean True", "the number 2", "an empty list", "a list of 1 item",
        "an empty dict", "a bytes object (b'x')"]
    assert describe_value(object()) == "an object"
    assert [plural(n, "entry") for n in (0, 1, 2)] == ["0 entries", "1 entry", "2 entries"]


def test_unknown_keyword_names_what_the_checker_takes():
    with pytest.raises(TypeError, match=r"takes the answer and choice=, scenario=, "
                                        r"max_lines=, key=; got choise="):
        check("find-bug/acme", choise="E")

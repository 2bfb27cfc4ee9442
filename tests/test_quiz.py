"""The self-check widget: right, wrong and malformed answers, driven by button clicks; and
the question generators, whose answers must come from running the model."""

import pytest

from tcplab import Config, TcpState as S, scenarios
from tcplab.exercises import (QuestionSpec, ack_number, find_step, next_state, segment_count,
                              state_after, time_wait_duration, who_ends_in)
from tcplab.ui.quiz import Quiz, quiz, self_check

RFC_ISN = {"client": 100, "server": 300}


def button(q: Quiz, label: str):
    return next(b for b in q.buttons if b.description == label)


def make():
    return quiz("After the SYN,ACK arrives, the client is in ...?",
                ["SYN-SENT", "ESTABLISHED", "SYN-RECEIVED"], "ESTABLISHED",
                "The SYN,ACK acknowledges the client's SYN.",
                hints={"SYN-RECEIVED": "That is the **server's** state."})


# ----------------------------------------------------------------------------- the widget --

def test_css_classes_for_browser_tests():
    q = make()
    assert "t-quiz" in q._dom_classes
    assert all("t-quiz-choice" in b._dom_classes for b in q.buttons)
    assert "t-quiz-feedback" in q.feedback._dom_classes
    assert [b.description for b in q.buttons] == ["SYN-SENT", "ESTABLISHED", "SYN-RECEIVED"]
    assert q.feedback.value == ""
    assert not q.solved


def test_right_answer_click():
    q = make()
    button(q, "ESTABLISHED").click()
    assert q.solved and q.first_try
    assert "Right first time" in q.feedback.value
    assert "acknowledges the client" in q.feedback.value
    assert "t-quiz-right" in button(q, "ESTABLISHED")._dom_classes
    assert "t-quiz-solved" in q._dom_classes
    assert all(b.disabled for b in q.buttons)


def test_wrong_answer_click_then_retry():
    q = make()
    wrong = button(q, "SYN-RECEIVED")
    wrong.click()
    assert not q.solved
    assert "Not SYN-RECEIVED" in q.feedback.value and "Try again" in q.feedback.value
    assert "<b>server's</b>" in q.feedback.value          # the hint, with its markup
    assert "t-quiz-wrong" in wrong._dom_classes and wrong.disabled
    assert not button(q, "ESTABLISHED").disabled           # the learner can try again
    wrong.click()                                          # a second click changes nothing
    assert q.attempts == ["SYN-RECEIVED"]
    button(q, "SYN-SENT").click()
    assert "Not SYN-SENT" in q.feedback.value and "Try again" in q.feedback.value
    button(q, "ESTABLISHED").click()
    assert q.solved and not q.first_try
    assert "Right!" in q.feedback.value and "first time" not in q.feedback.value
    assert q.attempts == ["SYN-RECEIVED", "SYN-SENT", "ESTABLISHED"]
    button(q, "SYN-SENT").click()                          # after solving, clicks are ignored
    assert q.attempts == ["SYN-RECEIVED", "SYN-SENT", "ESTABLISHED"]


def test_choose_programmatically_and_non_string_choices():
    q = quiz("ack = ?", [100, 101, 102], 101, "ISN + 1")
    assert q.choose(100) is False
    assert q.choose("101") is True
    with pytest.raises(ValueError, match="not one of the choices"):
        q.choose(999)
    q2 = quiz("State?", [S.CLOSED, S.TIME_WAIT], S.TIME_WAIT)
    assert [b.description for b in q2.buttons] == ["CLOSED", "TIME-WAIT"]
    button(q2, "TIME-WAIT").click()
    assert q2.solved


def test_feedback_escapes_html():
    q = quiz("<script>x</script>?", ["<a>", "b"], "b", "uses <b>raw</b> `code`",
             hints={"<a>": "<img>"})
    assert "<script>" not in q.question_html.value
    button(q, "<a>").click()
    assert "<img>" not in q.feedback.value and "&lt;img&gt;" in q.feedback.value
    button(q, "b").click()
    assert "<b>raw</b>" not in q.feedback.value and "<code>code</code>" in q.feedback.value


def test_markup():
    from tcplab.render.markup import markup
    assert markup("waits for *our own application*") == "waits for <i>our own application</i>"
    assert markup("2*MSL and 2*MSL") == "2*MSL and 2*MSL"
    assert markup("**SYN** `a<b`") == "<b>SYN</b> <code>a&lt;b</code>"


@pytest.mark.parametrize("args, exc, match", [
    (("Q?", ["a", "b"], "c"), ValueError, "not one of the choices"),
    (("Q?", ["a"], "a"), ValueError, "at least two"),
    (("Q?", ["a", "a", "b"], "a"), ValueError, "repeated"),
    (("", ["a", "b"], "a"), ValueError, "non-empty"),
    (("Q?", "ab", "a"), TypeError, "list of answers"),
    (("Q?", ["a", "b"], ["a", "b"]), TypeError, "exactly one"),
    (("Q?", ["a", " "], "a"), ValueError, "empty"),
])
def test_malformed_questions_fail_when_the_cell_runs(args, exc, match):
    with pytest.raises(exc, match=match):
        quiz(*args)


def test_malformed_hints():
    with pytest.raises(ValueError, match="do not exist"):
        quiz("Q?", ["a", "b"], "a", hints={"z": "no"})
    with pytest.raises(ValueError, match="wrong choices"):
        quiz("Q?", ["a", "b"], "a", hints={"a": "the right one"})


def test_self_check_scores():
    q1, q2 = make(), quiz("2?", ["1", "2"], "2")
    box = self_check(q1, q2, title="Check")
    assert "t-quiz-set" in box._dom_classes
    score = box.children[-1]
    assert "0 of 2" in score.value
    button(q1, "SYN-SENT").click()
    button(q1, "ESTABLISHED").click()
    button(q2, "2").click()
    assert "2 of 2 answered, 1 right first time" in score.value
    with pytest.raises(ValueError):
        self_check()


# ----------------------------------------------------------------------- generators --------

def test_state_after_is_computed_by_running_the_scenario():
    spec = state_after("teardown-client-first", "client rcv FIN,ACK")
    net = scenarios.get("teardown-client-first").run()
    step = find_step(net, "client rcv FIN,ACK")
    assert spec.answer == dict(step.states)["client"].rfc == "TIME-WAIT"
    assert spec.answer in spec.choices and 2 <= len(spec.choices) <= 6
    q = spec.widget()
    assert q.choose("TIME-WAIT") and q.solved


@pytest.mark.parametrize("scenario, event, who, expected", [
    ("handshake", "server rcv SYN", None, S.SYN_RECEIVED),
    ("handshake", "client rcv SYN,ACK", None, S.ESTABLISHED),
    ("simultaneous-open", "client rcv SYN", None, S.SYN_RECEIVED),
    ("simultaneous-close", "client rcv FIN,ACK", None, S.CLOSING),
    ("fin-wait-1-fin-ack", "client rcv FIN,ACK", None, S.TIME_WAIT),
    ("teardown-client-first", "server rcv FIN,ACK", "client", S.FIN_WAIT_1),
])
def test_state_after_matches_the_rfc(scenario, event, who, expected):
    assert state_after(scenario, event, who).answer == expected.rfc


def test_state_after_grades_with_check_prediction():
    from tcplab.exercises.checks import check_prediction
    net = scenarios.get("simultaneous-close").run()
    step = find_step(net, "client rcv FIN,ACK")
    spec = state_after(net, "client rcv FIN,ACK")
    for choice in spec.choices:
        assert check_prediction(step, choice)[0] == (choice == spec.answer)


def test_next_state_reads_the_transition_table():
    assert next_state("FIN-WAIT-1", "rcv FIN").answer == "CLOSING"
    assert next_state(S.LISTEN, "rcv SYN").answer == "SYN-RECEIVED"
    with pytest.raises(ValueError, match="no transition"):
        next_state("LISTEN", "rcv FIN")


def test_ack_number_is_isn_plus_one():
    spec = ack_number("handshake", "server", "SYN,ACK", isn=RFC_ISN)
    assert spec.answer == "101" and "100" in spec.choices
    spec = ack_number("handshake", "client", "ACK", isn=RFC_ISN)
    assert spec.answer == "301"
    net = scenarios.get("handshake").run(seed=7)
    isn = net["client"].iss
    assert ack_number(net, "server", "SYN,ACK").answer == str((isn + 1) % 2 ** 32)


def test_ack_number_answering_a_fin():
    net = scenarios.get("teardown-client-first").run(isn=RFC_ISN)
    fin = next(seg for st in net.history if st.actor == "client" for seg in st.sent if seg.fin)
    spec = ack_number(net, "server", "ACK", answering="FIN")
    assert spec.answer == str(fin.seq + 1)
    assert "FIN counts as one" in spec.explain
    with pytest.raises(ValueError, match="answering a RST"):
        ack_number(net, "server", "ACK", answering="RST")


def test_who_ends_in_time_wait():
    assert who_ends_in("teardown-client-first").answer == "client"
    assert who_ends_in("teardown-server-first").answer == "server"
    assert who_ends_in("simultaneous-close").answer == "both"
    assert who_ends_in("abort").answer == "neither"
    assert who_ends_in("close-wait-leak", "CLOSE-WAIT").answer == "server"


def test_segment_count_and_time_wait_duration():
    assert segment_count("handshake").answer == "3"
    assert segment_count("syn-lost").answer == "4"
    assert time_wait_duration().answer == "240 s (4 min)"
    assert time_wait_duration(Config.linux()).answer == "60 s (1 min)"


def test_generators_build_valid_widgets():
    specs = [state_after("abort", "server rcv RST"), who_ends_in("half-close"),
             segment_count("simultaneous-open"), ack_number("old-duplicate", "client", "ACK")]
    for spec in specs:
        assert isinstance(spec, QuestionSpec)
        assert spec.answer in spec.choices
        assert isinstance(spec.widget(), Quiz)
    assert "application/vnd.jupyter.widget-view+json" in specs[0]._repr_mimebundle_()


# ------------------------------------------------------------- typed steps, plain Python --

def _without_event_text(net):
    """The same run with every Step.event replaced: display text must not be data."""
    for st in net.history:
        st.event = "(display text)"
    return net


def test_questions_read_the_typed_fields_not_the_event_text():
    net = _without_event_text(scenarios.get("teardown-client-first").run(isn=RFC_ISN))
    close = find_step(net, "client CLOSE")
    assert close.call == "close" and find_step(net, "client close()") is close
    assert find_step(net, "client rcv FIN,ACK").received.label() == "FIN,ACK"
    timer = find_step(net, "client time-wait timer")
    assert timer.timer == "time-wait" and find_step(net, "client timeout=2MSL") is timer
    from tcplab.exercises import describe_step
    assert describe_step(close) == "the client calls close()"
    assert describe_step(timer) == "the client's time-wait timer fires"
    assert state_after(net, "client CLOSE").answer == "FIN-WAIT-1"
    assert state_after(net, "client rcv FIN,ACK").answer == "TIME-WAIT"
    half = _without_event_text(scenarios.get("half-close").run())
    assert describe_step(find_step(half, "client CLOSE")) == \
        "the client calls shutdown(SHUT_WR)"
    with pytest.raises(ValueError, match="the steps are: server passive OPEN; client active"):
        find_step(net, "client LISTEN")


def test_find_bug_compares_typed_fields():
    from tcplab.exercises import check_bug
    from tcplab.exercises.find_bug import _observe
    from tcplab.exercises.suspects import suspect_network
    from tcplab.scenarios import run_script
    net = suspect_network(None)
    run_script(net, ["server listen", "client connect", "settle"])
    before = [_observe(st) for st in net.history]
    _without_event_text(net)
    assert [_observe(st) for st in net.history] == before
    fb = check_bug("dune", scenario=["server listen", "client connect", "settle",
                                     "client close", "settle", "server close", "settle"])
    assert fb.ok and "rcv FIN,ACK" in fb.rows[0][1]


def test_questions_and_checkers_need_no_widget_library():
    """The questions, checkers and the pure-HTML cards work with ipywidgets, matplotlib
    and graphviz unimportable (the grader and a plain Python need none of them)."""
    import subprocess
    import sys
    code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("ipywidgets", "matplotlib", "graphviz"):
            raise ImportError(name + " is blocked")
sys.meta_path.insert(0, Block())
from tcplab.exercises import check, state_after, who_ends_in
from tcplab.render.markup import markup
assert state_after("handshake", "server rcv SYN").answer == "SYN-RECEIVED"
assert who_ends_in("simultaneous-close").answer == "both"
assert check("steer/both-closing", ["deliver client FIN,ACK", "deliver server FIN,ACK"]).ok
assert check("find-bug/dune", choice=...).malformed
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr

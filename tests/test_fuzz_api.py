"""A fuzzer over the model's public API, the script language and the text CLI.

Hypothesis throws hostile values (wrong types, negative, NaN and infinite numbers, huge
integers, empty and odd strings, bytes, None, containers) at every public entry point, in
random order on one network.  Whatever it tries:

* the only exceptions are the documented ones: ``TypeError``/``ValueError``/``KeyError``
  with a message, :class:`TcpError` (a call the state refuses), ``RuntimeError`` saying
  the network is "still busy"; the CLI exits with status 2 and one line;
* a refused call changes nothing (the network looks exactly as before);
* nothing hangs: every example runs under a time bound (``signal.setitimer``).
"""

from __future__ import annotations

import contextlib
import io
import math
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcplab import Config, Endpoint, Flags, Network, Segment, TcpError, TcpState, scenarios
from tcplab.cli import main as cli_main
from tcplab.script import parse_script, run_script

SECONDS_PER_EXAMPLE = 10


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_bound(seconds: float):
    def alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


hostile = st.one_of(
    st.none(), st.booleans(),
    st.integers(-2 ** 40, 2 ** 40), st.integers(0, 40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -1, -0.5, 0, 0.0, 0.5, 2 ** 32, 1e308]),
    st.sampled_from([math.nan, math.inf, -1.0]),
    st.text(max_size=12), st.binary(max_size=12),
    st.sampled_from(["client", "server", "wire", "", "SYN", "SYN,ACK", "DATA", "persist",
                     "retransmission", "time-wait", "ESTABLISHED", "listen", "send"]),
    st.lists(st.integers(), max_size=3), st.tuples(st.integers()),
    st.just(Config()), st.just(Segment.make("SYN", 90)),
)
PID = object()          # replaced by the id of a packet in flight, when there is one
args = st.lists(st.one_of(hostile, st.just(PID)), max_size=3)
#: a real first argument (an endpoint or a packet in flight) and hostile ones after it
aimed = st.tuples(st.one_of(st.just(PID), st.sampled_from(["client", "server"])),
                  st.lists(hostile, max_size=2)).map(lambda t: [t[0], *t[1]])

#: (method, how many positional arguments it may take)
METHODS = ["call", "listen", "connect", "send", "close", "shutdown", "abort", "recv",
           "deliver", "drop", "duplicate", "delay", "inject", "fire_timer", "next_timer",
           "step", "run", "settle", "wait", "replay", "rewind", "find", "packet", "peer",
           "state", "__getitem__"]
#: plausible calls mixed in so that the network gets somewhere interesting
GOOD = [("listen", ["server"]), ("connect", ["client"]), ("send", ["client", b"hi"]),
        ("settle", []), ("close", ["client"]), ("step", []), ("recv", ["server"]),
        ("wait", [0.3])]


def observe(net: Network) -> tuple:
    return (net.now, net.states(), len(net.history), len(net.actions),
            [(p.id, p.segment, p.arrive_at) for p in net.in_flight], net.timers(),
            {n: net[n].tcb() for n in net.names})


def _frames_in_tcplab(exc: BaseException) -> int:
    tb, n = exc.__traceback__, 0
    while tb is not None:
        n += "/tcplab/" in tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return n


def allowed(exc: BaseException) -> bool:
    if isinstance(exc, TypeError) and _frames_in_tcplab(exc) == 0:
        return True                  # Python's own arity check, at the call: names the call
    if isinstance(exc, TcpError):
        return True
    if isinstance(exc, RuntimeError):
        return "still busy" in str(exc)
    if isinstance(exc, (TypeError, ValueError, KeyError)):
        text = str(exc)
        # a message that names something, not Python's own words from deep inside
        inner = ("object is not", "unsupported operand", "not supported between",
                 "object has no attribute", "can't multiply", "must be real number",
                 "object cannot be interpreted", "invalid literal")
        return len(text) > 10 and not any(w in text for w in inner)
    return False


@settings(max_examples=600, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(
    st.tuples(st.sampled_from(METHODS), args),
    st.tuples(st.sampled_from(METHODS), aimed),
    st.sampled_from(GOOD)), min_size=1, max_size=25))
def test_the_network_api_answers_bad_input_clearly_and_changes_nothing(ops):
    net = Network(isn={"client": 100, "server": 300})
    net.listen("server"); net.connect("client")         # a SYN in flight to aim at
    with time_bound(SECONDS_PER_EXAMPLE):
        for name, arguments in ops:
            pid = net.in_flight[0].id if net.in_flight else 99
            arguments = [pid if a is PID else a for a in arguments]
            before = observe(net)
            try:
                getattr(net, name)(*arguments)
            except BaseException as exc:      # noqa: BLE001 -- judged just below
                if isinstance(exc, Hang) or not allowed(exc):
                    raise AssertionError(f"net.{name}{tuple(arguments)!r} raised "
                                         f"{type(exc).__name__}: {exc}") from exc
                if not isinstance(exc, RuntimeError):
                    assert observe(net) == before, f"refused net.{name}{tuple(arguments)!r} " \
                                                   "changed the network"
            # what was accepted left the network sane: no silent nonsense
            assert math.isfinite(net.now) and net.now >= 0, (name, arguments, net.now)
            for p in net.in_flight:
                assert math.isfinite(p.arrive_at) and p.arrive_at >= p.sent_at >= 0, p
            for _, _, deadline in net.timers():
                assert math.isfinite(deadline), (name, arguments)


CONFIG_FIELDS = ["rto", "rto_max", "syn_retries", "retries", "msl", "time_wait",
                 "fin_wait_2_timeout", "mss", "window", "rcvbuf", "rfc1337",
                 "invalid_ack_interval"]


@settings(max_examples=400, deadline=None, database=None)
@given(kwargs=st.dictionaries(st.sampled_from(CONFIG_FIELDS), hostile, max_size=3),
       ctor=st.sampled_from(["Network", "Endpoint", "Config"]), extra=args)
def test_constructors_check_their_arguments(kwargs, ctor, extra):
    with time_bound(SECONDS_PER_EXAMPLE):
        try:
            config = Config(**kwargs)
        except (TypeError, ValueError) as exc:
            assert allowed(exc), exc
            return
        for value in (config.rto, config.msl, config.invalid_ack_interval):
            assert math.isfinite(value) and value > 0 or value == 0
        try:
            if ctor == "Network":
                net = Network(*extra[:1], config=config,
                              isn={"client": extra[1]} if len(extra) > 1 else None)
                net.listen("server"); net.connect("client"); net.run(max_steps=2000)
            elif ctor == "Endpoint":
                Endpoint(*extra[:1], iss=extra[1] if len(extra) > 1 else None,
                         config=config).connect()
        except BaseException as exc:          # noqa: BLE001
            assert allowed(exc), f"{ctor}{tuple(extra)!r}: {type(exc).__name__}: {exc}"


@settings(max_examples=300, deadline=None, database=None)
@given(flags=hostile, seq=hostile, ack=hostile, data=hostile, text=hostile)
def test_segments_and_flags_check_their_arguments(flags, seq, ack, data, text):
    for make in (lambda: Segment.make(flags, seq, ack, data=data),
                 lambda: Segment(flags, seq, ack, data=data),
                 lambda: Flags.parse(text), lambda: TcpState.parse(text)):
        try:
            seg = make()
        except BaseException as exc:          # noqa: BLE001
            assert allowed(exc), f"{type(exc).__name__}: {exc}"
        else:
            if isinstance(seg, Segment):
                assert isinstance(seg.data, bytes) and 0 <= seg.seq < 2 ** 32
                assert not isinstance(data, int) or data == b""


words = st.sampled_from(["client", "server", "listen", "connect", "send", "close", "recv",
                         "shutdown", "abort", "settle", "run", "wait", "until", "deliver",
                         "drop", "duplicate", "delay", "timer", "SYN", "ACK", "FIN,ACK",
                         "DATA", "now", "1", "-1", "nan", "inf", "0.5", "'", '"', "#",
                         "ESTABLISHED", "bogus", "+2", ""])
lines = st.lists(st.lists(words, max_size=5).map(" ".join), max_size=8)


@settings(max_examples=500, deadline=None, database=None)
@given(script=lines)
def test_scripts_are_parsed_and_run_with_clear_errors(script):
    net = Network(isn={"client": 100, "server": 300})
    with time_bound(SECONDS_PER_EXAMPLE):
        try:
            commands = parse_script(script)
        except ValueError as exc:
            assert str(exc).startswith("script line "), exc
            return
        for cmd in commands:
            if cmd.kind in ("settle", "run"):
                assert cmd.text.split() == [cmd.kind]          # nothing ignored
        try:
            run_script(net, script)
        except BaseException as exc:          # noqa: BLE001
            assert allowed(exc), f"{type(exc).__name__}: {exc}"


cli_words = st.sampled_from(["run", "scenarios", "handshake", "bogus", "--style", "rfc",
                             "tcpdump", "xml", "--seed", "-1", "x", "--explain", "--no-times",
                             "--rfc-isn", "-h", ""])


@settings(max_examples=200, deadline=None, database=None)
@given(argv=st.lists(cli_words, max_size=5))
def test_the_text_cli_exits_2_with_one_line(argv):
    out, err = io.StringIO(), io.StringIO()
    with time_bound(SECONDS_PER_EXAMPLE), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as exc:
            code = exc.code
    assert code in (0, 2, None), (argv, code)
    assert "Traceback" not in err.getvalue() + out.getvalue()
    if code == 2:
        assert err.getvalue().strip(), argv


def test_issue_examples_get_clear_errors():
    """The examples the core-under-load issue names, each refused at once and clearly."""
    with pytest.raises(ValueError, match="mss must be at least 1 byte"):
        Config(mss=0)
    with pytest.raises(ValueError, match="window must be at least 1 byte"):
        Config(window=0)
    net = Network()
    with pytest.raises(ValueError, match="finite number of seconds"):
        net.wait(math.inf)
    with pytest.raises(ValueError, match="finite number of seconds"):
        Network(latency=math.nan)
    with pytest.raises(ValueError, match="ISN of 'client' must be a sequence number"):
        Network(isn={"client": 1.5})
    with pytest.raises(TypeError, match=r"Segment.make\(seq=...\) takes a whole number"):
        Segment.make("SYN", "5")
    with pytest.raises(TypeError, match="Segment data is bytes or str"):
        Segment(2, 1, data=5)
    net.listen("server"); net.connect("client"); net.run(); net.send("client", "abc")
    net.run()
    with pytest.raises(ValueError, match="recv\\(\\) takes a number of bytes >= 0"):
        net.recv("server", -1)
    assert net.recv("server") == b"abc"
    with pytest.raises(ValueError, match="different non-empty names"):
        Network(names=(1, 2))
    with pytest.raises(ValueError, match="settle takes no arguments, got 'now'"):
        parse_script("settle now")
    assert scenarios.get("handshake").run().states()


@pytest.mark.parametrize("argv, says", [
    (["ladder", "handshake", "--dpi", "0"], "outside 20..600"),
    (["ladder", "handshake", "--dpi", "20000"], "outside 20..600"),
    (["ladder", "handshake", "--dpi", "nan"], "outside 20..600"),
    (["diagram", "--dpi", "-5"], "outside 20..600"),
    (["diagram", "-o", "/missing/dir/x.png"], "there is no folder /missing/dir"),
    (["ladder", "handshake", "-o", "/missing/dir/x.png"], "there is no folder /missing/dir"),
    (["ladder", "handshake", "-o", "x.gif"], "must end in .svg, .png or .pdf"),
    (["ladder", "handshake", "--upto", "999"], "has steps 0.."),
    (["ladder", "nope"], "no scenario"),
    (["diagram", "--state", "HALF-OPEN"], "unknown TCP state name"),
    (["run", "nope"], "no scenario"),
])
def test_picture_commands_refuse_bad_arguments_in_one_line(argv, says, tmp_path, monkeypatch):
    """The issue's examples: each exits 2 at once with one line, and writes nothing."""
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    with time_bound(SECONDS_PER_EXAMPLE), contextlib.redirect_stderr(err), \
            contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli_main(argv)
        except SystemExit as exc:
            code = exc.code
    text = err.getvalue().strip()
    assert code == 2 and "Traceback" not in text, text
    assert says.lower() in text.lower() and len(text.splitlines()) <= 3, text
    assert not list(tmp_path.iterdir())

"""What each step records, and the limits Config enforces (issue 19).

Diagrams, the ladder, the widgets and the exercises read a run from its steps' typed fields
(``kind``, ``call``, ``socket_call``, ``timer``, ``rfc``), never from the display text, so
those fields are behaviour: every step of every scenario, and of runs that fire each timer
of RFC 9293 (§3.8.1 retransmission, §3.8.6.1 persist, §3.10.8 TIME-WAIT, Linux's FIN-WAIT-2
timeout), must say what caused it and cite the section that governs it.
"""

from __future__ import annotations

import pytest

from tcplab import scenarios
from tcplab.endpoint import CALLS, Config, Endpoint
from tcplab.network import WIRE, Network
from tcplab.states import TcpState as S

SOCKET = {"listen": {"listen()"}, "connect": {"connect()"}, "send": {"send()"},
          "close": {"close()", "shutdown(SHUT_WR)"}, "abort": {"SO_LINGER 0 + close()"},
          "recv": {"recv()"}}
CALL_SECTION = {"listen": "§3.10.1", "connect": "§3.10.1", "send": "§3.10.2",
                "close": "§3.10.4", "abort": "§3.10.5", "recv": "§3.10.3"}
ARRIVAL_SECTION = {S.CLOSED: "§3.10.7.1", S.LISTEN: "§3.10.7.2", S.SYN_SENT: "§3.10.7.3"}
TIMER_SECTION = {"time-wait": {"RFC 9293 §3.10.8"}, "fin-wait-2": {"Linux tcp(7)"},
                 "persist": {"RFC 9293 §3.8.6.1"},
                 "retransmission": {"RFC 9293 §3.8.1, RFC 6298 §5", "RFC 9293 §3.8.3"}}


def timer_runs() -> list[Network]:
    """Runs that fire every timer the model has, including the give-ups."""
    runs = []
    # retransmissions of a SYN nobody answers, until "connection timed out" (§3.8.3)
    net = Network(config=Config(syn_retries=2))
    net.connect("client")
    while net.timers():
        for packet in net.in_flight:
            net.drop(packet.id)
        net.next_timer()
    runs.append(net)
    # a zero window probed, then the prober gives up when every probe is lost (§3.8.6.1)
    net = Network(configs={"server": Config(rcvbuf=600)}, config=Config(retries=2))
    net.listen("server")
    net.connect("client")
    net.run()
    net.send("client", b"p" * 1000)
    net.run(stop=lambda n: bool(n.history[-1].timer == "persist"))
    while net.in_flight or net.state("client") is S.ESTABLISHED and net.timers():
        ev = net.next_event()
        if ev is None:
            break
        if ev[1] == "packet" and ev[2].src == "client" and ev[2].segment.len == 0:
            net.drop(ev[2].id)
        else:
            net.step()
    runs.append(net)
    # an orphaned FIN-WAIT-2 times out (Linux tcp_fin_timeout); TIME-WAIT ends (§3.10.8)
    net = Network(config=Config.linux())
    net.listen("server")
    net.connect("client")
    net.run()
    net.close("client")
    net.run()
    runs.append(net)
    net = Network()
    net.listen("server")
    net.connect("client")
    net.run()
    net.send("server", b"to read")
    net.run()
    net.recv("client")
    net.close("client")
    net.close("server")
    net.run()
    runs.append(net)
    # the wire's own actions: drop, duplicate, delay, inject
    net = Network()
    net.listen("server")
    net.drop(net.connect("client").packets[0])
    net.next_timer()
    pid = net.in_flight[0].id
    net.duplicate(pid)
    net.delay(pid, 0.5)
    net.run()
    net.inject("server", net.history[-1].received)
    net.run()
    runs.append(net)
    return runs


def all_runs() -> list[Network]:
    # RFC-level stories: a socket-level one also records socket(), bind(), accept() and
    # Linux's drops, which are no RFC events (tests/test_sockets_script.py checks those)
    return [scenarios.get(name).run() for name in scenarios.names()
            if not scenarios.get(name).sockets] + timer_runs()


def check_step(step) -> None:
    if step.actor == WIRE:
        assert step.kind == "wire" and step.wire in ("drop", "duplicate", "delay", "inject")
        assert step.call is step.timer is None and step.rfc == ""
        return
    assert isinstance(step.before, S) and isinstance(step.after, S)
    if step.call is not None:
        assert step.kind == "call" and step.call in (*CALLS, "recv")
        assert step.socket_call in SOCKET[step.call]
        assert step.timer is None and step.received is None
        assert step.rfc == f"RFC 9293 {CALL_SECTION[step.call]}"
    elif step.timer is not None:
        assert step.kind == "timer" and step.received is None and step.socket_call is None
        assert step.rfc in TIMER_SECTION[step.timer], (step.timer, step.rfc)
    else:
        assert step.kind == "segment" and step.received is not None
        assert step.socket_call is None and step.timer is None
        expected = ARRIVAL_SECTION.get(step.before, "§3.10.7.4")
        assert step.rfc in (f"RFC 9293 {expected}", "RFC 1337"), (step.before, step.rfc)
    assert step.explanation.strip() and step.event.strip()


def test_every_step_says_what_caused_it_and_cites_its_section():
    from tcplab import endpoint
    endpoint._RFC_REF.clear()      # a cache filled by earlier tests: build the texts here
    seen = set()
    for net in all_runs():
        for step in net.history:
            check_step(step)
            seen.add((step.kind, step.call or step.timer or step.wire))
    timers = {what for kind, what in seen if kind == "timer"}
    calls = {what for kind, what in seen if kind == "call"}
    assert timers == {"retransmission", "persist", "fin-wait-2", "time-wait"}
    assert calls == {*CALLS, "recv"}
    assert {what for kind, what in seen if kind == "wire"} == {"drop", "duplicate", "delay",
                                                               "inject"}


def test_giving_up_is_told_to_the_application():
    syn_give_up, persist_give_up, fin_wait_2, *_ = timer_runs()
    last = syn_give_up.history[-1]
    assert (last.timer, last.error, last.after) == ("retransmission", "connection timed out",
                                                   S.CLOSED)
    assert syn_give_up["client"].reason == "connection timed out"
    probes = [s for s in persist_give_up.history if s.timer == "persist"]
    assert [s.error for s in probes] == [None, None, "connection timed out"]
    assert [s.time for s in probes] == pytest.approx([1.5, 3.5, 7.5])   # RTO backs off
    first = next(s for s in persist_give_up.history if s.call == "send").sent[0]
    # Linux's probe: <SEQ=SND.UNA-1><CTL=ACK> after the 600 bytes the window took
    assert [s.sent[0].seq for s in probes[:2]] == [first.seq + 600 - 1] * 2
    assert probes[-1].sent == () and probes[-1].after is S.CLOSED
    assert fin_wait_2["client"].reason == "FIN-WAIT-2 timed out"


def test_close_and_shutdown_are_told_apart():
    # RFC 9293 has one CLOSE; the sockets API has close() (the socket given up) and
    # shutdown(SHUT_WR) (kept to read): Step.socket_call says which.
    for shutdown, call in ((False, "close()"), (True, "shutdown(SHUT_WR)")):
        net = Network()
        net.listen("server")
        net.connect("client")
        net.run()
        step = net.shutdown("client") if shutdown else net.close("client")
        assert (step.call, step.socket_call, step.rfc_call) == ("close", call, "CLOSE")


def test_a_new_connection_forgets_why_the_last_one_ended():
    # Endpoint.reason belongs to one connection: after "connection refused" (an RST,ACK
    # from a closed port, §3.10.7.3), a new connect() starts without it.
    net = Network()
    net.connect("client")
    net.run()
    assert net["client"].reason == "connection refused"
    net.connect("client")
    assert net["client"].reason is None and net.state("client") is S.SYN_SENT


def test_tcb_names_the_rfc_variables():
    # RFC 9293 §3.3.1's names, as the widgets and notebooks show them
    ep = Endpoint("A", iss=100)
    ep.connect()
    assert ep.tcb() == {"state": "SYN-SENT", "ISS": 100, "IRS": 0, "SND.UNA": 100,
                        "SND.NXT": 101, "SND.WND": 0, "RCV.NXT": 0, "RCV.WND": 65535,
                        "send buffer": b"", "received": b"",
                        "timers": {"retransmission": 1.0}}


# ============================================================= Config's limits ==========

@pytest.mark.parametrize("field, ok, bad", [
    ("mss", 1, 0), ("window", 1, 0), ("rcvbuf", 1, 0),
    ("window", 2 ** 30 - 1, 2 ** 30), ("rcvbuf", 2 ** 30 - 1, 2 ** 30),
    ("mss", 2 ** 30 - 1, 2 ** 30), ("retries", 0, -1), ("syn_retries", 0, -1),
    ("rto", 1e-6, 0.0), ("msl", 1e-6, 0.0), ("fin_wait_2_timeout", 1e-6, 0.0),
    ("time_wait", 0.0, -1.0), ("invalid_ack_interval", 0, -0.5),
])
def test_config_accepts_the_limits_and_refuses_beyond(field, ok, bad):
    kw = {"rto_max": 1e-6, "rto_min": 1e-6} if field == "rto" else {}
    assert getattr(Config(**{field: ok}, **kw), field) == ok
    with pytest.raises(ValueError, match=rf"Config\({field}="):
        Config(**{field: bad}, **kw)


@pytest.mark.parametrize("field", ["mss", "window", "rcvbuf", "retries", "syn_retries"])
def test_config_counts_are_whole_numbers(field):
    with pytest.raises(TypeError, match=rf"Config\({field}=\.\.\.\) takes a whole number"):
        Config(**{field: 2.0})


def test_config_rto_max_may_equal_rto_but_not_be_smaller():
    assert Config(rto=2.0, rto_max=2.0).rto_max == 2.0
    with pytest.raises(ValueError, match=r"rto_max=1\.0.*smaller than rto=2\.0"):
        Config(rto=2.0, rto_max=1.0)


def test_config_linux_has_linux_values():
    # tcp(7)/ip-sysctl: tcp_syn_retries=6, tcp_retries2=15, TCP_TIMEWAIT_LEN=60 s,
    # tcp_fin_timeout=60 s, TCP_RTO_MAX=120 s, initial RTO 1 s (RFC 6298 §2.1)
    c = Config.linux()
    assert (c.rto, c.rto_max, c.syn_retries, c.retries, c.msl, c.time_wait,
            c.fin_wait_2_timeout, c.time_wait_duration) == (1.0, 120.0, 6, 15, 30.0, 60.0,
                                                            60.0, 60.0)
    assert Config.linux(retries=3).retries == 3
    assert Config().time_wait_duration == 240.0 and Config(msl=1.0).time_wait_duration == 2.0

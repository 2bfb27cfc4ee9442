"""Every user call in every state (RFC 9293 §3.10.1 OPEN, §3.10.2 SEND, §3.10.4 CLOSE,
§3.10.5 ABORT), each state reached by real events on a :class:`~tcplab.network.Network`.

* An allowed call does what the RFC says (new state, segments, queued data).
* A refused call raises :class:`TcpError` with the RFC's wording ("connection already
  exists", "connection closing", "connection does not exist"), names the state, lists what
  is possible instead -- and changes NOTHING: endpoints, timers, wire, history, clock.
* ``allowed_calls()`` / ``possible_calls()`` agree with what really succeeds.
"""

from __future__ import annotations

import copy

import pytest

from tcplab.endpoint import CALLS
from tcplab.network import Network
from tcplab.states import TcpState as S
from tcplab.steps import TcpError

ISN = {"client": 100, "server": 300}
DATA = b"payload"


def reach(state: S) -> tuple[Network, str]:
    """A network with one endpoint (returned by name) in ``state``, by real events only."""
    net = Network(isn=ISN)
    if state is S.CLOSED:
        return net, "client"
    net.listen("server")
    if state is S.LISTEN:
        return net, "server"
    net.connect("client")
    if state is S.SYN_SENT:
        return net, "client"
    if state is S.SYN_RECEIVED:
        net.deliver(net.find("client", "SYN").id)
        return net, "server"
    net.settle()
    if state is S.ESTABLISHED:
        return net, "client"
    if state is S.CLOSING:
        net.close("client")
        net.close("server")
        net.deliver(net.find("server", "FIN,ACK").id)
        return net, "client"
    net.close("client")
    if state is S.FIN_WAIT_1:
        return net, "client"
    net.deliver(net.find("client", "FIN,ACK").id)
    if state is S.CLOSE_WAIT:
        return net, "server"
    net.deliver(net.find("server", "ACK").id)
    if state is S.FIN_WAIT_2:
        return net, "client"
    net.close("server")
    if state is S.LAST_ACK:
        return net, "server"
    net.deliver(net.find("server", "FIN,ACK").id)
    if state is S.TIME_WAIT:
        return net, "client"
    raise AssertionError(state)


STATES = list(S)

EXISTS = "connection already exists"
CLOSING = "connection closing"
NO_CONN = "connection does not exist"
OK = None

#: RFC 9293 §3.10: the response to each call in each state (None = the call is serviced).
RFC_RESPONSE: dict[S, dict[str, str | None]] = {
    #                 listen   connect  send      close     abort
    S.CLOSED:       dict(zip(CALLS, (OK, OK, NO_CONN, NO_CONN, NO_CONN))),
    S.LISTEN:       dict(zip(CALLS, (EXISTS, OK, OK, OK, OK))),
    S.SYN_SENT:     dict(zip(CALLS, (EXISTS, EXISTS, OK, OK, OK))),
    S.SYN_RECEIVED: dict(zip(CALLS, (EXISTS, EXISTS, OK, OK, OK))),
    S.ESTABLISHED:  dict(zip(CALLS, (EXISTS, EXISTS, OK, OK, OK))),
    S.FIN_WAIT_1:   dict(zip(CALLS, (EXISTS, EXISTS, CLOSING, CLOSING, OK))),
    S.FIN_WAIT_2:   dict(zip(CALLS, (EXISTS, EXISTS, CLOSING, CLOSING, OK))),
    S.CLOSE_WAIT:   dict(zip(CALLS, (EXISTS, EXISTS, OK, OK, OK))),
    S.CLOSING:      dict(zip(CALLS, (EXISTS, EXISTS, CLOSING, CLOSING, OK))),
    S.LAST_ACK:     dict(zip(CALLS, (EXISTS, EXISTS, CLOSING, CLOSING, OK))),
    S.TIME_WAIT:    dict(zip(CALLS, (EXISTS, EXISTS, CLOSING, CLOSING, OK))),
}
RFC_SECTION = {"listen": "§3.10.1", "connect": "§3.10.1", "send": "§3.10.2",
               "close": "§3.10.4", "abort": "§3.10.5"}

CASES = [(st, call) for st in STATES for call in CALLS]
REFUSED = [(st, c) for st, c in CASES if RFC_RESPONSE[st][c] is not None]
ALLOWED = [(st, c) for st, c in CASES if RFC_RESPONSE[st][c] is None]


def case_id(case) -> str:
    st, call = case
    return f"{call}@{st.rfc}"


def args_for(call: str) -> tuple:
    return (DATA,) if call == "send" else ()


def snapshot(net: Network) -> dict:
    """Everything observable about the network and its endpoints, deep-copied."""
    eps = {}
    for name, ep in net.endpoints.items():
        d = {k: copy.deepcopy(v) for k, v in vars(ep).items()
             if k not in ("clock", "_rng", "config")}
        d["rng"] = ep._rng.getstate()
        d["tcb()"] = ep.tcb()
        d["allowed_calls()"] = ep.allowed_calls()
        eps[name] = d
    rest = {k: copy.deepcopy(v) for k, v in vars(net).items()
            if k not in ("endpoints", "clock", "history")}
    return {"endpoints": eps, "network": rest, "now": net.now,
            "history": list(net.history), "in_flight": list(net.in_flight)}


def test_every_state_is_reached():
    for st in STATES:
        net, who = reach(st)
        assert net.state(who) is st


# ---------------------------------------------------------------- refused calls -------

@pytest.mark.parametrize("case", REFUSED, ids=case_id)
@pytest.mark.parametrize("via", ["network", "endpoint"])
def test_refused_call_raises_rfc_error_and_changes_nothing(case, via):
    st, call = case
    net, who = reach(st)
    ep = net[who]
    before = snapshot(net)
    possible = ep.possible_calls()
    with pytest.raises(TcpError) as info:
        if via == "network":
            net.call(who, call, *args_for(call))
        else:
            getattr(ep, call)(*args_for(call))
    err = info.value
    assert snapshot(net) == before, "a refused call changed something"
    assert err.message == RFC_RESPONSE[st][call]
    assert err.call == call and err.state is st and err.endpoint == who
    assert err.rfc == RFC_SECTION[call]
    assert err.allowed == tuple(possible)
    text = str(err)
    assert f"{call}()" in text and st.rfc in text and f"error: {err.message}" in text
    assert f"RFC 9293 {RFC_SECTION[call]}" in text
    for c in possible:
        assert f"{c}()" in text.split("Possible now:")[1]


def test_refused_call_in_the_middle_of_a_run_leaves_the_run_identical():
    """Refusing a call must not perturb what happens next: same history afterwards."""
    def run(with_refusals: bool) -> list:
        net, _ = reach(S.FIN_WAIT_1)
        if with_refusals:
            for call in ("listen", "connect", "send", "close"):
                with pytest.raises(TcpError):
                    net.call("client", call, *args_for(call))
        net.send("server", b"late data")
        net.close("server")
        net.run()
        return [(s.actor, s.event, s.before, s.after, s.sent, s.time) for s in net.history]
    assert run(True) == run(False)


def test_send_without_data_is_a_value_error_and_changes_nothing():
    net, who = reach(S.ESTABLISHED)
    before = snapshot(net)
    for bad in (b"", ""):
        with pytest.raises(ValueError):
            net.send(who, bad)
    assert snapshot(net) == before


# ---------------------------------------------------------------- allowed calls -------

@pytest.mark.parametrize("case", ALLOWED, ids=case_id)
def test_allowed_call_succeeds_and_is_recorded(case):
    st, call = case
    net, who = reach(st)
    n = len(net.history)
    before = snapshot(net)
    step = net.call(who, call, *args_for(call))
    assert snapshot(net) != before          # (so the snapshot really sees changes)
    assert step.kind == "call" and step.actor == who and step.before is st
    assert len(net.history) == n + 1 and net.history[-1] is step


def expected_outcome(st: S, call: str, iss: int, snd_nxt: int, rcv_nxt: int
                     ) -> tuple[S, list[str]]:
    """The state after ``call`` in ``st`` and the segments sent, in RFC notation, given
    the TCB at the time of the call (ISS is the one the call itself chose, if it did)."""
    if call == "listen":
        return S.LISTEN, []                                         # §3.10.1
    if call == "connect":
        return S.SYN_SENT, [f"<SEQ={iss}><CTL=SYN>"]                # §3.10.1
    if call == "send":                                              # §3.10.2
        if st is S.LISTEN:
            return S.SYN_SENT, [f"<SEQ={iss}><CTL=SYN>"]
        if st in (S.SYN_SENT, S.SYN_RECEIVED):
            return st, []                               # queued until ESTABLISHED
        return st, [f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=PSH,ACK><DATA={len(DATA)}>"]
    if call == "close":                                             # §3.10.4
        if st in (S.LISTEN, S.SYN_SENT):
            return S.CLOSED, []                         # delete the TCB
        after = S.LAST_ACK if st is S.CLOSE_WAIT else S.FIN_WAIT_1
        return after, [f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=FIN,ACK>"]
    if call == "abort":                                             # §3.10.5
        if st in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT):
            return S.CLOSED, [f"<SEQ={snd_nxt}><CTL=RST>"]
        return S.CLOSED, []
    raise AssertionError(call)


@pytest.mark.parametrize("case", ALLOWED, ids=case_id)
def test_allowed_call_does_what_the_rfc_says(case):
    st, call = case
    net, who = reach(st)
    ep = net[who]
    snd_nxt, rcv_nxt = ep.snd_nxt, ep.rcv_nxt
    step = net.call(who, call, *args_for(call))
    want_state, want = expected_outcome(st, call, ep.iss, snd_nxt, rcv_nxt)
    assert step.after is want_state and ep.state is want_state
    assert [s.rfc() for s in step.sent] == want
    if call == "connect" or (call == "send" and st is S.LISTEN):
        assert ep.snd_una == ep.iss and ep.snd_nxt == ep.iss + 1
        assert "retransmission" in ep.timers
    if call == "send" and st in (S.LISTEN, S.SYN_SENT, S.SYN_RECEIVED):
        assert bytes(ep.send_buffer) == DATA
    if (call == "close" and st in (S.LISTEN, S.SYN_SENT)) or call == "abort":
        assert ep.timers == {} and ep.retransmission_queue == ()


@pytest.mark.parametrize("st", [S.LISTEN, S.SYN_SENT, S.SYN_RECEIVED], ids=lambda s: s.rfc)
def test_data_queued_before_established_is_delivered_once_established(st):
    net, who = reach(st)
    if st is S.LISTEN:
        # SEND on a listening connection makes it active (§3.10.2); the peer must listen
        net.listen("client")
    net.send(who, DATA)
    net.run(until=net.now + 5)
    other = net.peer(who)
    assert net.state(who) is S.ESTABLISHED and net[other].recv() == DATA


def test_close_in_syn_received_with_queued_data_waits_for_established():
    # §3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no pending data to
    # send, then form a FIN segment and send it ... otherwise, queue for processing after
    # entering ESTABLISHED state."
    net, who = reach(S.SYN_RECEIVED)
    net.send(who, DATA)
    step = net.close(who)
    assert step.after is S.SYN_RECEIVED and step.sent == ()
    with pytest.raises(TcpError, match="connection closing"):
        net.send(who, b"more")          # CLOSE was issued: no more SENDs
    net.settle()
    assert net.state(who) in (S.FIN_WAIT_1, S.FIN_WAIT_2)
    assert net["client"].recv() == DATA and net.state("client") is S.CLOSE_WAIT


def test_close_in_syn_sent_deletes_the_tcb_and_the_peer_is_left_half_open():
    net, who = reach(S.SYN_SENT)
    net.close(who)
    assert net.state(who) is S.CLOSED and net[who].timers == {}
    net.settle()                        # the SYN still arrives; the answer meets CLOSED
    assert net.state("client") is S.CLOSED
    assert net.state("server") in (S.LISTEN, S.SYN_RECEIVED)


# ---------------------------------------------------------------- one source of truth -

@pytest.mark.parametrize("st", STATES, ids=lambda s: s.rfc)
def test_allowed_calls_agree_with_what_succeeds(st):
    """For both endpoints of every reached network: possible_calls() is exactly the set
    of calls that succeed, and allowed_calls() gives the error message of the others."""
    base, _ = reach(st)
    for who in base.names:
        ep = base[who]
        allowed = ep.allowed_calls()
        possible = ep.possible_calls()
        assert list(allowed) == list(CALLS)
        assert possible == [c for c in CALLS if allowed[c] is None]
        assert allowed == RFC_RESPONSE[ep.state]
        for call in CALLS:
            net, _ = reach(st)          # a fresh copy for every attempt
            try:
                net.call(who, call, *args_for(call))
            except TcpError as err:
                assert call not in possible and allowed[call] == err.message
            else:
                assert call in possible

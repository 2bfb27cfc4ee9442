"""Property tests: random schedules on a :class:`~tcplab.network.Network`.

A schedule mixes user calls (listen, connect, send, close, abort) and reads (recv) on both
ends with wire events (deliver ANY packet in flight -- so reorders --, drop, duplicate,
delay), timer firings and the clock moving (wait).  Half of the schedules run with small
receive buffers and segments (``FULL_CONFIGS``) and send up to ten times the buffer: the
window fills, closes to zero while an application does not read, and opens again; the
persist timer and window updates are exercised.  Whatever the schedule:

1. nothing but :class:`TcpError` (a refused user call) is ever raised;
2. bytes arrive EXACTLY ONCE AND IN ORDER: what an application received is always a
   prefix of what the other sent, and all of it once the FIN that follows it was processed;
3. no impossible pair of states ever shows (rules below, each justified), and a fully
   quiet network (nothing in flight, no timer running) is in a *stable* configuration;
4. once both applications have closed and the network is run until quiet, both ends are
   CLOSED -- the only legitimate exception is named and explained below;
5. ``replay(n)`` reproduces the run after n steps: states, TCB variables, segments in
   flight, the clock, and what each application received and read.

Each endpoint is opened at most once (listen and/or connect, then never again after it
returns to CLOSED): the invariants are about ONE connection.  A second incarnation could
legitimately receive an old duplicate from the first (that is what TIME-WAIT and ISN
selection make unlikely, not impossible), which would make "exactly once" unfalsifiable.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcplab.endpoint import CALLS, Config
from tcplab.network import Network
from tcplab.segment import seq_le
from tcplab.states import TcpState as S
from tcplab.steps import TcpError

NAMES = ("client", "server")

#: RFC timers, scaled down so that give-ups and TIME-WAIT expiry happen within a schedule.
#: FIN-WAIT-2 has no timeout (RFC 9293: it may wait for the peer's FIN forever).
RFC_CONFIG = Config(syn_retries=3, retries=4, rto_max=8.0, msl=2.0)
#: Linux-like: orphaned FIN-WAIT-2 times out (tcp_fin_timeout), fixed TIME-WAIT.
LINUX_CONFIG = Config.linux(syn_retries=3, retries=4, rto_max=8.0, time_wait=4.0,
                            fin_wait_2_timeout=10.0)
#: Small buffers and segments: a few hundred bytes fill the window (and close it to zero
#: while the application does not read); sends below are up to ten times larger.
FULL_CONFIGS = [
    Config(syn_retries=3, retries=4, rto_max=8.0, msl=2.0, mss=100, window=300, rcvbuf=300),
    Config(syn_retries=3, retries=4, rto_max=8.0, msl=2.0, mss=64, window=1000, rcvbuf=200),
    Config.linux(syn_retries=3, retries=4, rto_max=8.0, time_wait=4.0, fin_wait_2_timeout=10.0,
                 mss=120, window=500, rcvbuf=500),
]

# ----------------------------------------------------------------- state classes -------
# X sent its FIN (and is not CLOSED): only these states come after a FIN is sent.
SENT_FIN = {S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.TIME_WAIT, S.LAST_ACK}
# X's own FIN has been acknowledged (FIN-WAIT-2, and TIME-WAIT which is entered only from
# FIN-WAIT-2, from CLOSING on the ACK of the FIN, or from FIN-WAIT-1 by note 2).
FIN_ACKED = {S.FIN_WAIT_2, S.TIME_WAIT}
# X has processed the peer's FIN.
GOT_FIN = {S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT}
# X's SYN has been acknowledged by the peer.  (FIN-WAIT-1 is NOT here: CLOSE in
# SYN-RECEIVED sends a FIN before the SYN is acknowledged.  CLOSING is: the peer's FIN that
# took us there carried ACK >= our ISS+1, since the peer had our SYN when it closed.)
SYN_ACKED = {S.ESTABLISHED, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT}
# Not yet holding the peer's ISN (no common sequence space with the peer).
UNSYNCED = {S.CLOSED, S.LISTEN, S.SYN_SENT}


def impossible(x: S, y: S) -> str | None:
    """Why the pair (x, y) can never be observed -- at ANY time -- or None.

    With loss, a packet "in flight" and a packet lost are indistinguishable to the
    endpoints, so an empty wire alone rules out nothing more than these causal rules; what
    an empty wire *with no timer running* adds is checked by :func:`check_quiet`.
    """
    # (a) x processed y's FIN, so y had sent one; after sending a FIN a TCB is only ever in
    #     SENT_FIN or deleted (CLOSED).  E.g. CLOSE-WAIT/ESTABLISHED, TIME-WAIT/CLOSE-WAIT.
    if x in GOT_FIN and y not in SENT_FIN | {S.CLOSED}:
        return f"{x} means the peer's FIN was processed, but the peer never sent one ({y})"
    # (b) x's FIN was acknowledged, so y had processed it: y is in GOT_FIN or deleted.
    #     E.g. FIN-WAIT-2/ESTABLISHED, FIN-WAIT-2/FIN-WAIT-2, TIME-WAIT/FIN-WAIT-1.
    if x in FIN_ACKED and y not in GOT_FIN | {S.CLOSED}:
        return f"{x} means our FIN was acknowledged, so the peer cannot be in {y}"
    # (c) x's SYN was acknowledged, so y had received it and left LISTEN/SYN-SENT.  y could
    #     only return to LISTEN (note 1 / a new in-window SYN) on a RST at exactly our
    #     ISS+1 -- which we send only when aborting (then we are CLOSED) -- or on a SYN of
    #     ours inside its window, and our SYN sits at ISS = its RCV.NXT-1.  And SYN-SENT
    #     is entered only from CLOSED/LISTEN by a user call.  E.g. ESTABLISHED/LISTEN.
    if x in SYN_ACKED and y in (S.LISTEN, S.SYN_SENT):
        return f"{x} means the peer acknowledged our SYN, so it cannot be in {y}"
    return None


def quiet(net: Network) -> bool:
    return not net.in_flight and not net.timers()


def stable_states(config: Config, orphan: bool = True) -> set[S]:
    """States an endpoint can stay in with nothing in flight and no timer running.

    SYN-SENT, SYN-RECEIVED, FIN-WAIT-1, CLOSING and LAST-ACK always have an unacknowledged
    SYN or FIN, hence a retransmission timer; TIME-WAIT always has its 2*MSL timer; so does
    FIN-WAIT-2 of an orphan (close(), not shutdown()) when the Linux FIN-WAIT-2 timeout is
    configured.
    """
    stable = {S.CLOSED, S.LISTEN, S.ESTABLISHED, S.CLOSE_WAIT}
    if config.fin_wait_2_timeout is None or not orphan:
        stable.add(S.FIN_WAIT_2)
    return stable


class Run:
    """Interprets a schedule on a network and checks the invariants after every action."""

    def __init__(self, config: Config, seed: int, latency: float) -> None:
        self.config = config
        self.net = Network(NAMES, seed=seed, config=config, latency=latency)
        self.sent = {n: bytearray() for n in NAMES}      # what each application sent
        self.read = {n: bytearray() for n in NAMES}      # what each application read
        # what an application threw away unread by calling close() (then its TCP resets)
        self.discarded = {n: bytearray() for n in NAMES}
        self.opened = {n: False for n in NAMES}
        self.aborted = {n: False for n in NAMES}
        self.refused = 0

    def chunk(self, who: str, n: int) -> bytes:
        # position-dependent content, different per side: any loss, duplicate or reorder
        # of bytes changes the stream
        base = len(self.sent[who])
        salt = 7 if who == "client" else 131
        return bytes(((base + i) * salt + (base + i) // 251) % 256 for i in range(n))

    # -- actions ---------------------------------------------------------------------------
    def do(self, action: tuple) -> None:
        net = self.net
        kind = action[0]
        if kind == "call":
            _, who, call, size = action
            ep = net[who]
            if call in ("listen", "connect") and ep.state is S.CLOSED and self.opened[who]:
                return                                  # one incarnation per endpoint
            args = (self.chunk(who, size),) if call == "send" else ()
            # close: the sockets API's close() (an orphan: unread or later data gets RST),
            # or, for odd sizes, shutdown(SHUT_WR) (the RFC's CLOSE; a close() may follow)
            if call == "close" and size % 2 == 0:
                args = (True,)
                unread = bytes(ep.received)
                if ep.shut_wr:
                    net.close(who)
                    self.discarded[who] += unread
                    self.aborted[who] |= bool(unread)    # unread data: close() resets
                    return
            try:
                net.call(who, call, *args)
            except TcpError as err:
                assert call not in ep.possible_calls(), err
                self.refused += 1
                return
            if call == "send":
                self.sent[who] += args[0]
            if args == (True,):
                self.discarded[who] += unread
                self.aborted[who] |= bool(unread)        # unread data: close() resets
            if call == "abort":
                self.aborted[who] = True
        elif kind in ("deliver", "drop", "duplicate", "delay"):
            if not net.in_flight:
                return
            pid = net.in_flight[action[1] % len(net.in_flight)].id
            if kind == "deliver":
                net.deliver(pid)
            elif kind == "drop":
                net.drop(pid)
            elif kind == "duplicate":
                net.duplicate(pid, action[2])
            else:
                net.delay(pid, action[2])
        elif kind == "timer":
            if net[action[1]].timers:
                net.fire_timer(action[1])
        elif kind == "recv":
            self.read[action[1]] += net.recv(action[1], action[2])
        elif kind == "wait":
            net.wait(action[1])
        elif kind == "step":
            net.step()
        elif kind == "settle":                          # deliver all that is in flight
            net.settle(max_steps=500)
        else:
            raise AssertionError(action)
        for n in NAMES:
            if net.state(n) is not S.CLOSED:
                self.opened[n] = True

    # -- invariants ---------------------------------------------------------------------
    def fin_processed(self, receiver: str) -> bool:
        """Did ``receiver`` process its peer's FIN at some point?"""
        keys = {"established-rcv-fin", "fin-wait-1-rcv-fin", "fin-wait-1-rcv-fin-ack",
                "fin-wait-2-rcv-fin"}
        return any(s.actor == receiver and any(t.key in keys for t in s.transitions)
                   for s in self.net.history)

    def got(self, who: str) -> bytes:
        """Everything the TCP ``who`` delivered to its application: what the application
        read or threw away unread with close(), then what waits to be read."""
        return bytes(self.read[who]) + bytes(self.discarded[who]) + \
            bytes(self.net[who].received)

    def read_all(self) -> None:
        for n in NAMES:
            self.read[n] += self.net.recv(n)

    def dropped_half_open(self, who: str) -> bool:
        return any(s.actor == who and any(t.key == "syn-received-synack-timeout"
                                          for t in s.transitions) for s in self.net.history)

    def check(self) -> None:
        net = self.net
        for src in NAMES:
            dst = net.peer(src)
            got, sent = self.got(dst), bytes(self.sent[src])
            assert sent.startswith(got), (
                f"{dst} received {got!r}, not a prefix of what {src} sent {sent!r}")
        a, b = (net.state(n) for n in NAMES)
        for (x, y), who in (((a, b), NAMES[1]), ((b, a), NAMES[0])):
            why = impossible(x, y)
            if why and y is S.LISTEN and self.dropped_half_open(who):
                # the one more way back to LISTEN: the listener gave up a half-open
                # connection whose SYN,ACKs went unanswered (Linux: tcp_synack_retries),
                # while the peer, whose ACK was lost, believes it is ESTABLISHED
                continue
            assert why is None, f"impossible pair {a}/{b}: {why}"
        # sequence spaces: a receiver never gets beyond what was sent, and the sender's
        # SND.UNA never passes what the receiver has
        if a not in UNSYNCED and b not in UNSYNCED:
            for src in NAMES:
                s, r = net[src], net[net.peer(src)]
                assert seq_le(s.snd_una, r.rcv_nxt) and seq_le(r.rcv_nxt, s.snd_nxt), (
                    f"{src}: SND.UNA={s.snd_una} SND.NXT={s.snd_nxt}, peer RCV.NXT={r.rcv_nxt}")
        if quiet(net):
            self.check_quiet()

    def check_quiet(self) -> None:
        """Nothing in flight and no timer: nothing can ever happen again on its own."""
        net = self.net
        for n in NAMES:
            ep = net[n]
            stable = stable_states(self.config, ep.orphan)
            assert ep.state in stable, f"quiet network but {n} is in {ep.state}"
            assert not ep.send_buffer and not ep.retransmission_queue
            assert ep.snd_una == ep.snd_nxt
        a, b = (net.state(n) for n in NAMES)
        if a in SYN_ACKED and b in SYN_ACKED:
            # the same connection, nothing outstanding: both sequence spaces agree and
            # every byte sent has arrived (exactly once, by the prefix check)
            for src in NAMES:
                dst = net.peer(src)
                assert net[src].snd_nxt == net[dst].rcv_nxt
                assert self.got(dst) == bytes(self.sent[src])

    def check_complete_transfer(self) -> None:
        for src in NAMES:
            dst = self.net.peer(src)
            if self.fin_processed(dst):
                # a FIN is processed only after every byte before it: all of it arrived
                assert self.got(dst) == bytes(self.sent[src])


# ----------------------------------------------------------------- strategies ----------
index = st.integers(min_value=0, max_value=31)
seconds = st.sampled_from([0.0, 0.05, 0.15, 0.5, 1.5, 4.0])
sizes = st.integers(min_value=1, max_value=3000)
reads = st.one_of(st.none(), st.integers(min_value=0, max_value=700))
actions = st.one_of(
    st.tuples(st.just("recv"), st.sampled_from(NAMES), reads),
    st.tuples(st.just("wait"), seconds),
    st.tuples(st.just("call"), st.sampled_from(NAMES), st.sampled_from(CALLS), sizes),
    st.tuples(st.just("call"), st.sampled_from(NAMES), st.just("send"), sizes),
    st.tuples(st.just("call"), st.sampled_from(NAMES), st.just("send"), sizes),
    st.tuples(st.just("call"), st.sampled_from(NAMES), st.sampled_from(("listen", "connect")),
              st.just(0)),
    st.tuples(st.just("deliver"), index),
    st.tuples(st.just("deliver"), index),
    st.tuples(st.just("drop"), index),
    st.tuples(st.just("duplicate"), index, seconds),
    st.tuples(st.just("delay"), index, seconds),
    st.tuples(st.just("timer"), st.sampled_from(NAMES)),
    st.tuples(st.just("step")),
)
#: How the two ends open: the usual client/server, a simultaneous open, a server that
#: turns active (SEND/OPEN in LISTEN), or something left to the random calls.
openings = st.sampled_from([
    [("call", "server", "listen", 0), ("call", "client", "connect", 0)],
    [("call", "server", "listen", 0), ("call", "client", "connect", 0)],
    [("call", "server", "listen", 0), ("call", "client", "connect", 0)],
    [("call", "client", "connect", 0), ("call", "server", "connect", 0)],
    [("call", "server", "listen", 0), ("call", "client", "listen", 0),
     ("call", "client", "send", 10)],
    [("call", "server", "listen", 0)],
    [],
])
progress = st.one_of(st.tuples(st.just("step")), st.tuples(st.just("deliver"), index),
                     st.tuples(st.just("settle")))
body = st.lists(st.one_of(actions, progress), min_size=5, max_size=35)
#: midway, one or both applications close (so the closing states meet loss and reorder)
closes = st.lists(st.sampled_from([("call", "client", "close", 0),
                                   ("call", "server", "close", 0)]), max_size=2)
schedules = st.builds(lambda a, b, c, d: a + b + c + d, openings, body, closes, body)
configs = st.sampled_from([RFC_CONFIG, LINUX_CONFIG, *FULL_CONFIGS])
#: 10,000 schedules in all (and a replay check on 1,000 more): TCPLAB_SCHEDULES scales it.
EXAMPLES = int(os.environ.get("TCPLAB_SCHEDULES", "10000"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
REPLAY_SETTINGS = settings(SETTINGS, max_examples=max(EXAMPLES // 10, 50))


def play(config: Config, seed: int, latency: float, schedule: list) -> Run:
    run = Run(config, seed, latency)
    run.check()
    for action in schedule:
        run.do(action)
        run.check()
    return run


@SETTINGS
@given(config=configs, seed=st.integers(0, 2 ** 16), latency=st.sampled_from([0.0, 0.1]),
       schedule=schedules)
def test_random_schedules_keep_tcp_invariants(config, seed, latency, schedule):
    run = play(config, seed, latency, schedule)
    run.check_complete_transfer()
    net = run.net
    # Both applications close (a refused close means it was already closed, or there is
    # no connection), then the network runs until nothing can happen any more.
    # Both applications read what they were sent (as they would before closing), close, and
    # keep reading while the network runs until nothing can happen any more.
    run.read_all()
    for who in NAMES:
        if "close" in net[who].possible_calls() or net[who].shut_wr:
            run.discarded[who] += net[who].received
            run.aborted[who] |= bool(net[who].received)
            net.close(who)
        run.check()
    for _ in range(50_000):         # an application that reads whatever arrives
        if net.step() is None:
            break
        run.read_all()
        run.check()
    assert quiet(net)
    run.check_complete_transfer()
    for who in NAMES:
        other = net.peer(who)
        if net.state(who) is S.CLOSED:
            continue
        # The one legitimate leftover: RFC 9293 lets FIN-WAIT-2 wait for the peer's FIN
        # forever (there is no timer); if the peer vanished without that FIN reaching us
        # -- it aborted, was reset or gave up retransmitting -- nobody will ever send it.
        # (A peer that closed normally could not be CLOSED: its LAST-ACK ends only on the
        # ACK of its FIN, i.e. after we processed that FIN and left FIN-WAIT-2.)
        assert net.state(who) is S.FIN_WAIT_2 and (config.fin_wait_2_timeout is None or
                                                   not net[who].orphan), (
            f"after both closed: {net.states()}")
        assert net.state(other) is S.CLOSED
        assert run.aborted[other] or net[other].reason in (
            "connection reset", "connection timed out"), (other, net[other].reason)


def observe(net: Network) -> dict:
    """All a learner can see of a run at one moment."""
    return {"now": net.now, "states": net.states(),
            "tcb": {m: net[m].tcb() for m in NAMES},
            "in_flight": [(p.id, p.src, p.segment, p.arrive_at) for p in net.in_flight],
            "timers": net.timers()}


class Recording(Run):
    """A Run that takes a snapshot of the network just before each action it records."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.seen: dict[int, dict] = {}

    def do(self, action: tuple) -> None:
        self.seen.setdefault(len(self.net.actions), observe(self.net))
        super().do(action)
        self.seen[len(self.net.actions)] = observe(self.net)


@REPLAY_SETTINGS
@given(config=configs, seed=st.integers(0, 2 ** 16), schedule=schedules, data=st.data())
def test_replay_reproduces_the_run_after_n_steps(config, seed, schedule, data):
    run = Recording(config, seed, 0.1)
    for action in schedule:
        run.do(action)
    net = run.net
    total = len(net.actions)
    assert len(net.history) == total
    # every moment between two of the schedule's actions (after a wait(), a recv(), ...)
    moments = sorted(run.seen)
    for n in {0, total, data.draw(st.integers(0, total), label="n"),
              data.draw(st.sampled_from(moments), label="moment")}:
        copy = net.replay(n)
        want = dict(net.history[n - 1].states) if n else {m: S.CLOSED for m in NAMES}
        assert copy.states() == want
        assert len(copy.history) == n
        assert [s.sent for s in copy.history] == [s.sent for s in net.history[:n]]
        if n in run.seen:
            assert observe(copy) == run.seen[n], f"replay({n}) differs from the run then"
    assert observe(net.replay()) == observe(net)
    # Undo in place goes back to the same moment
    k = data.draw(st.sampled_from(moments), label="k")
    net.rewind(k)
    assert len(net.history) == k and observe(net) == run.seen[k]


def test_handshake_data_and_close_without_loss_is_clean():
    """A sanity anchor for the property: the plain life of a connection passes it."""
    run = play(RFC_CONFIG, 1, 0.1, [
        ("call", "server", "listen", 0), ("call", "client", "connect", 0),
        ("step",), ("step",), ("step",),
        ("call", "client", "send", 2000), ("call", "server", "send", 700),
        *[("step",)] * 12, ("recv", "server", None), ("recv", "client", None),
        ("call", "client", "close", 0), ("call", "server", "close", 0)])
    run.net.run()
    run.check()
    run.check_complete_transfer()
    assert run.net.states() == {"client": S.CLOSED, "server": S.CLOSED}
    assert len(run.got("server")) == 2000 and len(run.got("client")) == 700
    assert not run.discarded["server"] and not run.discarded["client"]

"""Segments, their text forms, and sequence-number arithmetic -- especially AT THE WRAP
(RFC 9293 §3.4: "all arithmetic dealing with sequence numbers must be performed modulo
2**32", and "=<" means less than or equal modulo 2**32)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcplab.network import Network
from tcplab.segment import SEQ_MOD, Flags, Segment, seq_add, seq_ge, seq_gt, seq_in_window, \
    seq_le, seq_lt, seq_sub
from tcplab.states import TcpState as S

TOP = 2 ** 32 - 1


# ---------------------------------------------------------------------- flags ----------

def test_flag_bits_are_the_header_bits():
    # RFC 9293 §3.1 control bits: ... URG(0x20) ACK(0x10) PSH(0x08) RST(0x04) SYN(0x02) FIN(0x01)
    assert (Flags.FIN, Flags.SYN, Flags.RST, Flags.PSH, Flags.ACK) == (1, 2, 4, 8, 16)


@pytest.mark.parametrize("flags,rfc,tcpdump", [
    ("SYN", "SYN", "S"), ("SYN,ACK", "SYN,ACK", "S."), ("ACK", "ACK", "."),
    ("FIN,ACK", "FIN,ACK", "F."), ("RST", "RST", "R"), ("RST,ACK", "RST,ACK", "R."),
    ("PSH,ACK", "PSH,ACK", "P."), ("FIN,PSH,ACK", "FIN,PSH,ACK", "FP."),
])
def test_flag_text_forms(flags, rfc, tcpdump):
    f = Flags.parse(flags)
    assert f.rfc() == rfc and f.tcpdump() == tcpdump
    assert Flags.parse(tcpdump) == f                     # tcpdump letters parse back


def test_no_flags():
    assert Flags.NONE.tcpdump() == "none" and Flags.NONE.rfc() == ""


@pytest.mark.parametrize("text,flags", [
    ("syn+ack", Flags.SYN | Flags.ACK), ("SYN|ACK", Flags.SYN | Flags.ACK),
    ("ack syn", Flags.SYN | Flags.ACK), ("S.", Flags.SYN | Flags.ACK),
    ("SA", Flags.SYN | Flags.ACK), ("FA", Flags.FIN | Flags.ACK), ("f", Flags.FIN),
    (" RST ", Flags.RST), ("R.", Flags.RST | Flags.ACK), ("P.", Flags.PSH | Flags.ACK),
])
def test_flag_parse_spellings(text, flags):
    assert Flags.parse(text) == flags


@pytest.mark.parametrize("bad", ["", "SYNACK", "XYZ", "S,Q", "URG"])
def test_flag_parse_errors_explain_the_forms(bad):
    with pytest.raises(ValueError, match="SYN,ACK") as info:
        Flags.parse(bad)
    assert "tcpdump" in str(info.value)


# ---------------------------------------------------------------------- segments -------

@pytest.mark.parametrize("seg,rfc,tcpdump,label", [
    (Segment.make("SYN", 100), "<SEQ=100><CTL=SYN>", "[S] seq 100", "SYN"),
    (Segment.make("SYN,ACK", 300, 101), "<SEQ=300><ACK=101><CTL=SYN,ACK>",
     "[S.] seq 300 ack 101", "SYN,ACK"),
    (Segment.make("ACK", 101, 301), "<SEQ=101><ACK=301><CTL=ACK>", "[.] seq 101 ack 301",
     "ACK"),
    (Segment.make("PSH,ACK", 101, 301, data=b"hello"),
     "<SEQ=101><ACK=301><CTL=PSH,ACK><DATA=5>", "[P.] seq 101:106 ack 301 len 5",
     "DATA(5),ACK"),
    (Segment.make("FIN,ACK", 106, 301), "<SEQ=106><ACK=301><CTL=FIN,ACK>",
     "[F.] seq 106 ack 301", "FIN,ACK"),
    (Segment.make("RST", 91), "<SEQ=91><CTL=RST>", "[R] seq 91", "RST"),
    (Segment.make("RST,ACK", 0, 101), "<SEQ=0><ACK=101><CTL=RST,ACK>", "[R.] seq 0 ack 101",
     "RST,ACK"),
    (Segment.make("ACK", TOP, 0, data=b"wrap!"),
     f"<SEQ={TOP}><ACK=0><CTL=ACK><DATA=5>", f"[.] seq {TOP}:4 ack 0 len 5",
     "DATA(5),ACK"),
])
def test_segment_text_forms(seg, rfc, tcpdump, label):
    assert seg.rfc() == rfc and str(seg) == rfc
    assert seg.tcpdump() == tcpdump
    assert seg.label() == label


def test_the_rfc_figure_6_handshake_in_rfc_notation():
    # RFC 9293 figure 6, lines 2-4
    assert [s.rfc() for s in (Segment.make("SYN", 100), Segment.make("SYN,ACK", 300, 101),
                              Segment.make("ACK", 101, 301))] == [
        "<SEQ=100><CTL=SYN>", "<SEQ=300><ACK=101><CTL=SYN,ACK>", "<SEQ=101><ACK=301><CTL=ACK>"]


@pytest.mark.parametrize("flags,data,length", [
    ("ACK", b"", 0), ("SYN", b"", 1), ("FIN,ACK", b"", 1), ("ACK", b"abc", 3),
    ("SYN,FIN", b"abc", 5), ("RST", b"", 0), ("PSH,ACK", b"x", 1)])
def test_seg_len_counts_syn_and_fin(flags, data, length):
    assert Segment.make(flags, 7, data=data).len == length


def test_last_seq_across_the_wrap():
    assert Segment.make("ACK", TOP - 1, data=b"abcd").last_seq == 1
    assert Segment.make("FIN", TOP).last_seq == TOP
    assert Segment.make("ACK", 5).last_seq == 5                # zero length: SEG.SEQ


def test_segment_validation():
    for bad in (-1, SEQ_MOD, 1.5, True, "100"):
        with pytest.raises(ValueError, match="seq"):
            Segment(Flags.SYN, bad)
        with pytest.raises(ValueError, match="ack"):
            Segment(Flags.ACK, 0, bad)
    with pytest.raises(ValueError, match="window"):
        Segment(Flags.ACK, 0, 0, -1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Segment.make("SYN", 1).seq = 2                        # type: ignore[misc]


def test_make_reduces_numbers_modulo_2_32_and_accepts_text_data():
    seg = Segment.make("ACK", SEQ_MOD + 5, -1, data="hi")
    assert (seg.seq, seg.ack, seg.data) == (5, TOP, b"hi")
    assert Segment(3, 1).flags == Flags.SYN | Flags.FIN and Segment(Flags.ACK, 1,
                                                                    data=bytearray(b"z")).data == b"z"


# ---------------------------------------------------------------------- arithmetic -----

def test_add_and_sub_at_the_wrap():
    assert seq_add(TOP, 1) == 0
    assert seq_add(TOP, 2) == 1
    assert seq_add(0, -1) == TOP
    assert seq_add(TOP - 1, 2 ** 32) == TOP - 1
    assert seq_sub(0, TOP) == 1 and seq_sub(TOP, 0) == -1
    assert seq_sub(3, TOP - 1) == 5


def test_comparisons_across_the_wrap():
    assert seq_lt(TOP, 0) and not seq_lt(0, TOP)
    assert seq_gt(0, TOP) and seq_ge(0, TOP) and not seq_le(0, TOP)
    assert seq_le(TOP, TOP) and seq_ge(TOP, TOP) and not seq_lt(TOP, TOP)
    assert seq_lt(TOP - 10, 10)                 # 4294967285 < 10 on the circle
    assert seq_lt(2 ** 31 - 1, 2 ** 31) and seq_lt(100, 100 + 2 ** 31 - 1)
    assert seq_gt(100, 100 + 2 ** 31 + 1)       # more than half way round: behind


def test_window_test_across_the_wrap():
    # RCV.NXT =< x < RCV.NXT + RCV.WND with RCV.NXT = 2**32-2, RCV.WND = 5: {-2,-1,0,1,2}
    inside = [TOP - 1, TOP, 0, 1, 2]
    for x in inside:
        assert seq_in_window(x, TOP - 1, 5)
    for x in (TOP - 2, 3, 2 ** 31):
        assert not seq_in_window(x, TOP - 1, 5)
    assert not seq_in_window(0, 0, 0)          # an empty window contains nothing


seqs = st.integers(0, TOP)
distances = st.integers(1, 2 ** 31 - 1)


@settings(max_examples=300)
@given(a=seqs, d=distances)
def test_order_is_consistent_for_anything_less_than_half_the_circle(a, d):
    b = seq_add(a, d)
    assert seq_lt(a, b) and seq_le(a, b) and seq_gt(b, a) and seq_ge(b, a)
    assert not seq_lt(b, a) and not seq_ge(a, b)
    assert seq_sub(b, a) == d and seq_sub(a, b) == -d
    assert seq_in_window(b, a, d + 1) and not seq_in_window(b, a, d)


@settings(max_examples=300)
@given(a=seqs, b=seqs)
def test_sub_and_add_are_inverse(a, b):
    assert seq_add(b, seq_sub(a, b)) == a
    assert -(2 ** 31) <= seq_sub(a, b) < 2 ** 31


# ---------------------------------------------------------------- a connection across --

def test_an_endpoint_with_iss_near_the_top_lives_a_whole_connection_across_the_wrap():
    net = Network(isn={"client": 2 ** 32 - 2, "server": 2 ** 32 - 3})
    net.listen("server")
    syn = net.connect("client").sent[0]
    assert syn.rfc() == f"<SEQ={2 ** 32 - 2}><CTL=SYN>"
    steps = net.settle()
    assert [s.rfc() for st_ in steps for s in st_.sent] == [
        f"<SEQ={2 ** 32 - 3}><ACK={2 ** 32 - 1}><CTL=SYN,ACK>",
        f"<SEQ={2 ** 32 - 1}><ACK={2 ** 32 - 2}><CTL=ACK>"]
    client, server = net["client"], net["server"]
    assert (client.snd_nxt, server.rcv_nxt) == (TOP, TOP)
    # 1200 bytes: three segments (MSS 536) that cross 2**32-1 -> 0
    data = bytes(range(256)) * 4 + bytes(176)
    step = net.send("client", data)
    assert [s.seq for s in step.sent] == [TOP, 535, 1071]
    net.send("server", b"reply")
    net.settle()
    assert server.recv() == data and client.recv() == b"reply"
    assert client.snd_una == client.snd_nxt == 1199
    assert server.snd_una == server.snd_nxt == 3           # 2**32-2 + 5 bytes
    fin = net.close("client").sent[0]
    assert fin.rfc() == "<SEQ=1199><ACK=3><CTL=FIN,ACK>"
    net.settle()
    assert net.states() == {"client": S.FIN_WAIT_2, "server": S.CLOSE_WAIT}
    net.close("server")
    net.run()
    assert net.states() == {"client": S.CLOSED, "server": S.CLOSED}
    assert [s.after for s in net.history if s.actor == "client"][-2:] == [S.TIME_WAIT, S.CLOSED]


def test_old_duplicate_across_the_wrap_is_recognised_as_old():
    net = Network(isn={"client": 2 ** 32 - 2, "server": 300})
    net.listen("server")
    net.connect("client")
    net.settle()
    net.send("client", b"abcdef")                         # SEQ 2**32-1 .. 4
    dup = net.find("client", "DATA")
    net.duplicate(dup.id, extra_delay=1.0)
    net.settle()
    net.run(until=net.now + 2)
    assert net["server"].recv() == b"abcdef"               # once, though it arrived twice
    assert net["server"].rcv_nxt == 5

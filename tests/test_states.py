"""The state crosswalk checked against its sources, transcribed here as data.

* Linux ``include/net/tcp_states.h``: TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11, then
  TCP_NEW_SYN_RECV = 12 and TCP_BOUND_INACTIVE = 13 (internal, never a socket's state).
* net-tools ``netstat`` (``lib/`` tcp_state[] table): ESTABLISHED, SYN_SENT, SYN_RECV, ...
* iproute2 ``misc/ss.c`` sstate_name[]: ESTAB, SYN-SENT, SYN-RECV, ..., UNCONN for closed.
* RFC 4022 TCP-MIB ``tcpConnectionState``: closed(1) ... timeWait(11), deleteTCB(12).
* Windows ``MIB_TCP_STATE`` (iprtrmib.h / tcpmib.h): CLOSED=1 ... CLOSE_WAIT=8, then
  CLOSING=9, LAST_ACK=10 (swapped relative to the MIB), TIME_WAIT=11, DELETE_TCB=12.
* BSD ``netinet/tcp_fsm.h`` tcpstates[]: SYN_RCVD, FIN_WAIT_1, ...
"""

from __future__ import annotations

import re

import pytest

from tcplab.states import MIB_DELETE_TCB, TcpState as S, crosswalk, crosswalk_html, \
    crosswalk_text

# include/net/tcp_states.h, in enum order starting at 1
LINUX_TCP_STATES_H = ["TCP_ESTABLISHED", "TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_FIN_WAIT1",
                      "TCP_FIN_WAIT2", "TCP_TIME_WAIT", "TCP_CLOSE", "TCP_CLOSE_WAIT",
                      "TCP_LAST_ACK", "TCP_LISTEN", "TCP_CLOSING"]
# net-tools netstat, same index as the kernel code
NETSTAT = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
           "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"]
# iproute2 ss, same index as the kernel code
SS = ["ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN",
      "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"]
# RFC 4022 tcpConnectionState, values 1..12
RFC4022 = ["closed", "listen", "synSent", "synReceived", "established", "finWait1",
           "finWait2", "closeWait", "lastAck", "closing", "timeWait", "deleteTCB"]
# Windows MIB_TCP_STATE, values 1..12
WINDOWS = ["CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTAB", "FIN_WAIT1", "FIN_WAIT2",
           "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "DELETE_TCB"]
# BSD tcpstates[] (indexes are BSD's own TCPS_* numbers, not modelled)
BSD = ["CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1",
       "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT"]

# the RFC 9293 state each source name stands for
LINUX_TO_RFC = ["ESTABLISHED", "SYN-SENT", "SYN-RECEIVED", "FIN-WAIT-1", "FIN-WAIT-2",
                "TIME-WAIT", "CLOSED", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"]
MIB_TO_RFC = ["CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
              "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT"]
WINDOWS_TO_RFC = ["CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
                  "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"]
BSD_TO_RFC = ["CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT",
              "FIN-WAIT-1", "CLOSING", "LAST-ACK", "FIN-WAIT-2", "TIME-WAIT"]


def by_rfc(name: str) -> S:
    (state,) = [s for s in S if s.rfc == name]
    return state


def test_eleven_states_with_rfc_9293_names():
    assert [s.rfc for s in S] == [
        "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"]
    assert str(S.SYN_RECEIVED) == "SYN-RECEIVED" and repr(S.TIME_WAIT) == "TcpState.TIME_WAIT"


@pytest.mark.parametrize("code", range(1, 12))
def test_linux_codes_match_tcp_states_h(code):
    state = by_rfc(LINUX_TO_RFC[code - 1])
    assert state.linux == code and state.linux_macro == LINUX_TCP_STATES_H[code - 1]
    assert state.netstat == NETSTAT[code - 1] and state.ss == SS[code - 1]
    assert S.from_linux(code) is state
    assert S.from_linux(f"{code:02X}") is state        # /proc/net/tcp prints hex: 0A, 0B


def test_linux_endpoints_of_the_enum():
    assert S.ESTABLISHED.linux == 1 and S.CLOSING.linux == 11 and S.CLOSED.linux == 7
    assert S.LISTEN.linux == 10 and S.from_linux("0A") is S.LISTEN


@pytest.mark.parametrize("code", [12, 13])
def test_linux_internal_pseudo_states_are_refused_with_explanation(code):
    with pytest.raises(ValueError, match="TCP_NEW_SYN_RECV") as info:
        S.from_linux(code)
    assert "1=ESTABLISHED" in str(info.value)          # and it lists what is accepted


@pytest.mark.parametrize("code", range(1, 12))
def test_mib_values_match_rfc_4022(code):
    state = by_rfc(MIB_TO_RFC[code - 1])
    assert state.mib == code and state.mib_name == RFC4022[code - 1]
    assert S.from_mib(code) is state and S.from_mib(str(code)) is state


def test_mib_delete_tcb_is_refused_with_explanation():
    assert MIB_DELETE_TCB == 12 and RFC4022[11] == "deleteTCB"
    with pytest.raises(ValueError, match="deleteTCB") as info:
        S.from_mib(12)
    assert "never" in str(info.value) and "1..11" in str(info.value)


@pytest.mark.parametrize("code", range(1, 12))
def test_windows_values_match_mib_tcp_state(code):
    state = by_rfc(WINDOWS_TO_RFC[code - 1])
    assert state.windows == code
    assert state.windows_name == "MIB_TCP_STATE_" + WINDOWS[code - 1]
    assert S.from_windows(code) is state


def test_windows_swaps_closing_and_last_ack_relative_to_the_mib():
    assert (S.CLOSING.windows, S.LAST_ACK.windows) == (9, 10)
    assert (S.CLOSING.mib, S.LAST_ACK.mib) == (10, 9)
    differ = {s for s in S if s.windows != s.mib}
    assert differ == {S.CLOSING, S.LAST_ACK}
    with pytest.raises(ValueError, match="DELETE_TCB"):
        S.from_windows(12)


def test_bsd_names_match_tcpstates():
    for name, rfc in zip(BSD, BSD_TO_RFC):
        assert by_rfc(rfc).bsd == name


@pytest.mark.parametrize("attr", ["linux", "mib", "windows", "netstat", "ss", "bsd", "rfc",
                                  "mib_name", "linux_macro", "windows_name"])
def test_every_scheme_names_each_state_once(attr):
    values = [getattr(s, attr) for s in S]
    assert len(set(values)) == len(values) == 11


@pytest.mark.parametrize("bad", [0, -1, 14, 99])
@pytest.mark.parametrize("lookup", ["from_linux", "from_mib", "from_windows"])
def test_unknown_numbers_are_clear_errors(lookup, bad):
    with pytest.raises(ValueError) as info:
        getattr(S, lookup)(bad)
    text = str(info.value)
    assert str(bad) in text and "accepted" in text and "ESTABLISHED" in text


@pytest.mark.parametrize("lookup", ["from_linux", "from_mib", "from_windows"])
def test_numbers_must_be_numbers(lookup):
    with pytest.raises(TypeError):
        getattr(S, lookup)(True)
    with pytest.raises(ValueError):
        getattr(S, lookup)("established")
    with pytest.raises(ValueError):
        getattr(S, lookup)(1.5)


# ------------------------------------------------------------------------------ parse --

SPELLINGS = {
    S.CLOSED: ["CLOSED", "closed", "CLOSE", "UNCONN", "TCP_CLOSE", "MIB_TCP_STATE_CLOSED",
               "TCPS_CLOSED", "Closed"],
    S.LISTEN: ["LISTEN", "listen", "LISTENING", "TCP_LISTEN", "MIB_TCP_STATE_LISTEN",
               "TCPS_LISTEN", "Listen"],
    S.SYN_SENT: ["SYN-SENT", "SYN_SENT", "syn sent", "synSent", "TCP_SYN_SENT",
                 "MIB_TCP_STATE_SYN_SENT", "TCPS_SYN_SENT", "SynSent"],
    S.SYN_RECEIVED: ["SYN-RECEIVED", "SYN_RECV", "SYN-RECV", "SYN_RCVD", "SYN-RCVD",
                     "synReceived", "TCP_SYN_RECV", "MIB_TCP_STATE_SYN_RCVD",
                     "TCPS_SYN_RECEIVED", "SYN_RECEIVED", "SynReceived", " syn_recv "],
    S.ESTABLISHED: ["ESTABLISHED", "ESTAB", "established", "TCP_ESTABLISHED",
                    "MIB_TCP_STATE_ESTAB", "TCPS_ESTABLISHED", "Established"],
    S.FIN_WAIT_1: ["FIN-WAIT-1", "FIN_WAIT1", "FIN_WAIT_1", "finWait1", "TCP_FIN_WAIT1",
                   "MIB_TCP_STATE_FIN_WAIT1", "TCPS_FIN_WAIT_1", "FinWait1", "fin wait 1"],
    S.FIN_WAIT_2: ["FIN-WAIT-2", "FIN_WAIT2", "FIN_WAIT_2", "finWait2", "TCP_FIN_WAIT2",
                   "MIB_TCP_STATE_FIN_WAIT2", "TCPS_FIN_WAIT_2", "FinWait2"],
    S.CLOSE_WAIT: ["CLOSE-WAIT", "CLOSE_WAIT", "closeWait", "TCP_CLOSE_WAIT",
                   "MIB_TCP_STATE_CLOSE_WAIT", "TCPS_CLOSE_WAIT", "CloseWait"],
    S.CLOSING: ["CLOSING", "closing", "TCP_CLOSING", "MIB_TCP_STATE_CLOSING", "TCPS_CLOSING"],
    S.LAST_ACK: ["LAST-ACK", "LAST_ACK", "lastAck", "TCP_LAST_ACK", "MIB_TCP_STATE_LAST_ACK",
                 "TCPS_LAST_ACK", "LastAck"],
    S.TIME_WAIT: ["TIME-WAIT", "TIME_WAIT", "timeWait", "TCP_TIME_WAIT",
                  "MIB_TCP_STATE_TIME_WAIT", "TCPS_TIME_WAIT", "TimeWait", "time wait"],
}


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.rfc)
def test_parse_many_spellings(state):
    for text in SPELLINGS[state]:
        assert S.parse(text) is state, text


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.rfc)
def test_parse_round_trips_every_name_the_crosswalk_prints(state):
    for name in (state.rfc, state.netstat, state.ss, state.bsd, state.mib_name,
                 state.linux_macro, state.windows_name, state.name):
        assert S.parse(name) is state, name
        assert S.parse(name.lower()) is state, name
    assert S.parse(state) is state


@pytest.mark.parametrize("bad", ["", "FIN_WAIT", "ESTABLISH", "SYN", "NEW_SYN_RECV",
                                 "DELETE_TCB", "deleteTCB", "BOUND", "TIME-WAIT-2", "tcp"])
def test_parse_unknown_is_a_value_error_listing_accepted_names(bad):
    with pytest.raises(ValueError) as info:
        S.parse(bad)
    text = str(info.value)
    assert repr(bad) in text
    for state in S:
        assert state.rfc in text
    assert "SYN_RECV" in text and "ESTAB" in text      # and some tool spellings


def test_parse_rejects_numbers_pointing_to_the_number_lookups():
    with pytest.raises(TypeError, match="from_linux"):
        S.parse(1)


# ------------------------------------------------------------------------------ misc ----

def test_synchronized_states_are_those_of_rfc_9293_3_5_2():
    # §3.5.2: non-synchronized LISTEN, SYN-SENT, SYN-RECEIVED (and CLOSED: no TCB)
    assert {s for s in S if s.synchronized} == {
        S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK,
        S.TIME_WAIT}


def test_every_state_has_a_description():
    for s in S:
        assert len(s.description) > 40 and s.description.endswith(".")


def test_crosswalk_rows_follow_mib_order_with_every_name():
    rows = crosswalk()
    assert [r["RFC 9293"] for r in rows] == MIB_TO_RFC
    for row, s in zip(rows, sorted(S, key=lambda s: s.mib)):
        assert row == {"RFC 9293": s.rfc, "netstat": s.netstat, "ss": s.ss,
                       "Linux": s.linux, "SNMP MIB": f"{s.mib_name}({s.mib})",
                       "Windows": s.windows, "BSD/macOS": s.bsd}


def test_crosswalk_text_is_an_aligned_table():
    lines = crosswalk_text().splitlines()
    assert len(lines) == 13                                  # header, rule, 11 states
    assert lines[0].split() == ["RFC", "9293", "netstat", "ss", "Linux", "SNMP", "MIB",
                                "Windows", "BSD/macOS"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    starts = [m.start() for m in re.finditer(r"-+", lines[1])]
    for line in lines[2:]:
        for col in starts[1:]:
            assert line[col - 1] == " " or line[col - 2:col] == "  "
    row = next(ln for ln in lines if ln.startswith("SYN-RECEIVED"))
    assert row.split() == ["SYN-RECEIVED", "SYN_RECV", "SYN-RECV", "3", "synReceived(4)",
                           "4", "SYN_RCVD"]


def test_crosswalk_html_marks_only_the_windows_swap():
    html = crosswalk_html()
    assert html.count("<tr>") == 12 and html.count("<td>") == 11 * 7
    marked = re.findall(r'<b style="color:#d55e00"[^>]*>(\d+)</b>', html)
    assert sorted(marked) == ["10", "9"]
    assert html.startswith("<table") and html.endswith("</table>")

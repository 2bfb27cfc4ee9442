"""The eleven TCP connection states, and every name and number they go by.

RFC 9293 §3.3.2 names the states; operating systems and management tools number and
spell them differently.  This module is the crosswalk:

* RFC 9293 name (``SYN-RECEIVED``)
* netstat / socket name as Linux net-tools prints it (``SYN_RECV``)
* ``ss`` name (``SYN-RECV``; ``ss`` says ``UNCONN`` for a closed socket)
* Linux kernel code, as in ``/proc/net/tcp``'s ``st`` column (``include/net/tcp_states.h``)
* SNMP TCP-MIB ``tcpConnectionState`` (RFC 4022)
* Windows ``MIB_TCP_STATE`` -- which swaps CLOSING and LAST-ACK relative to the MIB.
"""

from __future__ import annotations

import enum
import html
import re
from dataclasses import dataclass

__all__ = ["TcpState", "StateInfo", "crosswalk", "crosswalk_text", "crosswalk_html",
           "MIB_DELETE_TCB"]

#: RFC 4022 ``tcpConnectionState`` value 12, ``deleteTCB``.  It is the only value a manager
#: may *write* (to kill a connection); an agent never *reports* it, so no state has it.
MIB_DELETE_TCB = 12


@dataclass(frozen=True)
class StateInfo:
    rfc: str            # RFC 9293 spelling
    netstat: str        # Linux net-tools netstat / socket API spelling
    ss: str             # iproute2 ss spelling
    linux: int          # /proc/net/tcp "st" (TCP_* in include/net/tcp_states.h)
    linux_macro: str
    mib: int            # RFC 4022 tcpConnectionState
    mib_name: str
    windows: int        # Windows MIB_TCP_STATE
    windows_name: str
    bsd: str            # BSD / macOS netstat spelling
    waiting_for: str    # plain-English: who is waiting for what


class TcpState(enum.Enum):
    """A TCP connection state (RFC 9293 §3.3.2), with its names in every tool.

    ``TcpState.SYN_RECEIVED.ss == "SYN-RECV"``, ``TcpState.parse("syn_recv")``,
    ``TcpState.from_mib(4)``, ``TcpState.from_linux(3)`` all speak of the same state.
    """

    CLOSED = StateInfo(
        "CLOSED", "CLOSE", "UNCONN", 7, "TCP_CLOSE", 1, "closed", 1, "MIB_TCP_STATE_CLOSED",
        "CLOSED",
        "No connection at all: there is no TCB (transmission control block), so nobody is "
        "waiting for anything. A segment that arrives for a closed port is answered with RST.")
    LISTEN = StateInfo(
        "LISTEN", "LISTEN", "LISTEN", 10, "TCP_LISTEN", 2, "listen", 2, "MIB_TCP_STATE_LISTEN",
        "LISTEN",
        "A server has called listen(): it waits for a connection request (a SYN) from any "
        "remote TCP. No peer is known yet.")
    SYN_SENT = StateInfo(
        "SYN-SENT", "SYN_SENT", "SYN-SENT", 2, "TCP_SYN_SENT", 3, "synSent", 3,
        "MIB_TCP_STATE_SYN_SENT", "SYN_SENT",
        "A client has called connect() and sent its SYN. It waits for the peer's SYN and for "
        "the acknowledgment of its own SYN (usually both arrive together as SYN,ACK).")
    SYN_RECEIVED = StateInfo(
        "SYN-RECEIVED", "SYN_RECV", "SYN-RECV", 3, "TCP_SYN_RECV", 4, "synReceived", 4,
        "MIB_TCP_STATE_SYN_RCVD", "SYN_RCVD",
        "This side has received the peer's SYN and answered with its own SYN (as SYN,ACK). "
        "It waits for the peer to acknowledge that SYN; then both sequence numbers are "
        "synchronised.")
    ESTABLISHED = StateInfo(
        "ESTABLISHED", "ESTABLISHED", "ESTAB", 1, "TCP_ESTABLISHED", 5, "established", 5,
        "MIB_TCP_STATE_ESTAB", "ESTABLISHED",
        "The connection is open: both sides know each other's sequence numbers and data flows "
        "both ways. Nobody waits for anything in particular; this is the normal data-transfer "
        "state.")
    FIN_WAIT_1 = StateInfo(
        "FIN-WAIT-1", "FIN_WAIT1", "FIN-WAIT-1", 4, "TCP_FIN_WAIT1", 6, "finWait1", 6,
        "MIB_TCP_STATE_FIN_WAIT1", "FIN_WAIT_1",
        "This application has closed its sending side and a FIN is on its way. The TCP waits "
        "for that FIN to be acknowledged (or for the peer's own FIN, if both close at once). "
        "It can still receive data.")
    FIN_WAIT_2 = StateInfo(
        "FIN-WAIT-2", "FIN_WAIT2", "FIN-WAIT-2", 5, "TCP_FIN_WAIT2", 7, "finWait2", 7,
        "MIB_TCP_STATE_FIN_WAIT2", "FIN_WAIT_2",
        "Our FIN has been acknowledged: this direction is finished. We wait for the peer's "
        "application to close its side and send its FIN -- which can take arbitrarily long "
        "(a half-closed connection). Data from the peer still arrives.")
    CLOSE_WAIT = StateInfo(
        "CLOSE-WAIT", "CLOSE_WAIT", "CLOSE-WAIT", 8, "TCP_CLOSE_WAIT", 8, "closeWait", 8,
        "MIB_TCP_STATE_CLOSE_WAIT", "CLOSE_WAIT",
        "The peer has closed its sending side (its FIN arrived and was acknowledged). The TCP "
        "now waits for *our own application* to call close(). If it never does, the socket "
        "stays in CLOSE_WAIT forever -- a classic leak.")
    CLOSING = StateInfo(
        "CLOSING", "CLOSING", "CLOSING", 11, "TCP_CLOSING", 10, "closing", 9,
        "MIB_TCP_STATE_CLOSING", "CLOSING",
        "Both sides closed at the same time: we sent a FIN, then received the peer's FIN "
        "before ours was acknowledged. We wait for the acknowledgment of our FIN.")
    LAST_ACK = StateInfo(
        "LAST-ACK", "LAST_ACK", "LAST-ACK", 9, "TCP_LAST_ACK", 9, "lastAck", 10,
        "MIB_TCP_STATE_LAST_ACK", "LAST_ACK",
        "The passive closer: the peer's FIN arrived earlier, and now our application has "
        "closed too, so we sent our FIN. We wait for its acknowledgment -- the last ACK -- "
        "and then the connection is gone.")
    TIME_WAIT = StateInfo(
        "TIME-WAIT", "TIME_WAIT", "TIME-WAIT", 6, "TCP_TIME_WAIT", 11, "timeWait", 11,
        "MIB_TCP_STATE_TIME_WAIT", "TIME_WAIT",
        "The active closer, after both FINs were exchanged and acknowledged. It waits 2*MSL "
        "so that its final ACK can be re-sent if it was lost, and so that old duplicate "
        "segments die out before the same address pair is used again.")

    # -- the names -------------------------------------------------------------------------
    @property
    def rfc(self) -> str:
        """RFC 9293 name, e.g. ``SYN-RECEIVED``."""
        return self.value.rfc

    @property
    def netstat(self) -> str:
        """Linux netstat / socket-level name, e.g. ``SYN_RECV``, ``TIME_WAIT``."""
        return self.value.netstat

    @property
    def ss(self) -> str:
        """Name printed by iproute2's ``ss``, e.g. ``SYN-RECV``, ``ESTAB``, ``UNCONN``."""
        return self.value.ss

    @property
    def linux(self) -> int:
        """Linux kernel code, as in /proc/net/tcp (``TCP_ESTABLISHED`` = 1 ...)."""
        return self.value.linux

    @property
    def linux_macro(self) -> str:
        return self.value.linux_macro

    @property
    def mib(self) -> int:
        """SNMP TCP-MIB ``tcpConnectionState`` (RFC 4022): closed(1) ... timeWait(11)."""
        return self.value.mib

    @property
    def mib_name(self) -> str:
        return self.value.mib_name

    @property
    def windows(self) -> int:
        """Windows ``MIB_TCP_STATE`` number -- CLOSING is 9 and LAST-ACK 10 there (swapped)."""
        return self.value.windows

    @property
    def windows_name(self) -> str:
        return self.value.windows_name

    @property
    def bsd(self) -> str:
        """BSD / macOS netstat name, e.g. ``SYN_RCVD``, ``FIN_WAIT_1``."""
        return self.value.bsd

    @property
    def description(self) -> str:
        """One paragraph: who is waiting for what in this state."""
        return self.value.waiting_for

    @property
    def synchronized(self) -> bool:
        """True once both sequence numbers are known (RFC 9293 §3.5: ESTABLISHED and later)."""
        return self not in (TcpState.CLOSED, TcpState.LISTEN, TcpState.SYN_SENT,
                            TcpState.SYN_RECEIVED)

    def __str__(self) -> str:
        return self.rfc

    def __repr__(self) -> str:
        return f"TcpState.{self.name}"

    # -- parsing --------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: "str | TcpState") -> "TcpState":
        """Parse any spelling: RFC, netstat, ss, BSD, Windows, MIB or kernel macro names.

        Case, ``-``, ``_`` and spaces do not matter: ``"syn_recv"``, ``"SYN-RCVD"``,
        ``"synReceived"``, ``"TCP_SYN_RECV"`` and ``"ESTAB"`` all work.
        """
        if isinstance(text, TcpState):
            return text
        if not isinstance(text, str):
            raise TypeError(
                f"TcpState.parse() takes a state name (str), not {type(text).__name__}; "
                "for numbers use TcpState.from_linux(), from_mib() or from_windows()")
        key = _normalise(text)
        try:
            return _BY_NAME[key]
        except KeyError:
            raise ValueError(
                f"unknown TCP state name {text!r}; accepted spellings include "
                + ", ".join(s.rfc for s in cls)
                + " and their netstat/ss/BSD/Windows/SNMP forms, e.g. SYN_RECV, SYN-RCVD, "
                "ESTAB, UNCONN, LISTENING, synReceived, TCP_TIME_WAIT") from None

    @classmethod
    def from_linux(cls, code: int) -> "TcpState":
        """State for a Linux kernel code (/proc/net/tcp ``st`` column, hex or int)."""
        return _from_code(code, "linux", "Linux kernel code (/proc/net/tcp 'st')", base=16)

    @classmethod
    def from_mib(cls, code: int) -> "TcpState":
        """State for an RFC 4022 ``tcpConnectionState`` value (1..11)."""
        if _as_int(code, "SNMP TCP-MIB code", 10) == MIB_DELETE_TCB:
            raise ValueError(
                "tcpConnectionState 12 is deleteTCB: a value a manager writes to kill a "
                "connection, never a state an agent reports; reported states are 1..11")
        return _from_code(code, "mib", "SNMP TCP-MIB tcpConnectionState (RFC 4022)")

    @classmethod
    def from_windows(cls, code: int) -> "TcpState":
        """State for a Windows ``MIB_TCP_STATE`` value (note CLOSING=9, LAST_ACK=10)."""
        if _as_int(code, "Windows MIB_TCP_STATE", 10) == MIB_DELETE_TCB:
            raise ValueError("MIB_TCP_STATE_DELETE_TCB (12) is a command, not a state")
        return _from_code(code, "windows", "Windows MIB_TCP_STATE")


def _normalise(text: str) -> str:
    key = re.sub(r"[^A-Z0-9]", "", text.upper())
    for prefix in ("MIBTCPSTATE", "TCPS", "TCP"):
        if key.startswith(prefix) and key != prefix and key[len(prefix):] in _BY_NAME_RAW:
            return key[len(prefix):]
    return key


def _as_int(code: object, what: str, base: int = 10) -> int:
    if isinstance(code, bool):
        raise TypeError(f"{what} must be an integer, not a bool")
    if isinstance(code, int):
        return code
    if isinstance(code, str):
        try:
            return int(code.strip(), base)
        except ValueError:
            pass
    raise ValueError(f"{what} must be an integer, got {code!r}")


def _from_code(code: object, attr: str, what: str, base: int = 10) -> TcpState:
    n = _as_int(code, what, base)
    for state in TcpState:
        if getattr(state, attr) == n:
            return state
    accepted = ", ".join(f"{getattr(s, attr)}={s.rfc}"
                         for s in sorted(TcpState, key=lambda s: getattr(s, attr)))
    extra = ""
    if attr == "linux" and n in (12, 13):
        extra = (" (12 is TCP_NEW_SYN_RECV, the kernel's 'request sock' for a half-open "
                 "connection: it is shown as SYN-RECEIVED by ss; 13 is TCP_BOUND_INACTIVE)")
    raise ValueError(f"unknown {what} {n}{extra}; accepted: {accepted}")


_BY_NAME_RAW: dict[str, TcpState] = {}
for _s in TcpState:
    for _name in (_s.name, _s.rfc, _s.netstat, _s.ss, _s.bsd, _s.mib_name, _s.linux_macro,
                  _s.windows_name):
        _BY_NAME_RAW[re.sub(r"[^A-Z0-9]", "", _name.upper())] = _s
_BY_NAME_RAW.update({"LISTENING": TcpState.LISTEN, "SYNRCVD": TcpState.SYN_RECEIVED,
                     "ESTAB": TcpState.ESTABLISHED, "CLOSE": TcpState.CLOSED,
                     "UNCONN": TcpState.CLOSED})
for _k in list(_BY_NAME_RAW):
    for _prefix in ("MIBTCPSTATE", "TCP"):
        if _k.startswith(_prefix) and len(_k) > len(_prefix):
            _BY_NAME_RAW.setdefault(_k[len(_prefix):], _BY_NAME_RAW[_k])
_BY_NAME = _BY_NAME_RAW


# -- the crosswalk table ---------------------------------------------------------------
CROSSWALK_COLUMNS = ("RFC 9293", "netstat", "ss", "Linux", "SNMP MIB", "Windows", "BSD/macOS")


def crosswalk() -> list[dict[str, object]]:
    """One row per state (in MIB order) with its name or number in every tool."""
    return [
        {"RFC 9293": s.rfc, "netstat": s.netstat, "ss": s.ss, "Linux": s.linux,
         "SNMP MIB": f"{s.mib_name}({s.mib})", "Windows": s.windows, "BSD/macOS": s.bsd}
        for s in sorted(TcpState, key=lambda s: s.mib)
    ]


def crosswalk_text() -> str:
    """The crosswalk as an aligned plain-text table."""
    rows = [CROSSWALK_COLUMNS] + [tuple(str(r[c]) for c in CROSSWALK_COLUMNS)
                                  for r in crosswalk()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(CROSSWALK_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def crosswalk_html() -> str:
    """The crosswalk as an HTML table; Windows numbers that differ from the MIB are marked."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in CROSSWALK_COLUMNS)
    body = []
    for s, row in zip(sorted(TcpState, key=lambda s: s.mib), crosswalk()):
        cells = []
        for c in CROSSWALK_COLUMNS:
            text = html.escape(str(row[c]))
            if c == "Windows" and s.windows != s.mib:
                text = f'<b style="color:#d55e00" title="differs from the SNMP MIB">{text}</b>'
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<table class="tcplab-crosswalk"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")

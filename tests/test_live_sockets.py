"""The live lab's socket view: the kernel's ``ss`` rows of a run beside the model's, from a
host-with-sockets model (:class:`tcplab.sockets.SocketNetwork`) played alongside.

The server side of a run is two rows on the kernel -- the listener (LISTEN, its accept queue
in Recv-Q and its backlog in Send-Q) and the connection it accepted -- and so it is in the
model's socket view; the comparison names any difference between the rows.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tcplab import Config, TcpState
from tcplab.live import comparison, lines as script_lines, runner
from tcplab.live.reports import ss_text
from tcplab.live.socket_view import BACKLOG, SocketView
from tcplab.network import Network
from tcplab.procnet import SocketRow

S = TcpState

from test_live import needs_loopback      # the loopback lab's skip condition


def _view(script: list[str]) -> SocketView:
    view = SocketView(("client", "server"), {"client": 40123, "server": 8080},
                      latency=0.0, config=Config.linux())
    for line in script_lines.parse_script(script):
        view.play(line, settle_each=True)
    return view


def _cells(rows: tuple[SocketRow, ...]) -> list[tuple]:
    return [(r.state, r.rx_queue, r.tx_queue, r.local[1], r.remote[1]) for r in rows]


def test_the_socket_view_shows_the_listener_and_its_connection():
    view = _view(["server listen", "client connect", "settle", "client send hello", "settle"])
    assert _cells(view.rows("server")) == [(S.LISTEN, 0, BACKLOG, 8080, 0),
                                           (S.ESTABLISHED, 5, 0, 8080, 40123)]
    assert _cells(view.rows("client")) == [(S.ESTABLISHED, 0, 0, 40123, 8080)]
    assert view.rows("server")[0].local == ("10.0.0.2", 8080)   # bound to the address
    assert view.state("server") is S.ESTABLISHED


def test_the_socket_view_plays_the_calls_as_the_lab_does():
    """close() with unread data resets (the client's recv() gets ECONNRESET); the listener
    stays; abort is SO_LINGER {1, 0} then close(); a second connect() after close() makes a
    new socket on the same port."""
    view = SocketView(("client", "server"), {"client": 40123, "server": 8080},
                      latency=0.0, config=Config.linux())
    results = [view.play(line, settle_each=True) for line in script_lines.parse_script(
        ["server listen", "client connect", "settle", "client send GET /", "settle",
         "server close", "settle", "client recv", "client close", "client connect",
         "settle", "client abort", "settle", "server recv"])]
    assert results == ["ok", "EINPROGRESS", "", "5 bytes", "", "ok", "", "ECONNRESET", "ok",
                       "EINPROGRESS", "", "ok", "", "ECONNRESET", ""]
    assert _cells(view.rows("server")) == [(S.LISTEN, 0, BACKLOG, 8080, 0)]
    assert view.rows("client") == ()


def _fake_run(kernel: tuple[SocketRow, ...], model: tuple[SocketRow, ...]) -> SimpleNamespace:
    states = [S.CLOSED, S.LISTEN, S.ESTABLISHED]
    result = SimpleNamespace(kernel_rows={"server": kernel}, model_rows={"server": model},
                             kernel={"server": S.ESTABLISHED}, model={"server": S.ESTABLISHED},
                             comparable=True, line=SimpleNamespace(text="settle"))
    return SimpleNamespace(
        names=("server",), mode="loopback", fin_timeout=60.0, results=[result], segments=[],
        final={"server": None}, listener_final={"server": None}, listened={"server": True},
        closed_how={"server": ""}, model=Network(),
        kernel_errors={"server": []}, model_errors={"server": []},
        kernel_received={"server": b""}, model_received={"server": b""},
        sequence=lambda actor, source="kernel": states,
        kernel_states=lambda actor: [(0.0, x, None) for x in states])


def _row(state: S, rx: int, tx: int, source: str = "sock_diag", peer: int = 40123
         ) -> SocketRow:
    remote = ("0.0.0.0", 0) if state is S.LISTEN else ("127.0.0.1", peer)
    return SocketRow(("127.0.0.1", 8080), remote, state, source, code=state.linux,
                     rx_queue=rx, tx_queue=tx, kind="full")


def test_the_comparison_reads_the_listener_rows():
    same = comparison.compare(_fake_run(
        (_row(S.LISTEN, 0, 8), _row(S.ESTABLISHED, 5, 0)),
        (_row(S.LISTEN, 0, 8), _row(S.ESTABLISHED, 5, 0))))
    assert all(d.explained for d in same), same
    queue = comparison.compare(_fake_run((_row(S.LISTEN, 1, 8),), (_row(S.LISTEN, 0, 8),)))
    assert [d.text for d in queue if not d.explained] == [
        "the listener's ss row is LISTEN 1/8 (accept queue/backlog) on the kernel, LISTEN "
        "0/8 in the model's socket view."]
    gone = comparison.compare(_fake_run((), (_row(S.LISTEN, 0, 8),)))
    assert [d.text for d in gone if not d.explained] == [
        "at the end the kernel has no listening socket, the model's socket view has one."]
    # /proc/net/tcp shows no backlog: a listener's tx_queue there is 0, not a difference.
    proc = comparison.compare(_fake_run((_row(S.LISTEN, 0, 0, "/proc/net/tcp"),),
                                        (_row(S.LISTEN, 0, 8),)))
    assert all(d.explained for d in proc), proc


def test_the_comparison_reads_the_connection_queues():
    diffs = comparison.compare(_fake_run((_row(S.ESTABLISHED, 6, 0),),
                                         (_row(S.ESTABLISHED, 5, 0),)))
    assert [d.text for d in diffs if not d.explained] == [
        "the connection's ss row is ESTAB 6/0 (Recv-Q/Send-Q) on the kernel, 5/0 in the "
        "model's socket view."]


@pytest.mark.parametrize("module", ["tcplab.live.socket_view", "tcplab.live.reports"])
def test_the_examples_in_the_docstrings_run(module):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed


def test_ss_text_prints_rows_as_ss_does():
    text = ss_text((_row(S.LISTEN, 1, 8), _row(S.ESTABLISHED, 5, 0)))
    assert text.splitlines() == [
        "State   Recv-Q  Send-Q  Local Address:Port  Peer Address:Port",
        "LISTEN  1       8       127.0.0.1:8080      0.0.0.0:*",
        "ESTAB   5       0       127.0.0.1:8080      127.0.0.1:40123"]
    assert ss_text(()) == "(no socket)"


@pytest.mark.live
@needs_loopback
def test_a_loopback_run_shows_the_listener_beside_the_model():
    r = runner.run(["server listen", "client connect", "settle", "client send hello",
                    "settle"])
    assert r.agrees, r.table()
    port = r.ports["server"][1]
    for source in ("kernel", "model"):
        assert [(x.state, x.rx_queue, x.tx_queue, x.local[1]) for x in
                r.rows("server", source)] == [(S.LISTEN, 0, BACKLOG, port),
                                              (S.ESTABLISHED, 5, 0, port)], r.table()
    assert r.ss("server", "model").splitlines()[1].split()[:3] == ["LISTEN", "0", "8"]
    assert r.rows("client", "kernel", line=0) == ()        # before connect(): no socket
    assert "Sockets at the end, as ss -tan shows them" in r.table()
    assert "LISTEN" in r._repr_html_().split("Sockets at the end")[1]
    with pytest.raises(ValueError, match="source is 'kernel' or 'model'"):
        r.rows("server", "both")
    with pytest.raises(ValueError, match="line is a script line's index"):
        r.rows("server", "model", line=99)


@pytest.mark.live
@needs_loopback
def test_unread_data_and_the_unread_fin_in_the_rows():
    """The server never reads: its connection shows the 5 bytes and the client's FIN
    (Recv-Q 6, the FIN counts one) on the kernel and in the model's socket view alike."""
    r = runner.run(["server listen", "client connect", "settle", "client send hello",
                    "client shutdown", "settle"])
    assert r.agrees, r.table()
    for source in ("kernel", "model"):
        conn = [x for x in r.rows("server", source) if x.state is not S.LISTEN]
        assert [(x.state, x.rx_queue, x.tx_queue) for x in conn] == \
            [(S.CLOSE_WAIT, 6, 0)], r.table()

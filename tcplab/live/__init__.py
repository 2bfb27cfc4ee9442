"""The live lab: real sockets on this machine, the kernel's TCP states next to the model's.

::

    from tcplab import live
    r = live.run("teardown-client-first")          # loopback, no privileges needed
    r                                              # a table: each call, kernel vs model
    r.sequence("client"), r.sequence("client", "model")
    r.differences                                  # every difference, explained
    print(r.ss("server"), r.ss("server", "model")) # listener + connection, as ss shows them
    live.run("close-unread")                       # close() with unread data: RST, ECONNRESET
    live.compare_rto()                             # tcpi_rto of a real socket vs the model

    live.capabilities()                            # can this machine do the privileged lab?
    r = live.run("simultaneous-close", privileged=True, delay=0.25)
    print(r.timeline_text())                       # states and real segments, in time order

A script (the model's script language, :mod:`tcplab.scenarios`) is played twice: on the
model (:class:`tcplab.network.Network` with :meth:`tcplab.endpoint.Config.linux`) and on
real, non-blocking sockets, one socket call at a time.  After each call -- and all the time
in between -- a sampler thread asks the kernel for the state of exactly the sockets
involved, by their four-tuples (a ``sock_diag`` netlink lookup, as ``ss`` does; the same
rows are in ``/proc/net/tcp``).  :class:`LiveRun` shows both sequences side by side and
explains every difference (:data:`LINUX_DIFFERENCES`).

Two labs
--------
:class:`LoopbackLab` (no privileges; works on Binder): both sides on 127.0.0.1.  Stable
states are seen between calls -- ESTABLISHED, FIN-WAIT-2 and CLOSE-WAIT, TIME-WAIT (with its
60 s timer counting down), LISTEN, the CLOSE_WAIT leak, a refused connect, an abort.  A
segment on loopback is delivered inside the system call that sends it, so SYN-SENT,
SYN-RECEIVED, LAST-ACK and CLOSING pass in microseconds; FIN-WAIT-1 lasts until the peer's
ACK, which Linux often delays by a few to ~50 ms, so it is usually seen.

:class:`NamespaceLab` (root): two network namespaces joined by a veth pair, and a one-way
delay on every TCP segment (hundreds of ms), so every transient state lasts long enough to
be seen and two SYNs (simultaneous open) or two FINs (simultaneous close) really cross.

The delay mechanism
-------------------
The usual tool, the netem qdisc, is a kernel module that many kernels (these machines
included) do not have.  The lab instead puts one iptables rule in each namespace,
``-A OUTPUT -o veth... -p tcp -j NFQUEUE --queue-bypass``, which hands each outgoing TCP
segment to user space over the ``nfnetlink_queue`` netlink protocol.  A small pure-Python
client of that protocol (:class:`tcplab.live.delay.NfQueue`, no C library needed) holds each
segment for ``delay`` seconds and then gives the verdict ACCEPT: the kernel sends it on,
unchanged and in order.  The delay line also sees every segment, so a run records the real
segments too.  If the kernel queues nothing (no NFQUEUE support), building the lab fails
with a clear message; ``iptables-legacy`` is tried if the nftables flavour does not queue.

Cleanup: sockets are closed (live connections aborted), namespaces deleted -- which removes
the veth pair and the iptables rules with them -- on every exit path (``with``, exceptions,
Ctrl-C, SIGTERM/SIGHUP, interpreter exit); only a SIGKILL can leave a namespace behind, and
:func:`cleanup_stale` removes those -- every lab (the loopback lab too) and every :func:`run`
calls it -- never touching a namespace whose owner is alive.  By hand, as root:
``sudo ip netns list`` shows them (``tcplab-PID-N-SIDE``) and ``sudo ip netns delete NAME``
removes one.  No traffic leaves loopback or the two namespaces.

The modules, from the kernel up
-------------------------------
``kernel``
    the kernel's TCP table: ``/proc/net/tcp`` (parsed by :mod:`tcplab.procnet`) and
    sock_diag lookups, over ``netlink`` framing
``netns``
    entering, making and cleaning up network namespaces
``delay``
    the NFQUEUE delay line and the real segments it sees
``lab``
    the lab interface and :class:`LoopbackLab`; ``namespace_lab``: :class:`NamespaceLab`,
    :func:`capabilities`, :func:`open_lab`
``lines``
    a script as the lab plays it, and the model's half of a run
``sockets``
    the application's half: real non-blocking sockets, one call per line
``sampler``
    the thread that watches the kernel's states
``socket_view``
    the model's socket view of the run (:class:`tcplab.sockets.SocketNetwork`): the listener
    and its connection as ``ss`` rows, beside the kernel's (``LiveRun.rows``, ``LiveRun.ss``)
``comparison``
    kernel versus model, every difference explained (the explanations:
    ``linux_differences``)
``result``
    :class:`LiveRun`; ``reports``: its tables, timeline and wire
``runner``
    :func:`run`, which puts these together
``scripts``
    the live scenarios; ``reuse``: SO_REUSEADDR on a server restart
``rto``
    the RTO of a real socket (``tcpi_rto``) against the model's: :func:`compare_rto`;
    ``half_open``: a half-open connection's SYN,ACK retries, kernel vs model:
    :func:`synack_retries`
``arguments``
    the checks every public call makes first
"""

from .kernel import Diag, KernelSocket, explain_proc_line, proc_net_tcp
from .lab import Lab, LoopbackLab
from .namespace_lab import Capabilities, NamespaceLab, capabilities, open_lab
from .netns import LabError, cleanup_stale, list_lab_namespaces
from .runner import (LINUX_DIFFERENCES, TRANSIENT_STATES, Difference, LineResult, LiveRun,
                     LiveUnsupported, parse_script, run, run_model)
from .reuse import ReuseResult, try_reuseaddr
from .scripts import LIVE_SCENARIOS, LiveScenario
from .half_open import SynAckRetries, synack_retries
from .rto import RtoComparison, TcpInfo, compare_rto, tcp_info

__all__ = ["run", "run_model", "parse_script", "LiveRun", "LineResult", "Difference",
           "LiveUnsupported", "LINUX_DIFFERENCES", "TRANSIENT_STATES", "LIVE_SCENARIOS",
           "LiveScenario", "Lab", "LoopbackLab", "NamespaceLab", "open_lab", "capabilities",
           "Capabilities", "LabError", "cleanup_stale", "list_lab_namespaces", "Diag",
           "KernelSocket", "proc_net_tcp", "explain_proc_line", "ReuseResult", "try_reuseaddr",
           "compare_rto", "RtoComparison", "synack_retries", "SynAckRetries", "tcp_info",
           "TcpInfo"]

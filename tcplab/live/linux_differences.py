"""Where Linux and RFC 9293 (and so the model) differ, each in a paragraph for a learner.

:data:`LINUX_DIFFERENCES` maps a kind (``Difference.kind`` of :mod:`tcplab.live.comparison`)
to its explanation, with its source: RFC 9293 (§3.3.2 figure 5, §3.5, §3.6, §3.10), RFC 6298,
and Linux's sources (``include/net/tcp.h``: ``TCP_TIMEWAIT_LEN``, ``tcp_fin_time()``;
``net/ipv4/tcp_input.c``: ``tcp_reset()``, ``tcp_rtt_estimator()``; ``tcp_output.c``:
``tcp_send_active_reset()``; ``kernel/time/timer.c``; tcp(7)).  Plain data, no imports;
the live lab's comparisons (:mod:`~tcplab.live.comparison`, :mod:`~tcplab.live.rto`,
:mod:`~tcplab.live.half_open`) name every difference with one of these kinds, or
``"unexplained"``.

>>> sorted(LINUX_DIFFERENCES)[:3]
['epipe-after-reset', 'fin-ack-together', 'fin-timeout-floor']
"""

__all__ = ["LINUX_DIFFERENCES"]

#: Where Linux and the RFC/model differ, and why.  Keys are ``Difference.kind``.
LINUX_DIFFERENCES = {
    "transient": (
        "On loopback a segment is delivered inside the system call that sends it, so a "
        "state that only waits for the peer's answer (SYN-SENT, SYN-RECEIVED, LAST-ACK, "
        "CLOSING) lasts microseconds and usually falls between two samples. (FIN-WAIT-1 "
        "waits for an ACK that Linux often delays, so it is usually seen.) The namespace lab "
        "delays every segment, and then all of them are seen."),
    "listener": (
        "Linux keeps the listening socket in LISTEN for the whole time (it can accept more "
        "connections). The connection is a separate object: first a *request sock* "
        "(TCP_NEW_SYN_RECV, shown as SYN-RECV) made when the SYN arrives, then a full "
        "socket, created when the handshake's ACK arrives and handed out by accept(). The "
        "model's RFC view, like RFC 9293, has one TCB that moves LISTEN -> SYN-RECEIVED -> "
        "ESTABLISHED; its socket view (tcplab.sockets, the rows under 'Sockets at the end') "
        "holds sockets as Linux does, and shows the same two rows: the listener with its "
        "accept queue (Recv-Q) and backlog (Send-Q), and the accepted connection."),
    "time-wait": (
        "Linux's TIME-WAIT lasts a fixed 60 s (TCP_TIMEWAIT_LEN, compiled in; no sysctl), "
        "not 2*MSL = 4 minutes as in RFC 9293. The full socket is freed at once and a small "
        "TIME-WAIT mini-socket keeps the four-tuple; /proc/net/tcp shows its timer (tr=3) "
        "counting down."),
    "orphan-fin-wait-2": (
        "After close(), a socket in FIN-WAIT-2 is an orphan (no file descriptor) and Linux "
        "does not wait for ever: it turns it into a mini-socket whose timer is "
        "net.ipv4.tcp_fin_timeout (60 s by default); then it is gone. After "
        "shutdown(SHUT_WR) the application still holds the socket and FIN-WAIT-2 has no "
        "timer. RFC 9293 has no such timeout."),
    "fin-timeout-orphans-only": (
        "A model without Network.shutdown() applies tcp_fin_timeout to every FIN-WAIT-2 "
        "endpoint (Config.linux()); Linux applies it only to orphans. This side used "
        "shutdown(SHUT_WR) and still has its socket, so the kernel keeps it in FIN-WAIT-2 "
        "with no timer. (The model now tells close() and shutdown() apart: the live lab "
        "calls Network.shutdown() where the kernel gets shutdown(SHUT_WR).)"),
    "fin-ack-together": (
        "FIN-WAIT-1 went straight to TIME-WAIT: the peer's FIN also acknowledged our FIN "
        "(RFC 9293 figure 5, note 2). Linux does not always ACK a FIN at once -- the ACK may "
        "be delayed (delayed ACK) -- and when the peer application closes within that "
        "moment, the ACK rides on its FIN. The model acknowledges every FIN immediately, so "
        "it passes through FIN-WAIT-2."),
    "rst-after-timeout": (
        "The orphaned FIN-WAIT-2 socket timed out and was deleted. The peer's FIN then "
        "reached a port with no connection and was answered with RST (RFC 9293 §3.10.7.1)."),
    "fin-timeout-floor": (
        "Linux's orphaned FIN-WAIT-2 timer is max(tcp_fin_timeout, 3.5 x RTO) (tcp_fin_time() "
        "in include/net/tcp.h): on a path with a long round trip it is longer than "
        "tcp_fin_timeout. The model uses tcp_fin_timeout alone."),
    "epipe-after-reset": (
        "A RST that reaches a socket in CLOSE-WAIT (its peer had closed, and then reset) is "
        "reported by Linux as EPIPE, not ECONNRESET: tcp_reset() in net/ipv4/tcp_input.c "
        "picks EPIPE for CLOSE-WAIT, ECONNREFUSED for SYN-SENT and ECONNRESET otherwise, so "
        "the application's next send() fails with EPIPE (and SIGPIPE, which Python ignores). "
        "RFC 9293 §3.10.7.4 and the model say \"connection reset\" in every state."),
    "rto-granularity": (
        "Linux keeps the retransmission timeout in jiffies (1/HZ s, 1-10 ms) and rounds up "
        "when it converts (usecs_to_jiffies() in __tcp_set_rto()); the model computes in "
        "exact seconds. In the namespace lab the real round trip is also a little longer "
        "than twice the delay (the delay line's own processing), and after one measurement "
        "the RTO is three round trips, so it counts that extra three times."),
    "rto-variance": (
        "Linux reports RFC 6298's SRTT and RTTVAR (tcpi_rtt, tcpi_rttvar: the same as the "
        "model's), but its RTO does not use that RTTVAR: tcp_rtt_estimator() keeps the "
        "largest deviation seen in the current round trip (mdev_max) in rttvar_us, and lets "
        "rttvar_us fall only once per round trip, by a quarter of the way down, never below "
        "tcp_rto_min (200 ms). After the first measurement both give 3 x RTT; then the "
        "kernel's RTO falls more slowly than RFC 6298's."),
    "timer-slack": (
        "Linux's timers fire a little late, and the later the longer they are: the timer "
        "wheel (kernel/time/timer.c, since Linux 4.8) files a timer in a bucket whose width "
        "grows with the timeout, up to 1/8 of it, and the request sock's timer is re-armed "
        "from the moment the last one fired, so the delays add up. The model's timers fire "
        "on the dot: 0, 1, 3, 7, 15, 31 s, given up at 63 s."),
    "time-wait-reuse": (
        "A SYN that reopens a connection in TIME-WAIT: Linux deletes the TIME-WAIT mini-socket "
        "(tcp_timewait_state_process answers TCP_TW_SYN) and hands the SYN to the listening "
        "socket, which makes a new request sock; between the two the four-tuple has no "
        "socket, which the sampler may see as CLOSED. RFC 9293 §3.6.1 (MAY-2) describes it as "
        "the same connection reopened, and so does the model: TIME-WAIT -> SYN-RECEIVED."),
    "timer-pending": (
        "The model let a timer run out in virtual time; the kernel's timer is still running "
        "in real time (see the time left)."),
    "unexplained": "The model and the kernel disagree here, and no known Linux difference "
                   "explains it.",
}

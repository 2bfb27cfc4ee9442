"""Capture real ss -tano and /proc/net/tcp output in a private network namespace."""
import os, socket, subprocess, time, sys

def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout

sh("ip link set lo up")
out = {}
def listener(port, backlog=16, fam=socket.AF_INET, addr="127.0.0.1"):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(backlog); return s
keep = []
# 1. CLOSE_WAIT leak: 3 connections, client closes, server never closes
L = listener(8080); keep.append(L)
for i in range(3):
    c = socket.create_connection(("127.0.0.1", 8080)); a, _ = L.accept(); keep.append(a)
    c.close()
# 2. TIME_WAIT: client closes first after server closes... client active closer
L2 = listener(8081); keep.append(L2)
for i in range(3):
    c = socket.create_connection(("127.0.0.1", 8081)); a, _ = L2.accept()
    c.close(); time.sleep(0.05); a.close()
# 3. shutdown without close: FIN-WAIT-2, no timer, peer CLOSE-WAIT
L3 = listener(8082); keep.append(L3)
c = socket.create_connection(("127.0.0.1", 8082)); a, _ = L3.accept(); keep += [c, a]
c.shutdown(socket.SHUT_WR)
# 4. unread data + keepalive
L4 = listener(8083); keep.append(L4)
c = socket.create_connection(("127.0.0.1", 8083)); a, _ = L4.accept(); keep += [c, a]
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
c.sendall(b"GET / HTTP/1.0\r\n\r\n")
# 5. full backlog: listen(1), never accept
L5 = listener(8084, backlog=1); keep.append(L5)
for i in range(4):
    c = socket.socket(); c.setblocking(False); keep.append(c)
    try: c.connect(("127.0.0.1", 8084))
    except BlockingIOError: pass
    time.sleep(0.05)
# 6. SYN_RECV: drop SYN,ACKs from 8085; SYN-SENT: drop SYNs to 9
sh("iptables -A OUTPUT -p tcp --sport 8085 --tcp-flags SYN,ACK SYN,ACK -j DROP")
sh("iptables -A OUTPUT -p tcp --dport 9 --syn -j DROP")
L6 = listener(8085); keep.append(L6)
for i in range(2):
    c = socket.socket(); c.setblocking(False); keep.append(c)
    try: c.connect(("127.0.0.1", 8085))
    except BlockingIOError: pass
c = socket.socket(); c.setblocking(False); keep.append(c)
try: c.connect(("127.0.0.1", 9))
except BlockingIOError: pass
# 7. LAST-ACK: client closes, client's ACKs dropped, server closes
L7 = listener(8086); keep.append(L7)
c = socket.create_connection(("127.0.0.1", 8086)); a, _ = L7.accept(); keep.append(a)
cport = c.getsockname()[1]
c.close(); time.sleep(0.05)
sh(f"iptables -A OUTPUT -p tcp --sport {cport} -j DROP")
a.close()
# 8. FIN-WAIT-1: ACKs from server 8087 dropped after the handshake
L8 = listener(8087); keep.append(L8)
c = socket.create_connection(("127.0.0.1", 8087)); a, _ = L8.accept(); keep += [c, a]
sh("iptables -A OUTPUT -p tcp --sport 8087 -j DROP")
c.shutdown(socket.SHUT_WR)
# 9. IPv6 established + listen
L9 = listener(8443, fam=socket.AF_INET6, addr="::1"); keep.append(L9)
c = socket.create_connection(("::1", 8443)); a, _ = L9.accept(); keep += [c, a]
time.sleep(0.6)
out_dir = sys.argv[1]
for name, cmd in [("ss-tano.txt", "ss -tano"), ("ss-tan.txt", "ss -tan"), ("ss-tanop.txt", "ss -tanop"),
                  ("proc-net-tcp.txt", "cat /proc/net/tcp"), ("proc-net-tcp6.txt", "cat /proc/net/tcp6")]:
    open(os.path.join(out_dir, name), "w").write(sh(cmd))

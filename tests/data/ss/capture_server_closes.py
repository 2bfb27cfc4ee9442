"""Server closes first: TIME-WAIT on the server's port, and a restart without SO_REUSEADDR."""
import os, socket, subprocess, sys, time, errno
subprocess.run("ip link set lo up", shell=True, check=True)
L = socket.socket(); L.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
L.bind(("127.0.0.1", 8081)); L.listen(16)
for i in range(3):
    c = socket.create_connection(("127.0.0.1", 8081)); a, _ = L.accept()
    a.close(); time.sleep(0.05); c.close()
L.close()
out = subprocess.run("ss -tano", shell=True, capture_output=True, text=True).stdout
s = socket.socket()
try:
    s.bind(("127.0.0.1", 8081)); res = "bound"
except OSError as e:
    res = errno.errorcode[e.errno]
open(sys.argv[1], "w").write(out)
print(res)

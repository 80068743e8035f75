"""What Linux's /proc says about a process: CPU time, memory, sockets."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used, in seconds."""
    # The command name in parentheses may hold spaces: the fields start after its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def is_idle(pid: int, window: float = 0.5, busy_share: float = 0.1) -> bool:
    """The process used less than `busy_share` of one CPU over the next `window` seconds (a
    measurement, not a wait: poll it). A generating worker uses one CPU or more."""
    before = cpu_seconds(pid)
    time.sleep(window)
    return cpu_seconds(pid) - before < busy_share * window


def rss_kb(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


@dataclass(frozen=True)
class TcpSocket:
    local_port: int
    remote_port: int
    send_queue: int  # bytes sent but not yet acknowledged by the peer
    receive_queue: int  # bytes received but not yet read by the process
    inode: str


def tcp_sockets() -> list[TcpSocket]:
    """Every TCP socket of this network namespace (IPv4 and IPv6)."""
    sockets = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            send_queue, receive_queue = (int(n, 16) for n in fields[4].split(":"))
            sockets.append(TcpSocket(local, remote, send_queue, receive_queue, fields[9]))
    return sockets


def server_side(server_port: int, client_port: int) -> TcpSocket | None:
    """The server's end of the connection a client made from `client_port`."""
    for sock in tcp_sockets():
        if (sock.local_port, sock.remote_port) == (server_port, client_port):
            return sock
    return None


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets a process holds open (it may close some meanwhile: the
    result is a snapshot, and an fd that vanished while being read is skipped)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes

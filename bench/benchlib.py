"""Helpers shared by the benchmarks in bench/ (loopback ports, RSS)."""
import os
import socket
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: nothing listens on {host}:{port}")


def _kb(path, key):
    try:
        for line in open(path):
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid):
    return _kb(f"/proc/{pid}/status", "VmRSS:")


def pss_kb(pid):
    """Proportional set size: shared pages divided among their users."""
    return _kb(f"/proc/{pid}/smaps_rollup", "Pss:")


def children(pid):
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


def tree_rss_kb(pid):
    return sum(rss_kb(p) for p in tree(pid))

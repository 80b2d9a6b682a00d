"""How many browser sessions one machine holds under ``cgtui serve``: memory and step latency.

    .venv/bin/python tests/perf/serve_sessions.py --sessions 1,10,20,40 --seconds 20

Starts ``cgtui serve`` on the lecture graph (port picked by the system, 127.0.0.1 only), then
for each count N opens N sessions the way the page does (textual-serve's websocket protocol,
spoken by aiohttp: a browser per session would measure Chromium, not cgtui), lets every session
step (n n n p p p …, one key per session every --every seconds, all at once) for --seconds, and
prints, per N: each session process's RSS (median and max), the server's, their sum, and the
latency from a key to the first frame the session sends back (median, 95th percentile, max),
plus the load average, each idle session's CPU (all open, nobody typing, 5 s) and the CPU the
sessions and the server spend per key. A key's latency over ~100 ms is felt as lag.

Not a test: the machine is shared, so the numbers are for the README, measured a few times.
Every loop is bounded in count and time; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
KEYS = "nnnppp"
IDLE_SECONDS = 5.0


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time each process has used so far (those still there)."""
    times = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return times


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings, by the processes in both."""
    return sum(after[p] - before[p] for p in before.keys() & after.keys())


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


async def session(http: aiohttp.ClientSession, url: str, clock: dict, every: float, latencies: list[float],
                  ready: asyncio.Event, started: list[float]) -> None:
    """One visitor: connect, wait for the first frame, then step until ``clock["stop_at"]``."""
    t0 = time.monotonic()
    async with http.ws_connect(url + "?width=120&height=36", max_msg_size=0) as ws:
        await ws.send_str(json.dumps(["resize", {"width": 120, "height": 36}]))
        while True:  # the first frame
            msg = await asyncio.wait_for(ws.receive(), 60)
            if msg.type == aiohttp.WSMsgType.BINARY and len(msg.data) > 100:
                break
        started.append(time.monotonic() - t0)
        await ready.wait()
        stop_at = clock["stop_at"]
        await asyncio.sleep(random.uniform(0, every))  # not in lock step
        k = 0
        while time.monotonic() < stop_at:
            try:  # drain what came since the last key (a later repaint is not this key's answer)
                while True:
                    await asyncio.wait_for(ws.receive(), 0.001)
            except asyncio.TimeoutError:
                pass
            sent = time.monotonic()
            await ws.send_str(json.dumps(["stdin", KEYS[k % len(KEYS)]]))
            k += 1
            while True:
                msg = await asyncio.wait_for(ws.receive(), 30)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    latencies.append(time.monotonic() - sent)
                    break
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    return
            await asyncio.sleep(max(0.0, every - (time.monotonic() - sent)))


async def level(ws_url: str, server_pid: int, n: int, seconds: float, every: float) -> dict:
    latencies: list[float] = []
    started: list[float] = []
    ready = asyncio.Event()
    clock = {"stop_at": 0.0}
    async with aiohttp.ClientSession() as http:
        tasks = []
        for _ in range(n):
            tasks.append(asyncio.create_task(session(http, ws_url, clock, every, latencies, ready, started)))
        deadline = time.monotonic() + 120
        while len(started) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        pids = children(server_pid)
        idle_from = cpu_seconds(pids)
        start_cpu = statistics.median(idle_from.values()) if idle_from else 0.0  # CPU to open, each
        await asyncio.sleep(IDLE_SECONDS)  # all open, nobody typing
        idle = cpu_used(idle_from, cpu_seconds(pids)) / IDLE_SECONDS / max(1, len(pids))
        clock["stop_at"] = time.monotonic() + seconds  # the same for all, now that all are up
        ready.set()
        busy_from = cpu_seconds(pids + [server_pid])
        await asyncio.sleep(seconds / 2)
        rss = sorted(rss_kib(p) for p in pids)
        await asyncio.gather(*tasks, return_exceptions=True)
        busy = cpu_used(busy_from, cpu_seconds(pids + [server_pid]))
    latencies.sort()
    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 20 else [max(latencies, default=0)] * 19
    return {
        "sessions": n, "processes": len(pids),
        "rss_median_mib": statistics.median(rss) / 1024 if rss else 0,
        "rss_max_mib": max(rss, default=0) / 1024,
        "server_mib": rss_kib(server_pid) / 1024,
        "total_mib": (sum(rss) + rss_kib(server_pid)) / 1024,
        "start_median_s": statistics.median(started) if started else 0,
        "start_cpu_s": start_cpu,
        "keys": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0,
        "p95_ms": q[18] * 1000, "max_ms": max(latencies, default=0) * 1000,
        "load1": os.getloadavg()[0],
        "idle_pct": idle * 100,
        "cpu_per_key_ms": busy / max(1, len(latencies)) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,20,40", help="the counts to measure, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long all sessions step, per count")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between one session's keys")
    parser.add_argument("--graph", default=str(ROOT / "graphs" / "lecture.yaml"))
    args = parser.parse_args()
    counts = [int(c) for c in args.sessions.split(",")]
    if max(counts) > 200:
        parser.error("at most 200 sessions")
    server = subprocess.Popen([sys.executable, "-m", "tui", "serve", args.graph, "--port", "0"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        ws_url = url.replace("http://", "ws://") + "ws/-"
        print(f"{'sessions':>8} {'procs':>5} {'RSS/session MiB (median, max)':>30} {'server':>7} {'total MiB':>9} "
              f"{'start s':>7} {'start CPU s':>11} {'keys':>5} {'key→frame ms p50 / p95 / max':>30} {'load1':>5} "
              f"{'idle CPU %/session':>18} {'CPU ms/key':>10}")
        for n in counts:
            r = asyncio.run(level(ws_url, server.pid, n, args.seconds, args.every))
            print(f"{r['sessions']:>8} {r['processes']:>5} {r['rss_median_mib']:>21.1f}, {r['rss_max_mib']:>6.1f} {r['server_mib']:>7.1f} "
                  f"{r['total_mib']:>9.0f} {r['start_median_s']:>7.2f} {r['start_cpu_s']:>11.2f} {r['keys']:>5} "
                  f"{r['p50_ms']:>14.0f} / {r['p95_ms']:>5.0f} / {r['max_ms']:>5.0f} {r['load1']:>5.1f} "
                  f"{r['idle_pct']:>18.2f} {r['cpu_per_key_ms']:>10.1f}", flush=True)
            time.sleep(2)  # the sessions of this count end before the next opens
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()

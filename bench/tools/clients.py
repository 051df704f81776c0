#!/usr/bin/env python3
"""Small measuring clients for bench/run (standard library only). Each subcommand prints one JSON
object on stdout and exits non-zero when the thing it measures did not work.

  free-ports N                      N currently free TCP ports on 127.0.0.1 (plain text)
  idle URL PID N                    N keep-alive connections, one GET /api/tags each, then idle:
                                    VmRSS/VmHWM of PID, and whether all N still answer
  blob URL PID BYTES                stream BYTES of zeros to POST /api/blobs/sha256:<hex>, sampling
                                    PID's VmRSS: RSS before, peak during, growth
  ttfb NAME=URL... --reps N         streamed /api/generate, contenders alternated: medians of time
                                    to the response head and to the first NDJSON line
  fanout NAME=URL... --reps N --inputs K
                                    non-streamed /api/embed batch of K inputs, contenders
                                    alternated: median wall time of complete requests
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import threading
import time
import urllib.parse


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) * 1024
    return out


def cmd_free_ports(args):
    socks = []
    try:
        for _ in range(args.n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()
    return 0


def read_response(sock, buf):
    """Reads one HTTP/1.1 response with Content-Length or chunked framing; returns (status, rest)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed before the response head")
        buf += data
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip()
    if b"content-length" in headers:
        need = int(headers[b"content-length"])
        while len(buf) < need:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed mid-body")
            buf += data
        return status, buf[need:]
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            while b"\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("closed mid-chunk")
                buf += data
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("closed mid-chunk")
                buf += data
            buf = buf[size + 2:]
            if size == 0:
                return status, buf
    raise ValueError("response without length")


def cmd_idle(args):
    host, port = split_url(args.url)
    request = f"GET /api/tags HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    before = proc_status(args.pid)
    conns = []
    failures = 0
    for _ in range(args.n):
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(request)
            status, _ = read_response(s, b"")
            if status != 200:
                failures += 1
            conns.append(s)
        except OSError:
            failures += 1
    during = proc_status(args.pid)
    alive = 0
    for s in conns:
        try:
            s.sendall(request)
            status, _ = read_response(s, b"")
            alive += status == 200
        except (OSError, ValueError):
            pass
    after = proc_status(args.pid)
    for s in conns:
        s.close()
    result = {"connections": args.n, "opened": len(conns), "first_request_failures": failures,
              "still_alive": alive, "rss_before": before["VmRSS"], "rss_idle": during["VmRSS"],
              "hwm_idle": during["VmHWM"], "hwm_after": after["VmHWM"]}
    print(json.dumps(result))
    return 0 if alive == args.n and failures == 0 else 1


def cmd_blob(args):
    host, port = split_url(args.url)
    # A fresh digest: Ollama (and the sim) answer at once, unread, when the blob already exists.
    digest = "sha256:" + os.urandom(32).hex()
    samples = []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            try:
                samples.append(proc_status(args.pid)["VmRSS"])
            except OSError:
                return
            time.sleep(0.01)

    before = proc_status(args.pid)
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    chunk = memoryview(bytes(1 << 20))
    started = time.monotonic()
    s = socket.create_connection((host, port), timeout=60)
    s.sendall((f"POST /api/blobs/{digest} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Content-Type: application/octet-stream\r\nContent-Length: {args.bytes}\r\n\r\n").encode())
    left = args.bytes
    while left > 0:
        n = min(left, len(chunk))
        s.sendall(chunk[:n])
        left -= n
    status, _ = read_response(s, b"")
    elapsed = time.monotonic() - started
    s.close()
    stop.set()
    thread.join()
    after = proc_status(args.pid)
    peak = max(samples + [after["VmRSS"]])
    result = {"bytes": args.bytes, "status": status, "seconds": round(elapsed, 3),
              "mib_per_s": round(args.bytes / elapsed / (1 << 20), 1), "rss_before": before["VmRSS"],
              "rss_peak_sampled": peak, "hwm_before": before["VmHWM"], "hwm_after": after["VmHWM"],
              "growth": max(peak, after["VmHWM"]) - before["VmRSS"], "samples": len(samples)}
    print(json.dumps(result))
    return 0 if status in (200, 201) else 1


def parse_contenders(items):
    out = []
    for item in items:
        name, _, url = item.partition("=")
        out.append((name, *split_url(url)))
    return out


def cmd_ttfb(args):
    contenders = parse_contenders(args.contenders)
    conns = {name: http.client.HTTPConnection(h, p, timeout=30) for name, h, p in contenders}
    body = json.dumps({"model": "llama3.2", "prompt": "why is the sky blue?", "stream": True})
    head = {name: [] for name, _, _ in contenders}
    first = {name: [] for name, _, _ in contenders}
    for rep in range(args.reps + 1):
        order = contenders[rep % len(contenders):] + contenders[:rep % len(contenders)]
        for name, _, _ in order:
            c = conns[name]
            t0 = time.perf_counter()
            c.request("POST", "/api/generate", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            t1 = time.perf_counter()
            line = r.readline()
            t2 = time.perf_counter()
            rest = r.read()
            if r.status != 200 or not line.startswith(b"{") or b'"done":true' not in rest:
                print(json.dumps({"error": f"{name}: status {r.status}, first line {line[:80]!r}"}))
                return 1
            if rep > 0:  # the first round warms up connections
                head[name].append((t1 - t0) * 1e6)
                first[name].append((t2 - t0) * 1e6)
    print(json.dumps({name: {"head_us": statistics.median(head[name]),
                             "first_line_us": statistics.median(first[name]),
                             "p90_first_line_us": statistics.quantiles(first[name], n=10)[-1]
                             if len(first[name]) > 1 else first[name][0]}
                      for name in head}))
    return 0


def cmd_fanout(args):
    contenders = parse_contenders(args.contenders)
    conns = {name: http.client.HTTPConnection(h, p, timeout=60) for name, h, p in contenders}
    inputs = [f"input number {i} of the fan-out benchmark" for i in range(args.inputs)]
    body = json.dumps({"model": "nomic-embed-text", "input": inputs})
    times = {name: [] for name, _, _ in contenders}
    dims = {}
    for rep in range(args.reps + 1):
        order = contenders[rep % len(contenders):] + contenders[:rep % len(contenders)]
        for name, _, _ in order:
            c = conns[name]
            t0 = time.perf_counter()
            c.request("POST", "/api/embed", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            t1 = time.perf_counter()
            if r.status != 200:
                print(json.dumps({"error": f"{name}: status {r.status}: {data[:200]!r}"}))
                return 1
            if rep == 0:
                reply = json.loads(data)
                if len(reply["embeddings"]) != args.inputs:
                    print(json.dumps({"error": f"{name}: {len(reply['embeddings'])} embeddings"}))
                    return 1
                dims[name] = len(reply["embeddings"][0])
            else:
                times[name].append((t1 - t0) * 1e3)
    print(json.dumps({name: {"median_ms": statistics.median(t), "min_ms": min(t), "dims": dims[name],
                             "reps": len(t)} for name, t in times.items()}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("free-ports")
    s.add_argument("n", type=int)
    s.set_defaults(fn=cmd_free_ports)
    s = sub.add_parser("idle")
    s.add_argument("url")
    s.add_argument("pid", type=int)
    s.add_argument("n", type=int)
    s.set_defaults(fn=cmd_idle)
    s = sub.add_parser("blob")
    s.add_argument("url")
    s.add_argument("pid", type=int)
    s.add_argument("bytes", type=int)
    s.set_defaults(fn=cmd_blob)
    s = sub.add_parser("ttfb")
    s.add_argument("contenders", nargs="+")
    s.add_argument("--reps", type=int, default=100)
    s.set_defaults(fn=cmd_ttfb)
    s = sub.add_parser("fanout")
    s.add_argument("contenders", nargs="+")
    s.add_argument("--reps", type=int, default=15)
    s.add_argument("--inputs", type=int, default=64)
    s.set_defaults(fn=cmd_fanout)
    args = p.parse_args()
    sys.exit(args.fn(args))


if __name__ == "__main__":
    main()

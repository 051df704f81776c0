#!/usr/bin/env python3
"""Renders bench/run's JSON-lines records as Markdown: the machine, a summary of every target with
its verdict (full runs only), then one table per benchmark with medians and ratios. All figures
come from one run; ratios compare contenders measured alternately in that run."""
import argparse
import json
import statistics
from collections import defaultdict

MIB = 1 << 20


def fmt_int(x):
    return f"{x:,.0f}"


def fmt_us(x):
    return f"{x:,.0f} µs"


def fmt_ratio(x):
    return f"{x:.2f}×"


def conns(c):
    return f"{c} connection" if c == 1 else f"{c} connections"


def fmt_signed_us(x):
    return f"{x:+,.0f} µs"


def load(path):
    recs = defaultdict(list)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                recs[r["kind"]].append(r)
    return recs


class report:
    def __init__(self, recs, smoke):
        self.recs = recs
        self.smoke = smoke
        self.targets = []  # (number, text, measured, met or None)
        self.sections = []

    def verdict(self, met):
        if self.smoke or met is None:
            return "—"
        return "MET" if met else "**MISSED**"

    def target(self, number, text, measured, met):
        self.targets.append((number, text, measured, met))
        return self.verdict(met)

    def wrk_medians(self, test):
        """{(route, c): {contender: {rps, p50_us, p99_us, rounds}}}"""
        groups = defaultdict(lambda: defaultdict(list))
        for r in self.recs.get("wrk", []):
            if r["test"] == test:
                groups[(r["route"], r["c"])][r["contender"]].append(r)
        out = {}
        for key, by in groups.items():
            out[key] = {who: {"rps": statistics.median(x["rps"] for x in rs),
                              "p50": statistics.median(x["p50_us"] for x in rs),
                              "p99": statistics.median(x["p99_us"] for x in rs),
                              "n": len(rs)} for who, rs in by.items()}
        return out

    def passthrough(self):
        m = self.wrk_medians("passthrough")
        if not m:
            return
        names = {"tags": "`GET /api/tags`", "generate": "`POST /api/generate` (stream false)"}
        rows = ["| route | connections | req/s direct / nginx / meter | meter ÷ nginx req/s | "
                "p50 direct / nginx / meter | p99 direct / nginx / meter | meter ÷ nginx p99 | "
                "req/s ≥ nginx | p99 ≤ nginx |", "|---|--:|--:|--:|--:|--:|--:|:-:|:-:|"]
        for (route, c), v in sorted(m.items(), key=lambda kv: (kv[0][0] != "tags", kv[0][1])):
            d, n, mt = v["direct"], v["nginx"], v["meter"]
            rps_ratio = mt["rps"] / n["rps"]
            p99_ratio = mt["p99"] / n["p99"]
            t1 = self.target("1", f"{names[route]}, {conns(c)}: meter req/s ≥ nginx",
                             f"{fmt_int(mt['rps'])} vs {fmt_int(n['rps'])} ({fmt_ratio(rps_ratio)})",
                             mt["rps"] >= n["rps"])
            t2 = self.target("1", f"{names[route]}, {conns(c)}: meter p99 ≤ nginx",
                             f"{fmt_us(mt['p99'])} vs {fmt_us(n['p99'])} ({fmt_ratio(p99_ratio)})",
                             mt["p99"] <= n["p99"])
            rows.append(f"| {names[route]} | {c} | {fmt_int(d['rps'])} / {fmt_int(n['rps'])} / "
                        f"{fmt_int(mt['rps'])} | {fmt_ratio(rps_ratio)} | {d['p50']:,.0f} / "
                        f"{n['p50']:,.0f} / {mt['p50']:,.0f} µs | {d['p99']:,.0f} / {n['p99']:,.0f} / "
                        f"{mt['p99']:,.0f} µs | {fmt_ratio(p99_ratio)} | {t1} | {t2} |")
        self.sections.append(("1. Pass-through overhead", rows))

    def embed(self):
        m = self.wrk_medians("embed")
        if not m:
            return
        rows = ["| connections | req/s direct / nginx / meter | meter ÷ direct req/s | "
                "p50 direct / nginx / meter | added p50 nginx / meter | "
                "p99 direct / nginx / meter | added p99 nginx / meter | added p50 meter ≤ nginx |",
                "|--:|--:|--:|--:|--:|--:|--:|:-:|"]
        for (_, c), v in sorted(m.items(), key=lambda kv: kv[0][1]):
            d, n, mt = v["direct"], v["nginx"], v["meter"]
            add_n, add_m = n["p50"] - d["p50"], mt["p50"] - d["p50"]
            t = self.target("2", f"1-input `/api/embed`, {conns(c)}: meter's added p50 ≤ nginx's",
                            f"{fmt_signed_us(add_m)} vs {fmt_signed_us(add_n)}", add_m <= add_n)
            rows.append(f"| {c} | {fmt_int(d['rps'])} / {fmt_int(n['rps'])} / {fmt_int(mt['rps'])} | "
                        f"{fmt_ratio(mt['rps'] / d['rps'])} | {d['p50']:,.0f} / {n['p50']:,.0f} / "
                        f"{mt['p50']:,.0f} µs | {fmt_signed_us(add_n)} / {fmt_signed_us(add_m)} | "
                        f"{d['p99']:,.0f} / {n['p99']:,.0f} / {mt['p99']:,.0f} µs | "
                        f"{fmt_signed_us(n['p99'] - d['p99'])} / {fmt_signed_us(mt['p99'] - d['p99'])} | "
                        f"{t} |")
        self.sections.append(("2. Embed overhead (1 input, zero-latency sim)", rows))

    def fanout(self):
        recs = self.recs.get("fanout", [])
        if not recs:
            return
        rows = ["| sim runner | direct (1 batch call) | meter (64 sub-calls) | meter ÷ direct | target |",
                "|---|--:|--:|--:|:-:|"]
        for r in recs:
            d, mt = r["data"]["direct"], r["data"]["meter"]
            ratio = mt["median_ms"] / d["median_ms"]
            if r["mode"] == "serial":
                t = self.target("3", "64 × 768 fan-out, serial runner, 2 ms/input: meter ≤ 1.05× direct",
                                fmt_ratio(ratio), ratio <= 1.05)
                label = "serial, 2 ms/input"
            else:
                t = "(no target)"
                label = "parallel, 4 slots, 2 ms/input"
            rows.append(f"| {label} | {d['median_ms']:.1f} ms | {mt['median_ms']:.1f} ms | "
                        f"{fmt_ratio(ratio)} | {t} |")
        rows.append("")
        rows.append(f"Medians of {recs[0]['data']['direct']['reps']} complete requests per side, "
                    "alternated; ollama-meter's default --max-fanout 8.")
        self.sections.append(("3. Fan-out cost (64 inputs × 768 dimensions)", rows))

    def merge(self):
        recs = self.recs.get("merge", [])
        if not recs:
            return
        benches = recs[0]["report"]["benchmarks"]
        picked = {}
        for b in benches:
            name = b.get("run_name", b["name"])
            agg = b.get("aggregate_name")
            if agg == "median" or (agg is None and name not in picked):
                picked[name] = b
        meter = picked.get("bm_meter_merge/512/1024/0")
        padded = picked.get("bm_meter_merge/512/1024/1")
        naive = picked.get("bm_naive_merge/512/1024")
        if not meter or not naive:
            return
        ratio = meter["bytes_per_second"] / naive["bytes_per_second"]
        t = self.target("4", "merge of 512 × 1024: meter ≥ 10× the nlohmann baseline",
                        f"{meter['bytes_per_second'] / MIB:,.0f} vs "
                        f"{naive['bytes_per_second'] / MIB:,.0f} MiB/s ({fmt_ratio(ratio)})",
                        ratio >= 10)
        reps = " (median of 5 interleaved repetitions)" if "aggregate_name" in meter else ""

        def row(label, b, verdict):
            return (f"| {label} | {b['cpu_time']:.2f} {b['time_unit']} | "
                    f"{b['bytes_per_second'] / MIB:,.0f} | "
                    f"{fmt_ratio(b['bytes_per_second'] / naive['bytes_per_second'])} | {verdict} |")

        rows = ["| path | time per merge | input MiB/s | ÷ baseline | target |", "|---|--:|--:|--:|:-:|",
                row("ollama-meter: reserve_padding + parse_embed_part × 512, merge_embed_reply", meter, t)]
        if padded:
            rows.append(row("the same with bodies already padded (reserve_padding copies nothing)",
                            padded, "(info)"))
        rows += [row("baseline: nlohmann parse × 512, merged object, dump", naive, ""),
                 "", f"Google Benchmark (bench_merge), CPU time{reps}; each reply is a Go-formatted "
                 "unit float32 vector plus counts, about 11 KB; bodies start with exact capacity, as "
                 "Beast's string_body reserves a Content-Length body."]
        self.sections.append(("4. Reassembly throughput", rows))

    def memory(self):
        rows = ["| measure | value | target | verdict |", "|---|--:|--:|:-:|"]
        for r in self.recs.get("idle", []):
            d = r["data"]
            peak = d["hwm_after"]
            t = self.target("5", f"peak RSS with {d['connections']:,} idle keep-alive connections ≤ 32 MiB",
                            f"{peak / MIB:.1f} MiB", peak <= 32 * MIB)
            rows.append(f"| peak RSS (VmHWM), {d['connections']:,} idle keep-alive connections, all "
                        f"still answering: {d['still_alive']:,} | {peak / MIB:.1f} MiB (at start "
                        f"{d['rss_before'] / MIB:.1f}) | ≤ 32 MiB | {t} |")
        for r in self.recs.get("blob", []):
            d = r["data"]
            t = self.target("5", f"RSS growth streaming a {d['bytes'] / MIB:,.0f} MiB blob upload ≤ 16 MiB",
                            f"{d['growth'] / MIB:.1f} MiB", d["growth"] <= 16 * MIB)
            rows.append(f"| RSS growth, {d['bytes'] / MIB:,.0f} MiB blob upload at "
                        f"{d['mib_per_s']:,.0f} MiB/s (status {d['status']}) | "
                        f"{d['growth'] / MIB:.1f} MiB | ≤ 16 MiB | {t} |")
        if len(rows) > 2:
            rows += ["", "Each on a fresh ollama-meter; growth = max(sampled VmRSS, VmHWM) − VmRSS before."]
            self.sections.append(("5. Memory", rows))

    def ttfb(self):
        recs = self.recs.get("ttfb", [])
        if not recs:
            return
        d = recs[0]["data"]
        base = d["direct"]
        rows = ["| path | response head | first NDJSON line | added to first line |",
                "|---|--:|--:|--:|"]
        for who in ("direct", "nginx", "meter"):
            if who in d:
                v = d[who]
                added = "" if who == "direct" else fmt_signed_us(v["first_line_us"] - base["first_line_us"])
                rows.append(f"| {who} | {fmt_us(v['head_us'])} | {fmt_us(v['first_line_us'])} | {added} |")
        if "meter" in d:
            self.target("6", "streamed `/api/generate`: added time to first line (no target)",
                        fmt_signed_us(d["meter"]["first_line_us"] - base["first_line_us"]), None)
        rows += ["", "Medians of alternated requests on keep-alive connections; the sim spaces its lines 5 ms apart."]
        self.sections.append(("6. Streaming latency (time to first byte)", rows))

    def render(self, command):
        machine = (self.recs.get("machine") or [{}])[0]
        end = (self.recs.get("end") or [{}])[0]
        self.passthrough()
        self.embed()
        self.fanout()
        self.merge()
        self.memory()
        self.ttfb()
        out = ["# ollama-meter benchmark results", ""]
        if self.smoke:
            out += ["**Smoke run**: tiny loads to prove the suite runs; these figures are not "
                    "measurements and no target is judged.", ""]
        out += [f"Command: `{command}` ({machine.get('date', '?')}). Machine: {machine.get('cpu', '?')}, "
                f"{machine.get('cores', '?')} cores, {machine.get('mem_gib', '?')} GiB, "
                f"{machine.get('kernel', '?')}; load average {machine.get('load_start', '?')} at start, "
                f"{end.get('load_end', '?')} at end. {machine.get('meter_version', '?')}, "
                f"{machine.get('sim_version', '?')}, nginx {machine.get('nginx_version', '?')}, "
                f"{machine.get('wrk_version', '?')}, {machine.get('compiler', '?')} (Release).", "",
                f"Setup: everything on loopback on the same {machine.get('cores', '?')} cores. ollama-meter "
                f"`--threads {machine.get('proxy_threads', '?')} --no-access-log`; nginx "
                f"`worker_processes {machine.get('proxy_threads', '?')}`, upstream keepalive 32, "
                "proxy_http_version 1.1, Connection \"\", proxy_buffering and proxy_request_buffering off, "
                "access_log off, keepalive_requests raised to 1,000,000; ollama-sim `--threads 1`; "
                "`wrk -t1`. "
                f"{machine.get('rounds', '?')} rounds × {machine.get('seconds', '?')} s per wrk run, "
                "contenders alternated in rotating order; every figure is the median over rounds, "
                "every ratio compares medians of this run.", ""]
        if not self.smoke and self.targets:
            out += ["## Targets", "", "| # | target | measured | verdict |", "|--:|---|---|:-:|"]
            for number, text, measured, met in self.targets:
                out.append(f"| {number} | {text} | {measured} | {self.verdict(met) if met is not None else 'info'} |")
            out.append("")
        for title, rows in self.sections:
            out += [f"## {title}", ""] + rows + [""]
        failed = self.recs.get("failure", [])
        if failed:
            out += ["## Failures during this run", ""]
            out += [f"- {r['what']}" for r in failed] + [""]
        return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--results", required=True)
    p.add_argument("--command", default="bench/run")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    print(report(load(args.results), args.smoke).render(args.command))


if __name__ == "__main__":
    main()

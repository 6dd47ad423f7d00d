#!/usr/bin/env python3
"""Turns the raw outputs of one bench/run into its table, a JSON file and a PNG chart.

    report.py RAW_DIR --json PATH --png PATH

RAW_DIR holds what bench/run saved: NAME.wrk (wrk's output), NAME.pgbench (pgbench's),
NAME.cpu (CPU seconds spent during that run, per party), `scalars` ("key value" lines),
`settings` ("key value" lines) and, with --micro, micro.json (Google Benchmark's JSON).
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys

MIB = 1024.0

# One row per figure of the issue. kind: "ratio" (figure / reference >= target), "min"
# (figure >= target, absolute) or "max" (figure <= target). A row whose reference is a list
# takes the mean of those runs (nginx is measured before and after castera, to see drift).
ROWS = [
    dict(id="read_session_sqlite", label="GET /api/meetings/<id>/ (session), SQLite", kind="ratio",
         run="castera_read_session_sqlite", ref=["nginx_before", "nginx_after"], ref_label="nginx", target=0.5),
    dict(id="read_basic_sqlite", label="GET /api/meetings/<id>/ (Basic), SQLite", kind="ratio",
         run="castera_read_basic_sqlite", ref=["nginx_before", "nginx_after"], ref_label="nginx", target=0.3),
    dict(id="list50_sqlite", label="GET /api/meetings/ (50 rows), SQLite", kind="ratio",
         run="castera_list50_sqlite", ref=["nginx_before", "nginx_after"], ref_label="nginx", target=0.2),
    dict(id="post_message_sqlite", label="POST /api/meetings/<id>/messages/, SQLite", kind="min", unit="req/s",
         run="castera_post_message_sqlite", ref=["nginx_before", "nginx_after"], ref_label="nginx", target=20000),
    dict(id="read_session_postgres", label="GET /api/meetings/<id>/ (session), PostgreSQL", kind="ratio",
         run="castera_read_session_postgres", ref=["pgbench_select"], ref_label="pgbench -S", target=0.5),
    dict(id="list50_postgres", label="GET /api/meetings/ (50 rows), PostgreSQL", kind="ratio",
         run="castera_list50_postgres", ref=["pgbench_select"], ref_label="pgbench -S", target=0.2,
         note="the issue names only 'reads'; the SQLite list/read proportion (0.2 vs 0.5) is applied"),
    dict(id="post_message_postgres", label="POST /api/meetings/<id>/messages/, PostgreSQL", kind="ratio",
         run="castera_post_message_postgres", ref=["pgbench_simple_update"], ref_label="pgbench -N", target=0.3),
    dict(id="idle_rss", label="RSS idle after start", kind="max", unit="MiB", scalar="idle_rss_kib", target=16),
    dict(id="rss_after_sqlite", label="RSS after the benchmark, SQLite", kind="max", unit="MiB",
         scalar="rss_after_sqlite_kib", target=64),
    dict(id="rss_after_postgres", label="RSS after the benchmark, PostgreSQL", kind="max", unit="MiB",
         scalar="rss_after_postgres_kib", target=64),
    dict(id="startup", label="start-up to first answer (median)", kind="max", unit="ms", scalar="startup_ms", target=50),
    dict(id="p99_half_load", label="p99 latency at 50% of peak (session read)", kind="max", unit="ms",
         run="castera_paced_read_sqlite", ref_latency="nginx_paced", ref_label="nginx p99", target=2),
]


# ---- reading raw outputs

def read_text(raw, name):
    path = os.path.join(raw, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def read_pairs(raw, name):
    """`key value` lines; a key may repeat (several samples)."""
    pairs = {}
    for line in (read_text(raw, name) or "").splitlines():
        if line.strip():
            key, _, value = line.partition(" ")
            pairs.setdefault(key, []).append(value.strip())
    return pairs


def duration_ms(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(text):
    """Requests/sec, total requests, latency percentiles, and why the run is not valid (if it
    is not): wrk counts answers of 400 and more as "Non-2xx or 3xx responses", and socket
    errors (connect, read, write, timeout) separately."""
    out = {"rps": None, "requests": 0, "errors": [], "latency_ms": {}}
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if match:
        out["rps"] = float(match.group(1))
    match = re.search(r"(\d+) requests in ", text)
    if match:
        out["requests"] = int(match.group(1))
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M):
        out["latency_ms"][pct] = duration_ms(value)
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if match and int(match.group(1)) > 0:
        out["errors"].append("%s non-2xx answers" % match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if match and any(int(n) for n in match.groups()):
        out["errors"].append("socket errors: connect %s, read %s, write %s, timeout %s" % match.groups())
    if not out["rps"] or not out["requests"]:
        out["errors"].append("no requests completed")
    return out


def parse_pgbench(text):
    out = {"rps": None, "requests": 0, "errors": []}
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    if match:
        out["rps"] = float(match.group(1))
    match = re.search(r"number of transactions actually processed: (\d+)", text)
    if match:
        out["requests"] = int(match.group(1))
    match = re.search(r"number of failed transactions: (\d+)", text)
    if match and int(match.group(1)) > 0:
        out["errors"].append("%s failed transactions" % match.group(1))
    if not out["rps"]:
        out["errors"].append("no tps reported")
    return out


def parse_cpu(text):
    """CPU seconds per party during one run, as shares of the machine's cores."""
    values = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        values[key] = float(value)
    wall = values.get("wall")
    if not wall:
        return None
    cores = values.get("cores", 1)
    share = lambda key: round(100.0 * values.get(key, 0.0) / (wall * cores), 1)
    # Without CONFIG_IRQ_TIME_ACCOUNTING (Debian's default), softirq time is charged to the
    # process it interrupted, so it is inside the other shares already and not added here.
    known = sum(values.get(k, 0.0) for k in ("load", "server", "database"))
    return {"seconds": values, "cores": cores, "load_pct": share("load"), "server_pct": share("server"), "database_pct": share("database"),
            "softirq_pct": share("softirq"),
            "other_pct": round(max(0.0, 100.0 * (values.get("machine_busy", 0.0) - known) / (wall * cores)), 1),
            "idle_pct": round(max(0.0, 100.0 - 100.0 * values.get("machine_busy", 0.0) / (wall * cores)), 1)}


def load_run(raw, name):
    """A wrk or pgbench run by name, with its CPU shares and checks made by bench/run."""
    text = read_text(raw, name + ".wrk")
    if text is not None:
        run = parse_wrk(text)
    else:
        text = read_text(raw, name + ".pgbench")
        if text is None:
            return None
        run = parse_pgbench(text)
    run["cpu"] = parse_cpu(read_text(raw, name + ".cpu"))
    if run["cpu"] and run["requests"]:
        # CPU microseconds per answered request: the cost of one request, whatever the noise.
        sec = run["cpu"].pop("seconds")
        for key in ("load", "server", "database"):
            run["cpu"][key + "_us_per_request"] = round(1e6 * sec.get(key, 0.0) / run["requests"], 1)
    elif run["cpu"]:
        run["cpu"].pop("seconds")
    for problem in (read_text(raw, name + ".invalid") or "").splitlines():
        run["errors"].append(problem)
    return run


# ---- the table

def fmt(value, unit=""):
    if value is None:
        return "-"
    if unit == "req/s" or (unit == "" and value >= 1000):
        return "{:,.0f}".format(value)
    if unit in ("MiB", "ms"):
        return "%.1f %s" % (value, unit) if value >= 10 else "%.2f %s" % (value, unit)
    return "%.2f" % value


def paced_problems(run, target):
    """A paced run must hold its rate (within 15 %), or its latency is not at half load."""
    if not target or not run["rps"]:
        return []
    aimed = float(target[-1])
    off = abs(run["rps"] / aimed - 1)
    if off <= 0.15:
        return []
    return ["rate %.0f is %.0f%% off the aimed %.0f req/s" % (run["rps"], 100 * off, aimed)]


def cpu_cost(cpu):
    """CPU microseconds one request costs the whole machine (server, load generator, database)."""
    return sum(cpu.get(k + "_us_per_request", 0.0) for k in ("server", "load", "database"))


def evaluate(row, raw, scalars):
    result = dict(id=row["id"], label=row["label"], kind=row["kind"], target=row["target"],
                  unit=row.get("unit", "req/s"), value=None, reference=None, reference_label=row.get("ref_label"),
                  ratio=None, status="skipped", problems=[], note=row.get("note"))
    if "scalar" in row:
        samples = [float(v) for v in scalars.get(row["scalar"], [])]
        if not samples:
            return result
        value = statistics.median(samples)
        result["samples"] = samples
        result["value"] = value / MIB if row["unit"] == "MiB" else value
    else:
        run = load_run(raw, row["run"])
        if run is None:
            return result
        result["problems"] += run["errors"]
        result["cpu"] = run["cpu"]
        if row["id"] == "p99_half_load":
            result["value"] = run["latency_ms"].get("99")
            result["achieved_rps"] = run["rps"]
            result["problems"] += paced_problems(run, scalars.get("paced_target_rps_" + row["run"]))
            ref = load_run(raw, row["ref_latency"])
            if ref is not None:
                result["reference"] = ref["latency_ms"].get("99")
                result["reference_rps"] = ref["rps"]
                result["problems"] += ["reference: " + e
                                       for e in ref["errors"] + paced_problems(ref, scalars.get("paced_target_rps_" +
                                                                                                 row["ref_latency"]))]
        else:
            result["value"] = run["rps"]
            result["latency_ms"] = run.get("latency_ms")
        refs = [load_run(raw, name) for name in row.get("ref", [])] if "ref" in row else []
        refs = [r for r in refs if r is not None]
        if refs:
            for r in refs:
                result["problems"] += ["reference: " + e for e in r["errors"]]
            values = [r["rps"] for r in refs if r["rps"]]
            result["reference"] = statistics.mean(values) if values else None
            result["reference_runs"] = values
            # Total CPU per request (server, load generator, PostgreSQL) on both sides: their
            # quotient is the ratio the two would reach with the cores to themselves, which
            # other processes on the machine change much less than requests per second.
            costs = [cpu_cost(r["cpu"]) for r in refs if r.get("cpu")]
            mine = cpu_cost(run["cpu"]) if run.get("cpu") else None
            if mine and costs and all(costs):
                result["cpu_cost_us"] = round(mine, 1)
                result["reference_cpu_cost_us"] = round(statistics.mean(costs), 1)
                result["cpu_cost_ratio"] = round(statistics.mean(costs) / mine, 3)
                result["cpu_bound_rps"] = round(run["cpu"]["cores"] * 1e6 / mine)
    if result["value"] is not None and result["reference"] and row["kind"] != "max":
        result["ratio"] = result["value"] / result["reference"]
    measured = result["ratio"] if row["kind"] == "ratio" else result["value"]
    if result["problems"]:
        result["status"] = "INVALID"
    elif measured is None:
        result["status"] = "skipped"
    elif row["kind"] == "max":
        result["status"] = "met" if measured <= row["target"] else "missed"
    else:
        result["status"] = "met" if measured >= row["target"] else "missed"
    return result


def target_text(row):
    if row["kind"] == "ratio":
        return ">= %.1fx %s" % (row["target"], row["reference_label"])
    sign = "<=" if row["kind"] == "max" else ">="
    return "%s %s %s" % (sign, fmt(row["target"], row["unit"]).split(" ")[0], row["unit"])


def micro_rows(raw):
    text = read_text(raw, "micro.json")
    if not text:
        return []
    rows = []
    for b in json.loads(text).get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        unit = b.get("time_unit", "ns")
        ns = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
        rows.append(dict(name=b["name"], ns_per_op=round(ns, 1), cpu_ns_per_op=round(
            b["cpu_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit], 1)))
    return rows


def print_table(rows, micro, out):
    header = ("figure", "measured", "reference", "ratio", "target", "result")
    lines = []
    for r in rows:
        value = fmt(r["value"], r["unit"]) if r["unit"] != "req/s" else (
            fmt(r["value"], "req/s") + " req/s" if r["value"] is not None else "-")
        ref = "-"
        if r["reference"] and r["unit"] == "ms":
            ref = "%s (%s) at {:,.0f} req/s".format(r.get("reference_rps") or 0) % (
                fmt(r["reference"], "ms"), r["reference_label"])
        elif r["reference"]:
            ref = "%s %s" % (fmt(r["reference"], "req/s"), r["reference_label"])
        ratio = "%.3fx" % r["ratio"] if r["ratio"] is not None else "-"
        if r.get("achieved_rps"):
            value += " at {:,.0f} req/s".format(r["achieved_rps"])
        status = r["status"] + (" (" + "; ".join(r["problems"]) + ")" if r["problems"] else "")
        lines.append((r["label"], value, ref, ratio, target_text(r), status))
    for m in micro:
        lines.append(("micro: " + m["name"], "{:,.0f} ns/op".format(m["ns_per_op"]), "-", "-", "-", "info"))
    widths = [max(len(str(line[i])) for line in lines + [header]) for i in range(len(header))]
    rule = "+".join("-" * (w + 2) for w in widths)
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)), file=out)
    print(rule, file=out)
    for line in lines:
        print(" | ".join(str(c).ljust(w) for c, w in zip(line, widths)), file=out)


def print_cpu(rows, refs, out):
    """Who used the two cores during each load run: the evidence for what bounds a figure."""
    shown = [r for r in rows if r.get("cpu")]
    if not shown and not refs:
        return
    print("\nCPU during each run, % of all cores: load generator (wrk/pgbench), server (castera/nginx), "
          "PostgreSQL,\nother processes, idle; softirq (loopback TCP in the kernel) is already inside the "
          "shares of the processes it\ninterrupted. Then CPU microseconds per request: server, load generator, "
          "PostgreSQL.", file=out)
    line = ("  %-48s load %5.1f  server %5.1f  postgres %5.1f  other %5.1f  idle %5.1f  softirq %4.1f"
            "  | us/req: server %5.1f  load %5.1f  pg %5.1f")
    for name, c in [(r["label"], r["cpu"]) for r in shown] + refs:
        print(line % (name, c["load_pct"], c["server_pct"], c["database_pct"], c["other_pct"], c["idle_pct"],
                      c.get("softirq_pct", 0.0), c.get("server_us_per_request", 0), c.get("load_us_per_request", 0),
                      c.get("database_us_per_request", 0)), file=out)


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "load_average_at_report": [round(x, 2) for x in os.getloadavg()]}


def chart(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio_rows = [r for r in rows if r["kind"] == "ratio" and r["ratio"] is not None]
    other_rows = [r for r in rows if r["kind"] != "ratio" and r["value"] is not None]
    fig, axes = plt.subplots(2, 1, figsize=(11, 9), gridspec_kw={"height_ratios": [len(ratio_rows) or 1,
                                                                         len(other_rows) or 1]})

    ax = axes[0]
    labels = [r["label"] for r in ratio_rows]
    ys = range(len(ratio_rows))
    colours = [colour(r) for r in ratio_rows]
    ax.barh(list(ys), [r["ratio"] for r in ratio_rows], color=colours)
    ax.scatter([r["target"] for r in ratio_rows], list(ys), marker="|", s=400, color="black", label="target", zorder=3)
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ratio")
    ax.set_title("Throughput: castera / reference, measured in the same run")
    ax.legend(loc="best")
    ax.set_xlim(0, 1.15 * max([r["ratio"] for r in ratio_rows] + [r["target"] for r in ratio_rows] + [0.1]))

    ax = axes[1]
    # Every absolute figure as "how many times within its target": above 1 is met.
    scores = [(r["target"] / r["value"] if r["kind"] == "max" else r["value"] / r["target"]) if r["value"] else 0
              for r in other_rows]
    ys = range(len(other_rows))
    ax.barh(list(ys), scores, color=[colour(r) for r in other_rows])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(list(ys), ["%s (%s)" % (r["label"], fmt(r["value"], r["unit"]) if r["unit"] != "req/s"
                                          else fmt(r["value"], "req/s") + " req/s") for r in other_rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("times within target (1 = on target, more is better)")
    ax.set_title("Absolute targets: memory, start-up, latency, write rate")
    fig.suptitle("castera bench/run: green met, red missed, grey invalid")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def colour(row):
    return {"met": "#4caf50", "missed": "#e53935"}.get(row["status"], "#9e9e9e")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("--json", required=True)
    parser.add_argument("--png", required=True)
    args = parser.parse_args()

    scalars = read_pairs(args.raw, "scalars")
    settings = {k: v[-1] for k, v in read_pairs(args.raw, "settings").items()}
    rows = [evaluate(row, args.raw, scalars) for row in ROWS]
    refs = []
    for name in ("nginx_before", "nginx_after", "nginx_paced", "pgbench_select", "pgbench_simple_update"):
        run = load_run(args.raw, name)
        if run and run.get("cpu"):
            refs.append(("reference: " + name, run["cpu"]))
    micro = micro_rows(args.raw)

    print_table(rows, micro, sys.stdout)
    print_cpu(rows, refs, sys.stdout)
    costed = [r for r in rows if r.get("cpu_cost_ratio")]
    if costed:
        print("\nCPU cost per request, all parties (server + load generator + PostgreSQL), castera vs its "
              "reference. If a run is\nCPU-bound (no idle), their quotient is the ratio with the cores to "
              "ourselves, and cores / cost the rate:", file=sys.stdout)
        for r in costed:
            print("  %-48s %6.1f us vs %6.1f us -> %.3fx (measured %.3fx); all cores: %s req/s" % (
                r["label"], r["cpu_cost_us"], r["reference_cpu_cost_us"], r["cpu_cost_ratio"], r["ratio"],
                "{:,.0f}".format(r["cpu_bound_rps"])))
    xacts = {k[len("pg_xacts_per_request_"):]: float(v[-1]) for k, v in scalars.items()
             if k.startswith("pg_xacts_per_request_")}
    if xacts:
        print("\nPostgreSQL transactions (one per statement outside BEGIN) per request: " +
              ", ".join("%s %.2f" % item for item in sorted(xacts.items())))
    busy = [r["cpu"]["other_pct"] for r in rows if r.get("cpu")] + [c["other_pct"] for _, c in refs]
    if busy and max(busy) > 15:
        print("\nwarning: other processes took up to %.0f%% of the cores during a measurement (median %.0f%%):"
              " the machine was not quiet, so throughput figures are low and ratios noisy; run again"
              % (max(busy), statistics.median(busy)))
    notes = [r for r in rows if r.get("note")]
    for r in notes:
        print("note: %s: %s" % (r["label"], r["note"]))

    document = {"machine": machine(), "settings": settings, "rows": rows,
                "reference_cpu": dict(refs), "micro": micro,
                "postgres_transactions_per_request": {k[len("pg_xacts_per_request_"):]: float(v[-1])
                                                      for k, v in scalars.items()
                                                      if k.startswith("pg_xacts_per_request_")},
                "verification": {k: v for k, v in scalars.items() if k.startswith("check_")}}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(document, f, indent=2)
    os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
    chart(rows, args.png)
    print("\nwritten: %s, %s" % (args.json, args.png))


if __name__ == "__main__":
    main()

"""The report: the markdown table on stdout and in the JSON, and the PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.concurrent_writes.workload import REGIONS


def fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table_rows(results: list[dict[str, Any]], delay_ms: float) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []
    for region in REGIONS:
        rows.append((f"write latency p50 / p99, {region} (ms)",
                     [f"{fmt(r['latency_ms'][region]['p50'])} / {fmt(r['latency_ms'][region]['p99'])}"
                      for r in results]))
    rows.append(("throughput, all regions (ops/s)", [fmt(r["throughput_ops_s"], 0) for r in results]))
    rows.append(("throughput per region (ops/s)",
                 [" / ".join(fmt(v, 0) for v in r["throughput_per_region_ops_s"].values())
                  for r in results]))
    rows.append(("replication lag p50 / p99 (ms)",
                 [f"{fmt(r['lag_ms']['p50'])} / {fmt(r['lag_ms']['p99'])}"
                  + ("" if r["lag_ms"]["n"] else " (one copy)") for r in results]))
    rows.append((f"lag p99 above the {delay_ms:g} ms delay (target < 50)",
                 [fmt(r["lag_ms"]["p99"] - delay_ms) if r["lag_ms"]["n"] else "—" for r in results]))
    rows.append(("lag samples (timeouts)",
                 [f"{r['lag_ms']['n']} ({r['lag_ms']['timeouts']})" for r in results]))
    rows.append(("converged after the load stopped (ms)", [fmt(r["converge_ms"]) for r in results]))
    rows.append(("acknowledged increments", [str(r["correctness"]["acked_increments"]) for r in results]))
    rows.append(("lost increments (target 0)",
                 [f"{r['correctness']['lost_increments']} ({r['correctness']['lost_increments_pct']:.2f}%)"
                  for r in results]))
    rows.append(("lost set adds (target 0)",
                 [f"{r['correctness']['lost_adds']} of {r['correctness']['expected_members']}"
                  for r in results]))
    rows.append(("removed members back", [str(r["correctness"]["undone_removes"]) for r in results]))
    rows.append(("regions that disagree (target 0)",
                 [f"{r['correctness']['disagreeing_regions']} of {r['correctness']['copies']}"
                  + (f" ({r['correctness']['differing_keys']} keys)"
                     if r["correctness"]["differing_keys"] else "") for r in results]))
    rows.append(("client errors", [str(r["errors"]) for r in results]))
    return rows


def render_table(results: list[dict[str, Any]], delay_ms: float) -> str:
    rows = table_rows(results, delay_ms)
    header = ["", *[r["label"] for r in results]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, cells in rows:
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def chart(results: list[dict[str, Any]], params: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    delay = params["delay_ms"]
    labels = [r["label"] for r in results]
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c"][: len(results)]
    fig, axes = plt.subplots(2, 2, figsize=(14, 9.5))
    fig.suptitle(f"Concurrent writes, 3 regions, {delay:g} ms one-way delay, "
                 f"{params['clients_per_region']} clients/region, {params['keys']} hot keys/type, "
                 f"{params['seconds']:g} s", fontsize=13)

    ax = axes[0][0]
    width = 0.8 / max(1, len(results))
    for si, r in enumerate(results):
        xs = [ri + (si - (len(results) - 1) / 2) * width for ri in range(3)]
        p50 = [r["latency_ms"][g]["p50"] or 0 for g in REGIONS]
        p99 = [r["latency_ms"][g]["p99"] or 0 for g in REGIONS]
        ax.bar(xs, p99, width * 0.9, color=colors[si], alpha=0.35)
        ax.bar(xs, p50, width * 0.9, color=colors[si], label=labels[si])
        for x, a, b in zip(xs, p50, p99, strict=True):
            ax.text(x, b * 1.05, f"{a:.1f}\n{b:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(range(3), REGIONS)
    ax.set_ylabel("ms (log)")
    ax.set_title("write latency per region: p50 (solid) / p99 (light), labels p50 over p99")
    ax.set_ylim(top=ax.get_ylim()[1] * 4)

    ax = axes[0][1]
    bottoms = [0.0] * len(results)
    shades = ["#4c72b0", "#8fb0d9", "#c6d7ec"]
    for gi, g in enumerate(REGIONS):
        vals = [r["throughput_per_region_ops_s"][g] for r in results]
        ax.bar(range(len(results)), vals, 0.6, bottom=bottoms, color=shades[gi], label=g)
        bottoms = [b + v for b, v in zip(bottoms, vals, strict=True)]
    for i, b in enumerate(bottoms):
        ax.text(i, b, f"{b:.0f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(results)), labels, fontsize=9)
    ax.set_ylabel("acknowledged ops/s")
    ax.set_title("throughput (stacked by region)")
    ax.legend(fontsize=8)

    ax = axes[1][0]
    names = ["lag p50", "lag p99", "converge after stop"]
    width = 0.8 / max(1, len(results))
    for si, r in enumerate(results):
        vals = [r["lag_ms"]["p50"] or 0, r["lag_ms"]["p99"] or 0, r["converge_ms"] or 0]
        xs = [ni + (si - (len(results) - 1) / 2) * width for ni in range(len(names))]
        ax.bar(xs, vals, width * 0.9, color=colors[si], label=labels[si])
        for x, v in zip(xs, vals, strict=True):
            ax.text(x, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(delay, color="grey", ls="--", lw=1)
    ax.axhline(delay + 50, color="red", ls=":", lw=1)
    ax.text(len(names) - 0.5, delay, f"injected delay {delay:g} ms", ha="right", va="bottom", fontsize=7)
    ax.text(len(names) - 0.5, delay + 50, "target: lag p99 < delay + 50 ms", ha="right",
            va="bottom", fontsize=7, color="red")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("ms")
    ax.set_title("replication lag (ack → visible elsewhere) and convergence\n"
                 "(single primary: one copy, lag 0 by construction)", fontsize=10)

    ax = axes[1][1]
    names = ["lost increments %", "lost set adds %", "regions disagreeing"]
    for si, r in enumerate(results):
        c = r["correctness"]
        vals = [c["lost_increments_pct"], c["lost_adds_pct"], float(c["disagreeing_regions"])]
        raw = [f"{c['lost_increments']}", f"{c['lost_adds']}", f"{c['disagreeing_regions']}"]
        xs = [ni + (si - (len(results) - 1) / 2) * width for ni in range(len(names))]
        ax.bar(xs, vals, width * 0.9, color=colors[si], label=labels[si])
        for x, v, t in zip(xs, vals, raw, strict=True):
            ax.text(x, v, f"{v:.1f}\n({t})" if t != "0" else "0", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(names)), names)
    ax.set_title("correctness vs acknowledged-op oracles (0 is right; raw counts in brackets)",
                 fontsize=10)
    ax.set_ylim(top=max(1.0, ax.get_ylim()[1] * 1.25))

    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=c, label=lab) for c, lab in zip(colors, labels, strict=True)],
               loc="upper center", ncol=len(results), bbox_to_anchor=(0.5, 0.955), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render_workloads(results: list[dict[str, Any]]) -> str:
    """The leaderboard and work-queue workloads: one row per (workload, system)."""
    lines = ["| workload | system | ops/s | write p50 / p99 (ms) | correctness | regions that disagree |",
             "|---|---|---|---|---|---|"]
    for r in results:
        c = r["correctness"]
        lat = [x for v in r["latency_by_op_ms"].values() for x in (v["p50"], v["p99"])]
        p50 = max((v["p50"] or 0) for v in r["latency_by_op_ms"].values()) if lat else None
        p99 = max((v["p99"] or 0) for v in r["latency_by_op_ms"].values()) if lat else None
        if r["workload"] == "leaderboard":
            what = (f"lost increments {c['lost_increments']} of {c['acked_increments']} "
                    f"({c['lost_increments_pct']:.2f}%, target 0)")
        else:
            q = c["queue"]
            what = (f"pushed {q['pushed']}, lost {q['lost_pushes']} (target 0), popped twice "
                    f"{q['popped_twice_or_more']}, drained after the load {q['drained_after_load']}, "
                    f"left {q['left_after_drain']}")
        lines.append(f"| {r['workload']} | {r['label']} | {fmt(r['throughput_ops_s'], 0)} | "
                     f"{fmt(p50)} / {fmt(p99)} | {what} | {c['disagreeing_regions']} of {c['copies']} |")
    return "\n".join(lines)


def chart_workloads(results: list[dict[str, Any]], params: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = sorted({r["workload"] for r in results}, key=[r["workload"] for r in results].index)
    fig, axes = plt.subplots(1, len(workloads), figsize=(7 * len(workloads), 4.5), squeeze=False)
    fig.suptitle(f"Leaderboard and work queue from every region, {params['delay_ms']:g} ms one-way "
                 f"delay, {params['clients_per_region']} clients/region, {params['seconds']:g} s")
    for ax, workload in zip(axes[0], workloads, strict=True):
        rows = [r for r in results if r["workload"] == workload]
        labels = [r["label"] for r in rows]
        if workload == "leaderboard":
            names = ["lost increments %"]
            vals = [[r["correctness"]["lost_increments_pct"]] for r in rows]
        else:
            names = ["lost pushes %", "popped twice %"]
            vals = [[100.0 * r["correctness"]["queue"]["lost_pushes"] / max(1, r["correctness"]["queue"]["pushed"]),
                     100.0 * r["correctness"]["queue"]["popped_twice_or_more"]
                     / max(1, r["correctness"]["queue"]["pushed"])] for r in rows]
        width = 0.8 / max(1, len(rows))
        for si, (lab, v) in enumerate(zip(labels, vals, strict=True)):
            xs = [ni + (si - (len(rows) - 1) / 2) * width for ni in range(len(names))]
            ax.bar(xs, v, width * 0.9, label=lab)
            for x, y in zip(xs, v, strict=True):
                ax.text(x, y, f"{y:.2f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(f"{workload}: against the acknowledged-op oracle (0 is right)", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(path, dpi=110)
    plt.close(fig)

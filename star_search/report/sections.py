"""HTML sections of one study: summary, trade-offs, overview, layer strips, stopped trials and
the trials table. Every section id and figure id starts with `prefix`, so several studies fit
on one page. Every string that came from the study is HTML-escaped."""

from __future__ import annotations

import base64
import gzip
import html
import math
from typing import Any

from star_search.report.figures import SHORT_UNITS, figure_html, tradeoff_figures
from star_search.report.model import Beside, FrontMember, ReferencePoint, ReportModel, StoppedTrial
from star_search.report.overview_figures import hypervolume_figure, parallel_figure
from star_search.report.page_assets import MIXER_COLOURS

TABLE_COLUMNS = ("number", "status", "pattern", "params", "n_layers", "quality", "quality_sd",
                 "decode_p50_ms", "ttft_ms", "peak_rss_mb", "decode_p95_ms", "prefill_tok_s",
                 "measurement_source", "duration_s", "arch_id")
PROFILE_FACTS = ("name", "backend", "threads", "prompt_len", "decode_steps", "context_len", "dtype",
                 "quantize")
MAX_STRIPS = 100


def esc(value: Any) -> str:
    """HTML-escaped text of `value` (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(column: str, value: Any) -> str:
    """Display text of a table cell: thousands separators for counts, short decimals for figures."""
    if is_missing(value):
        return ""
    if column in ("number", "params", "n_layers") and isinstance(value, int | float):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}" if column in ("quality", "quality_sd") else f"{value:.2f}"
    return str(value)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _budget_text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _profile_fact(profile: dict[str, Any], key: str) -> Any:
    shapes = profile.get("shapes") if isinstance(profile.get("shapes"), dict) else {}
    return profile.get(key, shapes.get(key))


def section(prefix: str, name: str, title: str, body: str) -> str:
    return f'<section id="{prefix}{name}"><h2>{esc(title)}</h2>{body}</section>'


def figure_block(figure: Any, div_id: str) -> str:
    return f'<div class="figure">{figure_html(figure, div_id)}</div>' if figure is not None else ""


def _cards(report: ReportModel) -> str:
    s = report.summary
    finished = sum(s.counts.get(state, 0) for state in ("COMPLETE", "PRUNED", "FAIL"))
    hv = report.hypervolume.final if report.hypervolume and report.hypervolume.numbers else None
    chosen = report.chosen
    cards = [("trials finished", f"{finished:,}", False), ("feasible", f"{s.n_feasible:,}", False),
             ("infeasible", f"{s.n_infeasible:,}", False), ("on the front", f"{s.n_front:,}", False),
             ("chosen", f"#{chosen.number}" if chosen else "—", bool(chosen and not chosen.feasible)),
             ("hypervolume", f"{hv:.3g}" if hv is not None else "—", False),
             ("wall time", duration_text(s.wall_seconds), False)]
    return '<div class="cards">' + "".join(
        f'<div class="card{" bad" if bad else ""}"><div class="value">{esc(value)}</div>'
        f'<div class="label">{esc(label)}</div></div>' for label, value, bad in cards) + "</div>"


def summary_section(report: ReportModel, prefix: str = "") -> str:
    s = report.summary
    space = s.space or "—"
    if s.space_info.get("params"):
        space += f" (searches {', '.join(map(str, s.space_info['params']))} and the layer slots)"
    rows: list[tuple[str, Any]] = [("study", s.study_name), ("search space", space)]
    rows += [(f"device {key}", _profile_fact(s.profile, key)) for key in PROFILE_FACTS
             if _profile_fact(s.profile, key) is not None]
    target = s.profile.get("target") if isinstance(s.profile.get("target"), dict) else {}
    if target.get("d_model"):
        rows.append(("latency refers to d_model", target["d_model"]))
    budgets = ", ".join(f"{name} ≤ {_budget_text(value)}" for name, value in s.budgets.items()
                        if value is not None)
    rows.append(("budgets", budgets or "none"))
    profile_budgets = s.profile.get("budgets") if isinstance(s.profile.get("budgets"), dict) else {}
    if profile_budgets.get("relative_to"):
        rows.append(("times relative to", f"{profile_budgets['relative_to']}, timed in the same rounds as "
                     "each candidate; a time is the candidate's ratio to it × its budget figure"))
    if s.pipeline:
        rows.append(("pipeline", " → ".join(s.pipeline)))
    else:
        rows.append(("proxy tier", s.proxy_config.get("tier")))
    rows += [("started", s.started_at), ("finished", s.finished_at),
             ("wall time", duration_text(s.wall_seconds)),
             ("time in trials (summed)", duration_text(s.busy_seconds))]
    if s.cost is not None:
        rows.append(("search cost (measured)", s.cost.text()))
    by_state = ", ".join(f"{state.lower()} {count}" for state, count in s.counts.items())
    rows.append(("trials by state", by_state))
    rows += [("complete and feasible", s.n_feasible), ("complete but infeasible", s.n_infeasible),
             ("Pareto front (feasible)", s.n_front), ("chosen trial", s.chosen_trial),
             ("objectives", ", ".join(f"{n} ({d})"
                                      for n, d in zip(s.metric_names, s.directions, strict=True)))]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc('—' if is_missing(v) else v)}</td></tr>" for k, v in rows)
    return section(prefix, "summary", "Run summary", f'{_cards(report)}<table class="facts">{body}</table>')


def tradeoff_section(report: ReportModel, prefix: str = "") -> str:
    figures = tradeoff_figures(report)
    if not figures:
        return section(prefix, "tradeoffs", "Pareto fronts", "<p>No complete trial yet.</p>")
    blocks = "".join(figure_block(fig, f"{prefix}tradeoff-{index}") for index, (_, fig) in enumerate(figures))
    note = (f'<p class="note">Red: the Pareto front over all {len(report.summary.metric_names)} objectives '
            f"among feasible trials; grey: feasible but dominated; blue ×: breaks a budget (dashed line); "
            f"star: the chosen trial. Each plot is a projection, so front members may look dominated in it; "
            f"the dotted staircase is the front of that view alone. Click legend entries to hide groups, "
            f"drag to zoom.</p>")
    return section(prefix, "tradeoffs", "Pareto fronts",
                   f'{note}{references_table(report)}<div class="grid">{blocks}</div>')


def _numbers(numbers: tuple[int, ...], shown: int = 8) -> str:
    return ", ".join(f"#{n}" for n in numbers[:shown]) + (" …" if len(numbers) > shown else "")


def _position(point: ReferencePoint) -> str:
    if point.values is None:
        return f"not scored: {point.error}"
    beaten, beats = _numbers(point.dominated_by), _numbers(point.dominates)
    where = (f"dominated by {len(point.dominated_by)} feasible trial(s): {beaten}" if point.dominated_by
             else "on the front: no feasible trial dominates it")
    return where + (f"; dominates {len(point.dominates)}: {beats}" if point.dominates else "")


def references_table(report: ReportModel) -> str:
    """The study's reference architectures: their figures and where each falls."""
    if not report.references:
        return ""
    names = report.summary.metric_names
    head = "".join(f"<th>{esc(n)}</th>" for n in ("reference", "pattern", "params", *names, "feasible",
                                                    "where it falls"))
    rows = []
    for point in report.references:
        cells = [esc(point.name), esc(point.pattern), format_value("params", point.params)]
        for name in names:
            value = (point.values or {}).get(name)
            text = format_value(name if name == "quality" else "value", value)
            if name == "quality" and value is not None and point.quality_sd is not None:
                text += f" ± {point.quality_sd:.3f}"
            cells.append(esc(text))
        cells += ["yes" if point.feasible else "no", esc(_position(point))]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    answers = "".join(f"<li>{esc(line)}</li>" for point in report.references if point.values is not None
                      for line in _answer_lines(point))
    return ('<p class="note">Reference architectures (search.references), scored by the same pipeline: '
            "every proxy tier and a whole-model measurement under this profile (black diamonds). "
            "Dominance compares recorded values; a quality gap within about twice the ± spread is seed "
            "noise.</p>"
            f'<table class="facts"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            + (f'<ul class="answers">{answers}</ul>' if answers else ""))


def _beside_text(beside: Beside) -> str:
    return (f"#{beside.number} {beside.pattern}: quality {beside.quality:.3f}, decode "
            f"{beside.decode_speedup:.2f}×, TTFT {beside.ttft_speedup:.2f}× the reference's speed")


def _answer_lines(point: ReferencePoint) -> list[str]:
    """The two answers to "did the search beat it?" (trials with measured latency only)."""
    good, fast = point.fastest_as_good, point.best_as_fast
    return [f"{point.name}: fastest feasible measured trial with quality at least its own: "
            + (_beside_text(good) if good else "none"),
            f"{point.name}: best quality among feasible measured trials no slower than it (decode and TTFT): "
            + (_beside_text(fast) if fast else "none")]


def _box_table(report: ReportModel) -> str:
    if report.hypervolume is None:
        return ""
    box = report.hypervolume.box
    rows = "".join(f"<tr><td>{esc(name)}</td><td class=num>{ideal:g}</td><td class=num>{ref:g}</td>"
                   f"<td>{esc(basis)}</td></tr>"
                   for name, ideal, ref, basis in zip(box.names, box.ideal, box.reference, box.basis,
                                                      strict=True))
    return ('<table class="facts"><thead><tr><th>objective</th><th>ideal (0)</th><th>reference (1)</th>'
            f"<th>reference from</th></tr></thead><tbody>{rows}</tbody></table>")


def overview_section(report: ReportModel, prefix: str = "") -> str:
    parallel = parallel_figure(report)
    hv = hypervolume_figure(report.hypervolume) if report.hypervolume else None
    if parallel is None and hv is None:
        return section(prefix, "overview", "All trials and progress", "<p>No finished trial yet.</p>")
    note = ('<p class="note">Hypervolume: the fraction of the box between the ideal point and the reference '
            "point that the feasible front dominates, after each trial. Each objective is scaled so its "
            "ideal is 0 and its reference is 1 (quality: 1 → 0; a cost: 0 → its budget, or 1.1 × its worst "
            "feasible value when it has none). Infeasible, failed and pruned trials add nothing.</p>")
    return section(prefix, "overview", "All trials and progress",
                   figure_block(parallel, f"{prefix}parallel") + note
                   + f'<div class="grid">{figure_block(hv, f"{prefix}hypervolume")}<div>{_box_table(report)}'
                   f"</div></div>")


def _values_text(member: FrontMember) -> str:
    parts = []
    for name, value in member.values.items():
        unit = SHORT_UNITS.get(name, "")
        unit = "" if name == "quality" else f" {unit}"
        parts.append(f"{esc(name)} {value:.4g}{esc(unit)}" if not is_missing(value) else f"{esc(name)} —")
    return ", ".join(parts)


def _strip(member: FrontMember, chosen: bool) -> str:
    cells = []
    for index, (mixer, ffn) in enumerate(zip(member.mixers, member.ffns, strict=True)):
        colour = MIXER_COLOURS.get(mixer, "#999999")
        moe = " moe" if ffn == "moe" else ""
        cells.append(f'<span class="cell{moe}" style="background:{colour}" '
                     f'title="layer {index}: {esc(mixer)} / {esc(ffn)}"></span>')
    badges = '<span class="badge">chosen</span>' if chosen else ""
    if not member.feasible:
        badges += '<span class="badge infeasible">infeasible</span>'
    return (f"<tr><td>{member.number}{badges}</td><td class=\"mono\">{esc(member.pattern)}</td>"
            f'<td class="strip">{"".join(cells)}</td><td>{len(member.mixers)}</td>'
            f"<td>{_values_text(member)}</td></tr>")


def layers_section(report: ReportModel, prefix: str = "") -> str:
    legend = "".join(f'<span class="cell" style="background:{colour}"></span> {esc(kind)} &nbsp;'
                     for kind, colour in MIXER_COLOURS.items())
    legend += '<span class="cell moe" style="background:#ddd"></span> MoE feed-forward (thick border)'
    chosen = report.chosen
    members = ([chosen] if chosen else []) + [m for m in report.front
                                              if not chosen or m.number != chosen.number]
    if not members:
        body = "<p>No feasible complete trial yet.</p>"
    else:
        rows = "".join(_strip(m, chosen is not None and m.number == chosen.number)
                       for m in members[:MAX_STRIPS])
        more = (f'<p class="note">{len(members) - MAX_STRIPS} more front members are in the trials table.</p>'
                if len(members) > MAX_STRIPS else "")
        mix = "; ".join(f"{esc(kind)} in {len(numbers)} of {len(report.front)} ({esc(_numbers(numbers))})"
                        for kind, numbers in report.front_mixers.items())
        body = ('<table class="strips"><thead><tr><th>trial</th><th>pattern</th>'
                "<th>layers, input → output</th><th>depth</th><th>objectives</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>{more}"
                + (f'<p class="note">Mixers on the front: {mix}.</p>' if mix else ""))
    return section(prefix, "front", "Chosen and front architectures",
                   f'<p class="legend">{legend}</p>{body}')


def _stopped_row(trial: StoppedTrial) -> str:
    return (f"<tr><td>{trial.number}</td><td>{esc(trial.state)}</td><td>{esc(trial.stage)}</td>"
            f'<td class="mono">{esc(trial.pattern)}</td><td class="mono">{esc(trial.arch_id)}</td>'
            f'<td class="reason">{esc(trial.reason)}</td></tr>')


def stopped_section(report: ReportModel, prefix: str = "") -> str:
    title = "Failed and pruned trials"
    if not report.stopped:
        return section(prefix, "failed", title, "<p>None: every trial completed.</p>")
    by_stage: dict[tuple[str, str], int] = {}
    for trial in report.stopped:
        by_stage[(trial.state.lower(), trial.stage)] = by_stage.get((trial.state.lower(), trial.stage), 0) + 1
    counts = ", ".join(f"{count} {state} at {esc(stage)}"
                       for (state, stage), count in sorted(by_stage.items()))
    rows = "".join(_stopped_row(trial) for trial in report.stopped)
    return section(prefix, "failed", title,
                   f'<p class="note">{counts}.</p><div class="scroll"><table class="sortable"><thead><tr>'
                   "<th>number</th><th>state</th><th>stage</th><th>pattern</th><th>arch_id</th><th>reason</th>"
                   f"</tr></thead><tbody>{rows}</tbody></table></div>")


def csv_payload(report: ReportModel) -> str:
    """The trials CSV, gzip-compressed and base64-encoded (a third of its size or less; the page
    inflates it with the browser's DecompressionStream when the button is clicked)."""
    data = gzip.compress(report.trials.to_csv(index=False).encode("utf-8"), mtime=0)
    return base64.b64encode(data).decode("ascii")


def trials_section(report: ReportModel, prefix: str = "") -> str:
    frame = report.trials
    columns = [c for c in TABLE_COLUMNS if c in frame.columns]
    columns += [c for c in frame.columns if c.startswith("constraint.")]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    numeric = {c for c in columns if frame[c].dtype.kind in "if"}
    rows = []
    for record in frame.to_dict(orient="records"):
        cells = "".join(f'<td{" class=num" if c in numeric else ""} data-sort="'
                        f'{esc("" if is_missing(record[c]) else record[c])}">'
                        f"{esc(format_value(c, record[c]))}</td>" for c in columns)
        rows.append(f'<tr class="{esc(record["status"]).replace(" ", "-")}">{cells}</tr>')
    name = f"{prefix}trials.csv" if prefix else "trials.csv"
    download = (f'<script type="application/gzip;base64" id="{prefix}trials-csv">'
                f"{csv_payload(report)}</script>"
                f'<button class="download" data-source="{prefix}trials-csv" data-filename="{esc(name)}">'
                f"Download trials.csv ({len(frame):,} rows, every column)</button>")
    return section(prefix, "trials", "All trials",
                   f'<p class="note">Click a column header to sort. quality_sd: the expected seed-to-seed '
                   f"spread of one proxy run's quality at the candidate's depth (measured by "
                   f"benchmarks/proxy_fidelity.py; empty where its tier was never repeated); two "
                   f"qualities closer than about twice it are within seed noise. The CSV also has "
                   f"per-task proxy scores, measurement details and timings.</p>{download}"
                   f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead>'
                   f'<tbody>{"".join(rows)}</tbody></table></div>')
